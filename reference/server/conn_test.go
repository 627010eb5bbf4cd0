package server

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// startBare is a server at a level accepting frames up to 64 KiB, for tests of the protocol
// layer.
func startBare(t *testing.T, level string) string {
	return newEnv(t, withLevel(level), withConfig(func(c *Config) { c.MaxRequestBytes = 1 << 16 })).addr
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// frame builds a request frame with a v1 header (v2 with an empty tag section when flexible).
func frame(key, version int16, corr int32, flexible bool, body []byte) []byte {
	var b []byte
	b = kbin.AppendInt16(b, key)
	b = kbin.AppendInt16(b, version)
	b = kbin.AppendInt32(b, corr)
	b = kbin.AppendNullableString(b, nil)
	if flexible {
		b = append(b, 0)
	}
	b = append(b, body...)
	return append(kbin.AppendInt32(nil, int32(len(b))), b...)
}

func readResponse(t *testing.T, c net.Conn) (int32, []byte) {
	t.Helper()
	rd := bufio.NewReader(c)
	var sz [4]byte
	if _, err := io.ReadFull(rd, sz[:]); err != nil {
		t.Fatalf("reading response: %v", err)
	}
	buf := make([]byte, binary.BigEndian.Uint32(sz[:]))
	if _, err := io.ReadFull(rd, buf); err != nil {
		t.Fatal(err)
	}
	return int32(binary.BigEndian.Uint32(buf)), buf[4:]
}

func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("connection still open (read %d bytes)", n)
	}
}

func TestApiVersionsPerLevel(t *testing.T) {
	cases := []struct {
		level               string
		key                 int16
		wantMax, wantAbsent int16
	}{
		{"", kmsg.Fetch.Int16(), 11, 0},
		{"1.0", kmsg.Fetch.Int16(), 6, 0},
		{"2.0", kmsg.Produce.Int16(), 6, 0},
		{"1.0", kmsg.ApiVersions.Int16(), 1, 0},
	}
	for _, tc := range cases {
		c := dial(t, startBare(t, tc.level))
		req := kmsg.NewPtrApiVersionsRequest()
		req.SetVersion(1)
		c.Write(frame(kmsg.ApiVersions.Int16(), 1, 7, false, req.AppendTo(nil)))
		corr, body := readResponse(t, c)
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.SetVersion(1)
		if err := resp.ReadFrom(body); err != nil || corr != 7 || resp.ErrorCode != 0 {
			t.Fatalf("level %q: corr=%d err=%v code=%d", tc.level, corr, err, resp.ErrorCode)
		}
		found := false
		for _, k := range resp.ApiKeys {
			if k.ApiKey == tc.key {
				found = true
				if k.MaxVersion != tc.wantMax {
					t.Errorf("level %q key %d: max v%d, want v%d", tc.level, tc.key, k.MaxVersion, tc.wantMax)
				}
			}
		}
		if !found {
			t.Errorf("level %q: key %d not advertised", tc.level, tc.key)
		}
	}
}

func TestUnknownApiVersionsVersionAnswersV0(t *testing.T) {
	c := dial(t, startBare(t, ""))
	c.Write(frame(kmsg.ApiVersions.Int16(), 99, 42, false, nil))
	corr, body := readResponse(t, c)
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	if corr != 42 || resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) == 0 {
		t.Fatalf("corr=%d code=%d keys=%d; want 42, UNSUPPORTED_VERSION, the key list", corr, resp.ErrorCode, len(resp.ApiKeys))
	}
}

func TestBadRequestsCloseTheConnection(t *testing.T) {
	addr := startBare(t, "")
	oversized := kbin.AppendInt32(nil, 1<<20)
	cases := []struct {
		name string
		data []byte
	}{
		{"unknown api key", frame(999, 0, 1, false, nil)},
		{"unsupported produce version", frame(0, 2, 1, false, nil)},
		{"version capped by the level", frame(1, 12, 1, true, nil)},
		{"frame larger than the limit", oversized},
		{"negative frame size", kbin.AppendInt32(nil, -5)},
		{"frame shorter than a header", append(kbin.AppendInt32(nil, 3), 1, 2, 3)},
		{"truncated metadata body", frame(3, 1, 1, false, []byte{0, 0, 0, 5, 0})},
		{"truncated client id", append(kbin.AppendInt32(nil, 10), 0, 18, 0, 0, 0, 0, 0, 1, 0, 9)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.Write(tc.data)
			expectClosed(t, c)
		})
	}
	// The server survives all of it.
	c := dial(t, addr)
	c.Write(frame(kmsg.ApiVersions.Int16(), 0, 5, false, nil))
	if corr, _ := readResponse(t, c); corr != 5 {
		t.Fatalf("after bad input: corr %d", corr)
	}
}

func TestPipelinedRequestsAnswerInOrder(t *testing.T) {
	c := dial(t, startBare(t, ""))
	var batch []byte
	for i := int32(1); i <= 20; i++ {
		batch = append(batch, frame(kmsg.ApiVersions.Int16(), 0, i, false, nil)...)
	}
	c.Write(batch)
	rd := bufio.NewReader(c)
	for i := int32(1); i <= 20; i++ {
		var sz [4]byte
		if _, err := io.ReadFull(rd, sz[:]); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, binary.BigEndian.Uint32(sz[:]))
		io.ReadFull(rd, buf)
		if corr := int32(binary.BigEndian.Uint32(buf)); corr != i {
			t.Fatalf("response %d has correlation id %d", i, corr)
		}
	}
}

func FuzzRequestFrames(f *testing.F) {
	f.Add(frame(kmsg.ApiVersions.Int16(), 3, 1, true, []byte{0, 0, 0}))
	f.Add(frame(3, 9, 1, true, []byte{1, 0, 0}))
	f.Fuzz(func(t *testing.T, body []byte) {
		// ParseRequest must reject or accept, never panic, whatever the bytes.
		protocol.ParseRequest(body, Implemented().Serves)
	})
}
