package pulsarwire

import (
	"encoding/binary"

	"github.com/klauspost/compress/snappy"
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
}

// compressionSnappy is Pulsar's CompressionType SNAPPY: the batch payload as one Snappy
// block. Snappy rather than LZ4: pulsar-client-go gives each consumer that meets LZ4 a 512 KiB
// compression table, which every tail and fetch reader of the gateway would carry; its Snappy
// codec holds nothing.
const compressionSnappy = 4

// Compress compresses the entry's messages as one Snappy block, as Pulsar's clients do, when
// that makes it smaller; Pulsar's consumers decompress it. Add nothing after it.
func (e *Entry) Compress() {
	if e.raw > 0 || len(e.payload) == 0 {
		return
	}
	c := snappy.Encode(nil, e.payload)
	if len(c) >= len(e.payload) {
		return // incompressible: stored as it is
	}
	e.raw = len(e.payload)
	e.payload = c
}

// NewEntry starts an entry sized for about size bytes of messages.
func NewEntry(size int) *Entry { return &Entry{payload: make([]byte, 0, size)} }

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
