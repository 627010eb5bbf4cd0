// Package idempotence keeps what an idempotent producer (KIP-98) needs from a broker: producer
// ids that are unique and cannot be guessed, and per partition the last batches of each producer so a
// retried batch is answered with its first offsets instead of being written twice.
//
// The window is kept in memory but can always be rebuilt: every idempotent batch is stored
// with its producer, sequence numbers and epoch, and a partition's window is read back from
// the log (Load) the first time a producer writes to it after the gateway started and after
// any write whose outcome is in doubt, so a retry that straddles a restart or a Pulsar outage
// is still recognised.
package idempotence

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"

	"github.com/kop-conformance/kop-conformance/reference/internal/recent"
)

// window is how many recent batches per producer are remembered, as in Kafka.
const window = 5

// Verdict says what to do with a batch.
type Verdict int

// Verdicts, each mapping to a Kafka answer.
const (
	Append     Verdict = iota // new data: write it, then Commit
	Duplicate                 // already written: answer with the remembered base offset
	StaleEpoch                // INVALID_PRODUCER_EPOCH
	OutOfOrder                // OUT_OF_ORDER_SEQUENCE_NUMBER
	InFlight                  // the producer has a batch being written that this one does not follow: wait for Settled and check again
)

// IDs hands out producer ids: random positive 63-bit numbers, so that no client can guess
// another producer's id from its own and write in its name (with Kafka's time-based or
// sequential ids the next producer's id is the previous one plus one). An id is never one this
// gateway handed out among its last remembered ids; ids from before a restart or from other
// gateways are not known, and a collision with one is as likely as guessing it, 1 in 2^63 per id.
// Each id is bound to the principal it went to (owners.go). The zero value is ready to use.
type IDs struct {
	mu     sync.Mutex
	random func() uint64              // crypto/rand when nil; tests replace it
	issued *recent.Map[int64, string] // the last remembered ids handed out or claimed, and their owners
}

// remembered is how many recent ids a new one is checked against.
const remembered = 1 << 16

// drawLimit bounds the draws for one id: only a broken source repeats itself that often.
const drawLimit = 64

// Next returns a fresh producer id issued to owner; false only when the random source keeps
// repeating ids.
func (g *IDs) Next(owner string) (int64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	random := g.random
	if random == nil {
		random = cryptoUint64
	}
	for range drawLimit {
		if id := int64(random() >> 1); id != 0 && g.issued.Add(id, owner) {
			return id, true
		}
	}
	return -1, false
}

func cryptoUint64() uint64 {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return binary.BigEndian.Uint64(b[:])
}

type batch struct {
	first, last int32
	base        int64
}

type producer struct {
	epoch  int16
	recent []batch // oldest first, at most window
	seen   time.Time
}

// Partition is one partition's producer state. Lock it around Check, the write and Commit so
// concurrent requests for the partition cannot both pass the sequence check.
type Partition struct {
	sync.Mutex
	max       int
	producers map[int64]*producer
	loaded    bool // the window holds what the log holds (see Loaded)
	// writing are the batches begun and not yet settled, oldest first: their outcomes are
	// committed in this order. settled is closed (and replaced) whenever one settles.
	writing []*Writing
	settled chan struct{}
}

// Writing is a batch being written: Begin after Check said Append and the write began,
// Settle once its outcome is known.
type Writing struct {
	id          int64
	epoch       int16
	first, last int32
	chain       uint64
	done, ok    bool
	base        int64
}

// Begin records a batch whose write began with the storage's chain; the next batch of the
// producer may follow it before it settles, on the same chain (After).
func (p *Partition) Begin(id int64, epoch int16, first, last int32, chain uint64) *Writing {
	w := &Writing{id: id, epoch: epoch, first: first, last: last, chain: chain}
	p.writing = append(p.writing, w)
	return w
}

// After is the chain of the producer's newest batch being written (0: none): a batch that
// follows it must be stored only if it is.
func (p *Partition) After(id int64) uint64 {
	for i := len(p.writing) - 1; i >= 0; i-- {
		if p.writing[i].id == id {
			return p.writing[i].chain
		}
	}
	return 0
}

// Settle records w's outcome: written at base (ok), or failed or in doubt. Outcomes are
// committed in the order the writes began; a failed one doubts the window (Doubt).
func (p *Partition) Settle(w *Writing, base int64, ok bool, now time.Time) {
	w.done, w.ok, w.base = true, ok, base
	for len(p.writing) > 0 && p.writing[0].done {
		h := p.writing[0]
		p.writing[0] = nil
		p.writing = p.writing[1:]
		if h.ok && h.base >= 0 {
			p.Commit(h.id, h.epoch, h.first, h.last, h.base, now)
		} else {
			p.Doubt()
		}
	}
	if len(p.writing) == 0 {
		p.writing = nil
	}
	if p.settled != nil {
		close(p.settled)
		p.settled = nil
	}
}

