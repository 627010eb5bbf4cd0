package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

func sized(n int32, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(n)), body...)
}

func TestReadFrame(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320,000 bytes: several growth steps
	cases := []struct {
		name    string
		in      io.Reader
		max     int32
		want    []byte
		wantErr error
	}{
		{"smallest frame", bytes.NewReader(sized(8, []byte("12345678"))), 100, []byte("12345678"), nil},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(sized(10, []byte("0123456789")))), 100, []byte("0123456789"), nil},
		{"large frame in halves", iotest.HalfReader(bytes.NewReader(sized(int32(len(big)), big))), 1 << 20, big, nil},
		{"data with its last read", iotest.DataErrReader(bytes.NewReader(sized(int32(len(big)), big))), 1 << 20, big, nil},
		{"at the limit", bytes.NewReader(sized(int32(len(big)), big)), int32(len(big)), big, nil},
		{"over the limit", bytes.NewReader(sized(101, nil)), 100, nil, ErrFrameTooLarge},
		{"negative size", bytes.NewReader(sized(-5, nil)), 100, nil, ErrFrameTooSmall},
		{"shorter than a header", bytes.NewReader(sized(7, []byte("1234567"))), 100, nil, ErrFrameTooSmall},
		{"no size", bytes.NewReader(nil), 100, nil, io.EOF},
		{"half a size", bytes.NewReader([]byte{0, 0}), 100, nil, io.ErrUnexpectedEOF},
		{"truncated body", bytes.NewReader(sized(100, []byte("short"))), 100, nil, io.ErrUnexpectedEOF},
		{"truncated large body", bytes.NewReader(sized(1<<20, big)), 1 << 20, nil, io.ErrUnexpectedEOF},
		{"read error", iotest.TimeoutReader(bytes.NewReader(sized(100, big[:100]))), 100, nil, iotest.ErrTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadFrame(tc.in, tc.max)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
}

// A peer that announces a frame of the largest size and sends a few bytes costs a few
// bytes, not the size it announced.
func TestReadFrameAllocatesWhatArrives(t *testing.T) {
	const announced = 64 << 20
	cases := []struct {
		name string
		sent int
	}{
		{"nothing after the size", 0},
		{"100 bytes", 100},
		{"100 KiB", 100 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := sized(announced, make([]byte, tc.sent))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ReadFrame(bytes.NewReader(in), announced)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want a truncated frame", err)
			}
			// Buffers grow by doubling from 64 KiB: at most twice what arrived, plus change.
			bound := uint64(max(2*tc.sent, 64<<10) + 64<<10)
			if got := after.TotalAlloc - before.TotalAlloc; got > bound {
				t.Errorf("allocated %d bytes for %d sent, want at most %d", got, tc.sent, bound)
			}
		})
	}
}
