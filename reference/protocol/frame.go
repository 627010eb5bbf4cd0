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

// ReadFrame reads one size-prefixed frame. The size is checked before any allocation so a peer
// cannot make the server allocate more than max bytes.
func ReadFrame(r io.Reader, max int32) ([]byte, error) {
	var sz [4]byte
	if _, err := io.ReadFull(r, sz[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(sz[:]))
	switch {
	case n < 0:
		return nil, fmt.Errorf("negative frame size %d", n)
	case n > max:
		return nil, fmt.Errorf("%w: %d > %d bytes", ErrFrameTooLarge, n, max)
	case n < 8:
		// key(2) + version(2) + correlation id(4) is the smallest request header.
		return nil, fmt.Errorf("frame of %d bytes is shorter than a request header", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("reading %d-byte frame: %w", n, err)
	}
	return buf, nil
}