// Busy says whether any write is begun and not settled.
func (p *Partition) Busy() bool { return len(p.writing) > 0 }

// Settled is closed when a write next settles.
func (p *Partition) Settled() <-chan struct{} {
	if p.settled == nil {
		p.settled = make(chan struct{})
	}
	return p.settled
}

// Loaded says whether the window is known to hold every batch the log holds; until Load it is
// not, nor after Doubt.
func (p *Partition) Loaded() bool { return p.loaded }

// Doubt says a write failed in a way that may still have stored it: the window must be read
// back from the log before the next check.
func (p *Partition) Doubt() { p.loaded = false }

// Load adds the batches read back from the log, oldest first, to the window (what the window
// already holds was written too; the log's newest batch of a producer ends up its newest).
func (p *Partition) Load(batches []Batch, now time.Time) {
	for _, b := range batches {
		p.Commit(b.ID, b.Epoch, b.First, b.Last, b.Base, now)
	}
	p.loaded = true
}

// Batch is an idempotent batch read back from the log.
type Batch struct {
	ID          int64
	Epoch       int16
	First, Last int32
	Base        int64
}

// NewPartition remembers at most maxProducers producers; the least recently seen goes first.
func NewPartition(maxProducers int) *Partition {
	return &Partition{max: maxProducers, producers: map[int64]*producer{}}
}

// Check judges a batch of records with sequences first..last from producer id at epoch.
// For a Duplicate it returns the base offset the batch got when it was written.
func (p *Partition) Check(id int64, epoch int16, first, last int32) (Verdict, int64) {
	for i := len(p.writing) - 1; i >= 0; i-- {
		if w := p.writing[i]; w.id == id {
			if epoch == w.epoch && first == next(w.last) {
				return Append, 0 // the next batch after one still being written
			}
			return InFlight, 0
		}
	}
	pr := p.producers[id]
	switch {
	case pr == nil:
		return Append, 0 // a new producer, or one whose state this gateway does not have
	case epoch < pr.epoch:
		return StaleEpoch, 0
	case epoch > pr.epoch:
		if first != 0 {
			return OutOfOrder, 0 // a bumped epoch starts its sequences over
		}
		return Append, 0
	}
	for _, b := range pr.recent {
		if b.first == first && b.last == last {
			return Duplicate, b.base
		}
	}
	if n := len(pr.recent); n > 0 && first != next(pr.recent[n-1].last) {
		return OutOfOrder, 0
	}
	return Append, 0
}

// next is the sequence after s; sequences wrap from MaxInt32 to 0.
func next(s int32) int32 {
	if s == 1<<31-1 {
		return 0
	}
	return s + 1
}

// Commit records a written batch (again: a batch already in the window is left as it is).
func (p *Partition) Commit(id int64, epoch int16, first, last int32, base int64, now time.Time) {
	pr := p.producers[id]
	if pr != nil && pr.epoch == epoch {
		for _, b := range pr.recent {
			if b.first == first && b.last == last {
				pr.seen = now
				return
			}
		}
	}
	if pr == nil {
		if len(p.producers) >= p.max {
			p.evictOldest()
		}
		pr = &producer{}
		p.producers[id] = pr
	}
	if epoch != pr.epoch {
		pr.epoch, pr.recent = epoch, pr.recent[:0]
	}
	if len(pr.recent) == window {
		pr.recent = append(pr.recent[:0], pr.recent[1:]...)
	}
	pr.recent = append(pr.recent, batch{first, last, base})
	pr.seen = now
}

// evictOldest drops the least recently seen producer. It scans, but only when the table is
// full, which a well-behaved set of producers never makes it.
func (p *Partition) evictOldest() {
	var oldest int64
	var at time.Time
	for id, pr := range p.producers {
		if at.IsZero() || pr.seen.Before(at) {
			oldest, at = id, pr.seen
		}
	}
	delete(p.producers, oldest)
}

// Table holds every partition's state.
type Table struct {
	mu    sync.Mutex
	max   int
	parts map[string]*Partition
}

// NewTable keeps at most maxProducers producers per partition.
func NewTable(maxProducers int) *Table {
	return &Table{max: maxProducers, parts: map[string]*Partition{}}
}

// Partition returns the state of a partition, keyed by the caller (topic and partition).
func (t *Table) Partition(key string) *Partition {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.parts[key]
	if !ok {
		p = NewPartition(t.max)
		t.parts[key] = p
	}
	return p
}

// Forget drops the state of a deleted topic's partitions.
func (t *Table) Forget(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.parts, k)
	}
}
