package protocol

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// header is a request header v1 (v2 when tags are given: flexible).
func header(key, version int16, tags ...byte) []byte {
	b := kbin.AppendInt16(nil, key)
	b = kbin.AppendInt16(b, version)
	b = kbin.AppendInt32(b, 9)
	b = kbin.AppendNullableString(b, nil)
	return append(b, tags...)
}

func serveAll(int16, int16) bool { return true }

func TestParseRequest(t *testing.T) {
	maxUvarint := []byte{0xff, 0xff, 0xff, 0xff, 0x0f} // 2^32-1
	cases := []struct {
		name    string
		frame   []byte
		wantErr error
	}{
		{"a flexible request", append(header(3, 9, 0), 0x01, 0, 0, 0, 0), nil},
		{"a truncated header", []byte{0, 3, 0, 9, 0, 0, 0, 9, 0}, ErrTruncatedHeader},
		{"an unknown key", header(999, 0), ErrUnknownKey},
		{"a version kmsg does not know", header(3, 99), ErrUnsupportedVersion},
		{"a negative version", header(3, -1), ErrUnsupportedVersion},
		{"a body cut short", append(header(3, 1), 0, 0, 0, 2), ErrMalformed},
		{"an array count of 2^31-1", append(header(3, 1), 0x7f, 0xff, 0xff, 0xff), ErrMalformed},
		// A tag count larger than the frame used to be looped through, one empty read at a
		// time: seconds of CPU for a few bytes.
		{"2^32-1 header tags", header(3, 9, maxUvarint...), ErrMalformed},
		{"2^32-1 body tags", append(header(13, 4, 0), append([]byte{2, 'g', 1}, maxUvarint...)...), ErrMalformed},
		{"2^32-1 tags in an array element", append(header(3, 9, 0), append([]byte{2, 2, 't'}, maxUvarint...)...), ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := ParseRequest(tc.frame, serveAll)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("parsing a few bytes took more than 2s")
			}
		})
	}
}

func TestParseHeaderReadsNoBody(t *testing.T) {
	h, rest, err := ParseHeader(append(header(kmsg.Produce.Int16(), 99), 0xde, 0xad))
	if err != nil || h.Key != 0 || h.Version != 99 || h.CorrelationID != 9 || h.ClientID != nil || string(rest) != "\xde\xad" {
		t.Fatalf("header %+v, rest %x, err %v", h, rest, err)
	}
}
