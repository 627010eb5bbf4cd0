package pulsarwire

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"google.golang.org/protobuf/encoding/protowire"
)

// Received is one message read from a topic: its place, its broker index and what the
// producer wrote. The method names are those of pulsar-client-go's messages.
type Received struct {
	Pos       Position
	BatchIdx  int32 // its place in the entry (0 for an entry of one unbatched message)
	BatchSize int32 // the messages in its entry
	index     uint64
	hasIndex  bool
	brokerAt  uint64 // the broker's publish time (ms), 0 when it gave none
	key       string
	props     map[string]string
	eventTime uint64 // milliseconds; 0 is unset
	published uint64 // milliseconds
	payload   []byte
}

// Index is the message's broker index (Pulsar's AppendIndexMetadataInterceptor), or nil.
func (m *Received) Index() *uint64 {
	if !m.hasIndex {
		return nil
	}
	return &m.index
}

func (m *Received) Key() string                   { return m.key }
func (m *Received) Properties() map[string]string { return m.props }
func (m *Received) Payload() []byte               { return m.payload }

// EventTime is the producer's event time, the zero time when it set none.
func (m *Received) EventTime() time.Time {
	if m.eventTime == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m.eventTime))
}

func (m *Received) PublishTime() time.Time { return time.UnixMilli(int64(m.published)) }

// BrokerPublishTime is when the broker stored the entry (broker entry metadata), or nil.
func (m *Received) BrokerPublishTime() *time.Time {
	if m.brokerAt == 0 {
		return nil
	}
	t := time.UnixMilli(int64(m.brokerAt))
	return &t
}

// Bounds on what an entry may claim, so a hostile or broken producer's entry cannot make the
// gateway allocate without limit.
const (
	maxUncompressed = 64 << 20
	maxBatch        = 1 << 20 // messages in one entry
)

var (
	errShortEntry = errors.New("entry shorter than its headers say")
	errChecksum   = errors.New("entry checksum mismatch")
)

// Compression types of Pulsar's MessageMetadata.
const (
	compressionNone = iota
	compressionLZ4
	compressionZlib
	compressionZstd
	// compressionSnappy (4) is with the entry builder.
)

// decodeEntry decodes the messages of one entry as the broker sent it:
// [0x0e02][size][BrokerEntryMetadata] (optional) [0x0e01][CRC32-C] (optional)
// [metadata size][MessageMetadata][payload]. n is the messages the entry holds (the permits
// it took), skipped ones included.
func decodeEntry(pos Position, b []byte) (out []Received, n int, err error) {
	var index, brokerAt uint64
	hasIndex := false
	if len(b) >= 2 && b[0] == 0x0e && b[1] == 0x02 {
		if len(b) < 6 {
			return nil, 0, errShortEntry
		}
		size := binary.BigEndian.Uint32(b[2:])
		if uint64(len(b)-6) < uint64(size) {
			return nil, 0, errShortEntry
		}
		bm, err := decode(b[6 : 6+size])
		if err != nil {
			return nil, 0, fmt.Errorf("broker entry metadata: %w", err)
		}
		index, hasIndex, brokerAt = bm.uint(2), bm.has(2), bm.uint(1)
		b = b[6+size:]
	}
	if len(b) >= 2 && b[0] == 0x0e && b[1] == 0x01 {
		if len(b) < 6 {
			return nil, 0, errShortEntry
		}
		if crc32.Checksum(b[6:], crc32c) != binary.BigEndian.Uint32(b[2:]) {
			return nil, 0, errChecksum
		}
		b = b[6:]
	}
	if len(b) < 4 {
		return nil, 0, errShortEntry
	}
	size := binary.BigEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(size) {
		return nil, 0, errShortEntry
	}
	md, err := decode(b[4 : 4+size])
	if err != nil {
		return nil, 0, fmt.Errorf("message metadata: %w", err)
	}
	payload := b[4+size:]
	if md.uint(27) > 1 {
		return nil, 0, errors.New("chunked messages are not read")
	}
	if md.has(13) {
		return nil, 0, errors.New("encrypted messages are not read")
	}
	if payload, err = decompress(md.uint(8), int(md.uint(9)), payload); err != nil {
		return nil, 0, err
	}
	published := md.uint(3)
	if !md.has(11) { // one unbatched message
		m := Received{Pos: pos, BatchSize: 1, index: index, hasIndex: hasIndex, brokerAt: brokerAt, key: md.str(6), eventTime: md.uint(12),
			published: published, payload: payload}
		if m.props, err = properties(b[4:4+size], 4); err != nil {
			return nil, 0, err
		}
		return []Received{m}, 1, nil
	}
	n = int(int32(md.uint(11)))
	if n <= 0 || n > maxBatch {
		return nil, 0, fmt.Errorf("batch of %d messages", n)
	}
	out = make([]Received, 0, min(n, 1024)) // grows with what the payload really holds
	for i := 0; i < n; i++ {
		if len(payload) < 4 {
			return nil, 0, errShortEntry
		}
		size := binary.BigEndian.Uint32(payload)
		if uint64(len(payload)-4) < uint64(size) {
			return nil, 0, errShortEntry
		}
		raw := payload[4 : 4+size]
		sm, err := decode(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("message %d of the batch: %w", i, err)
		}
		payload = payload[4+size:]
		ps := sm.uint(3)
		if uint64(len(payload)) < ps {
			return nil, 0, errShortEntry
		}
		m := Received{Pos: pos, BatchIdx: int32(i), BatchSize: int32(n), hasIndex: hasIndex, brokerAt: brokerAt, key: sm.str(2), eventTime: sm.uint(5),
			published: published, payload: payload[:ps:ps]}
		payload = payload[ps:]
		if hasIndex {
			m.index = index - uint64(n) + uint64(i) + 1 // the entry's index is its last message's
		}
		if sm.uint(4) == 1 {
			continue // compacted out
		}
		if m.props, err = properties(raw, 1); err != nil {
			return nil, 0, err
		}
		out = append(out, m)
	}
	return out, n, nil
}

