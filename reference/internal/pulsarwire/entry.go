package pulsarwire

import (
	"encoding/binary"
	"sync"

	"github.com/klauspost/compress/s2"
)

// Message is one message of a batch entry, as Pulsar's SingleMessageMetadata carries it.
type Message struct {
	Key        string
	HasKey     bool
	Properties []Property
	EventTime  uint64 // milliseconds; 0 is unset
	Payload    []byte
}

// Property is a message property.
type Property struct{ Key, Value string }

// Entry is a batch entry being built: every message lands in the same Pulsar entry.
type Entry struct {
	payload  []byte
	n        int
	firstKey *string
	raw      int // the uncompressed size when payload is compressed, else 0
	tags     []Property
}

// Tag gives the entry itself a property (in its MessageMetadata). Pulsar's consumers show a
// batched message its own properties only, so a tag is private to readers of heads
// (Reader.NextHead), which find it without decoding the messages.
func (e *Entry) Tag(key, value string) { e.tags = append(e.tags, Property{key, value}) }

// compressionSnappy is Pulsar's CompressionType SNAPPY: the batch payload as one Snappy
// block. Snappy rather than LZ4: pulsar-client-go gives each consumer that meets LZ4 a 512 KiB
// compression table, which every tail and fetch reader of the gateway would carry; its Snappy
// codec holds nothing.
const compressionSnappy = 4

// Compress compresses the entry's messages as one Snappy block, as Pulsar's clients do, when
// that makes it smaller; Pulsar's consumers decompress it. Add nothing after it. The encoder
// is Snappy's fast one: its blocks are a little larger than the "better" one's at about half
// the CPU, which the broker and the gateway share.
func (e *Entry) Compress() {
	if e.raw > 0 || len(e.payload) == 0 {
		return
	}
	dst := buffer(s2.MaxEncodedLen(len(e.payload)))
	c := s2.EncodeSnappy(dst[:cap(dst)], e.payload)
	if len(c) >= len(e.payload) {
		release(dst)
		return // incompressible: stored as it is
	}
	release(e.payload)
	e.raw = len(e.payload)
	e.payload = c
}

// NewEntry starts an entry sized for about size bytes of messages.
func NewEntry(size int) *Entry { return &Entry{payload: buffer(size)} }

// release gives the entry's buffer back for reuse: its frame is written.
func (e *Entry) release() {
	release(e.payload)
	e.payload = nil
}

// buffers are entry payloads reused once their frame is written: at full speed the gateway
// builds an entry of up to a MiB for every Kafka batch, and allocating each would keep the
// garbage collector busy. A buffer over maxPooled is left to it.
var buffers sync.Pool // of *[]byte

const maxPooled = 4 << 20

// buffer is an empty buffer of at least size bytes' capacity.
func buffer(size int) []byte {
	if b, ok := buffers.Get().(*[]byte); ok && cap(*b) >= size {
		return (*b)[:0]
	}
	return make([]byte, 0, size)
}

func release(b []byte) {
	if cap(b) > 0 && cap(b) <= maxPooled {
		b = b[:0]
		buffers.Put(&b)
	}
}

// Add appends m to the entry.
func (e *Entry) Add(m *Message) {
	var meta []byte
	for _, p := range m.Properties {
		kv := putString(nil, 1, p.Key)
		kv = putString(kv, 2, p.Value)
		meta = putBytes(meta, 1, kv)
	}
	if m.HasKey {
		meta = putString(meta, 2, m.Key)
		if e.n == 0 {
			k := m.Key
			e.firstKey = &k
		}
	}
	meta = putVarint(meta, 3, uint64(len(m.Payload)))
	if m.EventTime > 0 {
		meta = putVarint(meta, 5, m.EventTime)
	}
	e.payload = binary.BigEndian.AppendUint32(e.payload, uint32(len(meta)))
	e.payload = append(e.payload, meta...)
	e.payload = append(e.payload, m.Payload...)
	e.n++
}

// metadata is the entry's MessageMetadata.
func (e *Entry) metadata(producer string, seq, publishMillis uint64) []byte {
	var m []byte
	m = putString(m, 1, producer)
	m = putVarint(m, 2, seq)
	m = putVarint(m, 3, publishMillis)
	for _, p := range e.tags {
		m = putBytes(m, 4, putString(putString(nil, 1, p.Key), 2, p.Value))
	}
	if e.firstKey != nil {
		m = putString(m, 6, *e.firstKey) // as Pulsar's own clients do: the batch's key is its first
	}
	if e.raw > 0 {
		m = putVarint(m, 8, compressionSnappy)
		m = putVarint(m, 9, uint64(e.raw))
	} else {
		m = putVarint(m, 9, uint64(len(e.payload)))
	}
	m = putVarint(m, 11, uint64(e.n))
	return m
}

// sendCommand is the SEND command of entry seq on producer id.
func sendCommand(producerID, seq uint64, messages int) []byte {
	var s []byte
	s = putVarint(s, 1, producerID)
	s = putVarint(s, 2, seq)
	s = putVarint(s, 3, uint64(messages))
	return baseCommand(cmdSend, s)
}
