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

// Head is what an entry says of itself, read without decoding its messages: enough to follow
// a topic's offsets.
type Head struct {
	Pos      Position
	Messages int32  // the messages it holds, compacted-out ones included
	Index    uint64 // the broker index of its last message, when HasIndex
	HasIndex bool
	BrokerAt uint64 // the broker's publish time (ms), 0 when it gave none
	// Published is the producer's publish time (ms).
	Published uint64
	// Props are the entry's own properties (its MessageMetadata's) or, for a batch that has
	// none, its first message's.
	Props map[string]string
}

// parsed is an entry with its headers read: the payload is still as stored.
type parsed struct {
	head    Head // without Props
	batched bool
	md      msg
	mdRaw   []byte // the MessageMetadata as stored, for its properties
	payload []byte
}

// parseEntry reads the headers of one entry as the broker sent it:
// [0x0e02][size][BrokerEntryMetadata] (optional) [0x0e01][CRC32-C] (optional)
// [metadata size][MessageMetadata][payload].
func parseEntry(pos Position, b []byte) (e parsed, err error) {
	e.head.Pos = pos
	if len(b) >= 2 && b[0] == 0x0e && b[1] == 0x02 {
		if len(b) < 6 {
			return e, errShortEntry
		}
		size := binary.BigEndian.Uint32(b[2:])
		if uint64(len(b)-6) < uint64(size) {
			return e, errShortEntry
		}
		bm, err := decode(b[6 : 6+size])
		if err != nil {
			return e, fmt.Errorf("broker entry metadata: %w", err)
		}
		e.head.Index, e.head.HasIndex, e.head.BrokerAt = bm.uint(2), bm.has(2), bm.uint(1)
		b = b[6+size:]
	}
	if len(b) >= 2 && b[0] == 0x0e && b[1] == 0x01 {
		if len(b) < 6 {
			return e, errShortEntry
		}
		if crc32.Checksum(b[6:], crc32c) != binary.BigEndian.Uint32(b[2:]) {
			return e, errChecksum
		}
		b = b[6:]
	}
	if len(b) < 4 {
		return e, errShortEntry
	}
	size := binary.BigEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(size) {
		return e, errShortEntry
	}
	e.mdRaw = b[4 : 4+size]
	if e.md, err = decode(e.mdRaw); err != nil {
		return e, fmt.Errorf("message metadata: %w", err)
	}
	e.payload = b[4+size:]
	if e.md.uint(27) > 1 {
		return e, errors.New("chunked messages are not read")
	}
	if e.md.has(13) {
		return e, errors.New("encrypted messages are not read")
	}
	e.head.Published = e.md.uint(3)
	e.head.Messages, e.batched = 1, e.md.has(11)
	if e.batched {
		n := e.md.uint(11) // checked whole, as messagesIn counts it for the permits
		if n == 0 || n > maxBatch {
			return e, fmt.Errorf("batch of %d messages", n)
		}
		e.head.Messages = int32(n)
	}
	return e, nil
}

// messagesIn is the messages an entry holds, read from its headers alone for flow control:
// 1 when they do not say (decoding the entry will tell why).
func messagesIn(b []byte) int {
	if len(b) >= 6 && b[0] == 0x0e && b[1] == 0x02 {
		size := binary.BigEndian.Uint32(b[2:])
		if uint64(len(b)-6) < uint64(size) {
			return 1
		}
		b = b[6+size:]
	}
	if len(b) >= 6 && b[0] == 0x0e && b[1] == 0x01 {
		b = b[6:]
	}
	if len(b) < 4 || uint64(len(b)-4) < uint64(binary.BigEndian.Uint32(b)) {
		return 1
	}
	n := 1
	eachField(b[4:4+binary.BigEndian.Uint32(b)], func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
		if num == 11 && typ == protowire.VarintType && v >= 1 && v <= maxBatch {
			n = int(v)
		}
		return nil
	})
	return n
}

// decodeHead reads one entry's head; the payload is read only for a batch without properties
// of its own, for its first message's. A batch's own properties that do not parse count as
// none (no consumer of its messages reads them).
func decodeHead(pos Position, b []byte) (Head, error) {
	e, err := parseEntry(pos, b)
	if err != nil {
		return e.head, err
	}
	e.head.Props, err = properties(e.mdRaw, 4)
	if !e.batched {
		return e.head, err // an unbatched message's own: as a reader of messages, fail
	}
	if err == nil && len(e.head.Props) > 0 {
		return e.head, nil
	}
	payload, err := decompress(e.md.uint(8), int(e.md.uint(9)), e.payload)
	if err != nil {
		return e.head, err
	}
	if len(payload) < 4 || uint64(len(payload)-4) < uint64(binary.BigEndian.Uint32(payload)) {
		return e.head, errShortEntry
	}
	e.head.Props, err = properties(payload[4:4+binary.BigEndian.Uint32(payload)], 1)
	return e.head, err
}