// properties collects the KeyValue fields numbered num of a message (nil when none).
func properties(b []byte, num protowire.Number) (map[string]string, error) {
	var props map[string]string
	for len(b) > 0 {
		f, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if f != num || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(f, typ, b); n < 0 {
				return nil, protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		kv, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		m, err := decode(kv)
		if err != nil {
			return nil, err
		}
		if props == nil {
			props = map[string]string{}
		}
		props[m.str(1)] = m.str(2)
	}
	return props, nil
}

var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(maxUncompressed))
})

// decompress undoes an entry's compression; raw is the size the metadata gives.
func decompress(kind uint64, raw int, b []byte) ([]byte, error) {
	if kind == compressionNone || raw == 0 {
		return b, nil // as Pulsar's clients: no uncompressed size, nothing to decompress
	}
	if raw < 0 || raw > maxUncompressed {
		return nil, fmt.Errorf("entry of %d bytes uncompressed, at most %d read", raw, maxUncompressed)
	}
	// No codec expands more than about a thousandfold (LZ4 255, deflate 1032): a larger claim
	// is refused before its buffer is allocated.
	if raw > 1100*len(b)+64 {
		return nil, fmt.Errorf("entry of %d bytes claims %d uncompressed", len(b), raw)
	}
	var (
		out []byte
		err error
	)
	switch kind {
	case compressionSnappy:
		var n int
		if n, err = snappy.DecodedLen(b); err == nil && n != raw {
			err = fmt.Errorf("snappy block of %d bytes, metadata says %d", n, raw)
		}
		if err == nil {
			out, err = snappy.Decode(make([]byte, raw), b)
		}
	case compressionLZ4:
		out = make([]byte, raw)
		var n int
		n, err = lz4.UncompressBlock(b, out)
		out = out[:max(n, 0)]
	case compressionZlib:
		var zr io.ReadCloser
		if zr, err = zlib.NewReader(bytes.NewReader(b)); err == nil {
			out = make([]byte, raw)
			_, err = io.ReadFull(zr, out)
		}
	case compressionZstd:
		var d *zstd.Decoder
		if d, err = zstdDecoder(); err == nil {
			out, err = d.DecodeAll(b, make([]byte, 0, raw))
		}
	default:
		err = errors.New("unknown compression")
	}
	if err == nil && len(out) != raw {
		err = fmt.Errorf("%d bytes, metadata says %d", len(out), raw)
	}
	if err != nil {
		return nil, fmt.Errorf("decompressing an entry (compression %d): %w", kind, err)
	}
	return out, nil
}
