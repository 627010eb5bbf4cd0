// Package protocol reads and writes Kafka frames: the size prefix, the request header, the
// response header, and the table of API versions a listener advertises. Message bodies are
// encoded and decoded by franz-go's kmsg; nothing here hand-writes a codec for a message.
package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFrameTooLarge is returned when a peer announces a frame larger than the configured limit;
// the connection must be closed because the stream cannot be resynchronised.
var ErrFrameTooLarge = errors.New("frame exceeds maximum request size")

// ErrFrameTooSmall is returned for a negative size or one too small for a request header.
var ErrFrameTooSmall = errors.New("frame too small")

// MinFrame is the smallest request frame: key(2) + version(2) + correlation id(4).
const MinFrame = 8

// firstChunk is the buffer a frame body starts with; it doubles as bytes arrive.
const firstChunk = 64 << 10

// ReadFrame reads one size-prefixed frame (FrameSize, then ReadBody).
func ReadFrame(r io.Reader, max int32) ([]byte, error) {
	var sz [4]byte
	if _, err := io.ReadFull(r, sz[:]); err != nil {
		return nil, err
	}
	n, err := FrameSize(sz, max)
	if err != nil {
		return nil, err
	}
	return ReadBody(r, n)
}

// FrameSize checks a frame's size prefix: between MinFrame and max bytes.
func FrameSize(prefix [4]byte, max int32) (int32, error) {
	n := int32(binary.BigEndian.Uint32(prefix[:]))
	switch {
	case n > max:
		return 0, fmt.Errorf("%w: %d > %d bytes", ErrFrameTooLarge, n, max)
	case n < MinFrame:
		return 0, fmt.Errorf("%w: %d bytes, a request header needs %d", ErrFrameTooSmall, n, MinFrame)
	}
	return n, nil
}

// ReadBody reads the n bytes of a frame whose size has been read. Its buffer is never larger
// than twice what has arrived (and at least 64 KiB): a peer that announces a large frame and
// sends little costs little. A frame that ends early is io.ErrUnexpectedEOF.
func ReadBody(r io.Reader, n int32) ([]byte, error) { return ReadBodyCharged(r, n, nil) }

// ReadBodyCharged is ReadBody that calls charge with the bytes of each buffer it allocates
// (the first included) before allocating it, so a budget pays for what a frame holds, never
// for what it announced; an error from charge ends the read with that error.
func ReadBodyCharged(r io.Reader, n int32, charge func(bytes int) error) ([]byte, error) {
	grow := func(buf []byte, size int) ([]byte, error) {
		if charge != nil {
			if err := charge(size); err != nil {
				return nil, err
			}
		}
		grown := make([]byte, len(buf), size)
		copy(grown, buf)
		return grown, nil
	}
	buf, err := grow(nil, min(int(n), firstChunk))
	if err != nil {
		return nil, err
	}
	for len(buf) < int(n) {
		if len(buf) == cap(buf) {
			if buf, err = grow(buf, min(2*cap(buf), int(n))); err != nil {
				return nil, err
			}
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < int(n) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading a %d-byte frame after %d bytes: %w", n, len(buf), err)
		}
	}
	return buf, nil
}