// decodeEntry decodes the messages of one entry as the broker sent it (see parseEntry). n is
// the messages the entry holds (the permits it took), skipped ones included.
func decodeEntry(pos Position, b []byte) (out []Received, n int, err error) {
	e, err := parseEntry(pos, b)
	if err != nil {
		return nil, 0, err
	}
	h := e.head
	payload, err := decompress(e.md.uint(8), int(e.md.uint(9)), e.payload)
	if err != nil {
		return nil, 0, err
	}
	if !e.batched { // one unbatched message
		m := Received{Pos: pos, BatchSize: 1, index: h.Index, hasIndex: h.HasIndex, brokerAt: h.BrokerAt, key: e.md.str(6),
			eventTime: e.md.uint(12), published: h.Published, payload: payload}
		if m.props, err = properties(e.mdRaw, 4); err != nil {
			return nil, 0, err
		}
		return []Received{m}, 1, nil
	}
	n = int(h.Messages)
	out = make([]Received, 0, min(n, 1024)) // grows with what the payload really holds
	for i := 0; i < n; i++ {
		if len(payload) < 4 {
			return nil, 0, errShortEntry
		}
		size := binary.BigEndian.Uint32(payload)
		if uint64(len(payload)-4) < uint64(size) {
			return nil, 0, errShortEntry
		}
		sm, err := decodeSingle(payload[4 : 4+size])
		if err != nil {
			return nil, 0, fmt.Errorf("message %d of the batch: %w", i, err)
		}
		payload = payload[4+size:]
		ps := sm.size
		if uint64(len(payload)) < ps {
			return nil, 0, errShortEntry
		}
		m := Received{Pos: pos, BatchIdx: int32(i), BatchSize: int32(n), hasIndex: h.HasIndex, brokerAt: h.BrokerAt, key: sm.key,
			eventTime: sm.eventTime, published: h.Published, payload: payload[:ps:ps], props: sm.props}
		payload = payload[ps:]
		if h.HasIndex {
			m.index = h.Index - uint64(n) + uint64(i) + 1 // the entry's index is its last message's
		}
		if sm.compacted {
			continue
		}
		out = append(out, m)
	}
	return out, n, nil
}

// single is a SingleMessageMetadata: what a batch says of one of its messages. It is read in
// one pass, without decode's map: a batch of small records has thousands.
type single struct {
	props     map[string]string
	key       string
	size      uint64 // of its payload
	compacted bool
	eventTime uint64
}

func decodeSingle(b []byte) (s single, err error) {
	err = eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch {
		case typ == protowire.VarintType && num == 3:
			s.size = v
		case typ == protowire.VarintType && num == 4:
			s.compacted = v == 1
		case typ == protowire.VarintType && num == 5:
			s.eventTime = v
		case typ == protowire.BytesType && num == 1:
			k, val, err := keyValue(bs)
			if err != nil {
				return err
			}
			if s.props == nil {
				s.props = map[string]string{}
			}
			s.props[k] = val
		case typ == protowire.BytesType && num == 2:
			s.key = string(bs)
		}
		return nil
	})
	return s, err
}

// keyValue reads a KeyValue: the last key and value it gives.
func keyValue(b []byte) (k, v string, err error) {
	err = eachField(b, func(num protowire.Number, typ protowire.Type, _ uint64, bs []byte) error {
		if typ == protowire.BytesType && num == 1 {
			k = string(bs)
		} else if typ == protowire.BytesType && num == 2 {
			v = string(bs)
		}
		return nil
	})
	return k, v, err
}

// properties collects the KeyValue fields numbered num of a message (nil when none).
func properties(b []byte, num protowire.Number) (map[string]string, error) {
	var props map[string]string
	err := eachField(b, func(f protowire.Number, typ protowire.Type, _ uint64, kv []byte) error {
		if f != num || typ != protowire.BytesType {
			return nil
		}
		k, v, err := keyValue(kv)
		if err != nil {
			return err
		}
		if props == nil {
			props = map[string]string{}
		}
		props[k] = v
		return nil
	})
	if err != nil {
		return nil, err
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
