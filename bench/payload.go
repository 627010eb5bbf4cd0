package bench

import (
	"encoding/binary"
	"math/rand/v2"
	"time"
)

// Record values are text of words drawn from a small vocabulary, so lz4 has something to
// find (as in real data); the first 8 bytes carry the time the record's latency counts
// from, which the consumer of a fixed-rate round reads back.
var vocabulary = []string{"pulsar", "kafka", "gateway", "record", "offset", "partition", "broker", "ledger",
	"bookie", "topic", "batch", "fetch", "produce", "commit", "group", "member", "epoch", "leader", "replica",
	"segment", "index", "cursor", "entry", "message", "payload", "header", "key", "value", "stream", "log"}

// payloads hands out value buffers of one size and takes them back once their record is
// acknowledged, so a run at full speed does not allocate a buffer per record. The free list
// holds at most what the window lets be in flight.
type payloads struct {
	size     int
	template []byte
	free     chan []byte
}

func newPayloads(size, inFlight int) *payloads {
	p := &payloads{size: size, template: make([]byte, 0, size), free: make(chan []byte, max(inFlight, 1))}
	rng := rand.New(rand.NewPCG(uint64(size), 14))
	for len(p.template) < size {
		p.template = append(p.template, vocabulary[rng.IntN(len(vocabulary))]...)
		p.template = append(p.template, ' ')
	}
	p.template = p.template[:size]
	return p
}

// get is a value stamped with t.
func (p *payloads) get(t time.Time) []byte {
	var b []byte
	select {
	case b = <-p.free:
	default:
		b = make([]byte, p.size)
		copy(b, p.template)
	}
	binary.LittleEndian.PutUint64(b, uint64(t.UnixNano()))
	return b
}

// put takes a value back: its client is done with it.
func (p *payloads) put(b []byte) {
	if len(b) != p.size {
		return
	}
	select {
	case p.free <- b:
	default:
	}
}

// stamp is the time a value was stamped with (zero for a value too short to carry one).
func stamp(v []byte) time.Time {
	if len(v) < 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.LittleEndian.Uint64(v)))
}
