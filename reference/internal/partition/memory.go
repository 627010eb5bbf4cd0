package partition

import (
	"context"
	"errors"
	"sync"

	"github.com/kop-conformance/kop-conformance/reference/records"
)

// Memory is a Store that keeps partitions in memory, for in-process tests of the handlers;
// production keeps them in Pulsar (package storage). It has Kafka's offsets: continuous from 0
// per partition, one entry per append, a log start that DeleteRecords moves and a change
// channel closed by every append. As in storage, log starts are kept apart from the records,
// and Forget drops a topic's records (the server forgets a topic just before deleting it).
type Memory struct {
	mu     sync.Mutex
	parts  map[TP]*memoryLog
	starts map[TP]int64 // offsets DeleteRecords deleted up to
	err    error
	// lostAck, when set, is asked after each stored append whether to report it failed.
	lostAck func() bool
}

var errLostAck = errors.New("the storage did not answer (the batch was stored)")

// LoseAcks makes an append that stored its batch report a failure whenever lose says so, as
// when Pulsar stored a write but its answer was lost; nil heals.
func (m *Memory) LoseAcks(lose func() bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lostAck = lose
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{parts: map[TP]*memoryLog{}, starts: map[TP]int64{}}
}

// Fail makes every later operation fail with err, as an unreachable Pulsar does; nil heals.
func (m *Memory) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// Partition returns tp's log, creating it empty on first use.
func (m *Memory) Partition(tp TP) (Log, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	l, ok := m.parts[tp]
	if !ok {
		l = &memoryLog{m: m, tp: tp, changed: make(chan struct{})}
		m.parts[tp] = l
	}
	return l, nil
}

// Forget drops topic's partitions and their records.
func (m *Memory) Forget(topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for tp := range m.parts {
		if tp.Topic == topic {
			delete(m.parts, tp)
		}
	}
}

// ForgetLogStarts deletes topic's log starts.
func (m *Memory) ForgetLogStarts(_ context.Context, topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	for tp := range m.starts {
		if tp.Topic == topic {
			delete(m.starts, tp)
		}
	}
	return nil
}

// memoryLog is one partition of a Memory store; its fields are guarded by the store's lock.
type memoryLog struct {
	m       *Memory
	tp      TP
	entries []Batch // one per append, offsets continuous across them
	hwm     int64
	changed chan struct{}
}

// locked runs f under the store's lock unless the store fails.
func (l *memoryLog) locked(f func()) error {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if l.m.err != nil {
		return l.m.err
	}
	f()
	return nil
}

func (l *memoryLog) Begin(ctx context.Context, w Write) (Wait, Chain, error) {
	if w.After == Broken {
		return nil, 0, ErrChainBroken
	}
	base, err := l.Append(ctx, w.Records, w.Producer) // settled before Begin returns
	chain := Chain(0)
	if err != nil {
		chain = Broken
	}
	return func() (int64, error) { return base, err }, chain, nil
}

func (l *memoryLog) Append(_ context.Context, recs []records.Record, prod *Producer) (int64, error) {
	var base int64
	lose := false
	err := l.locked(func() {
		lose = l.m.lostAck != nil && l.m.lostAck()
		base = l.hwm
		stored := make([]records.Record, len(recs))
		for i, r := range recs {
			r.Offset = base + int64(i)
			stored[i] = r
		}
		var p *Producer
		if prod != nil {
			c := *prod
			p = &c
		}
		l.entries = append(l.entries, Batch{Records: stored, Producer: p})
		l.hwm += int64(len(recs))
		close(l.changed)
		l.changed = make(chan struct{})
	})
	if err == nil && lose {
		return -1, errLostAck // stored, but the caller is told it failed, as when an answer is lost
	}
	return base, err
}

// RecentProducers returns the idempotent batches among the last n records.
func (l *memoryLog) RecentProducers(_ context.Context, n int64) ([]ProducerBatch, error) {
	var out []ProducerBatch
	err := l.locked(func() {
		from := max(l.hwm-n, l.logStartLocked())
		for _, e := range l.entries {
			if e.Producer != nil && len(e.Records) > 0 && e.Records[0].Offset >= from {
				out = append(out, ProducerBatch{Producer: *e.Producer, Base: e.Records[0].Offset})
			}
		}
	})
	return out, err
}

func (l *memoryLog) Read(_ context.Context, offset int64, maxBytes int) ([]Batch, error) {
	var out []Batch
	err := l.locked(func() {
		size := 0
		for _, e := range l.entries {
			var run []records.Record // a copy: callers may reorder what they get
			for _, r := range e.Records {
				if r.Offset < offset {
					continue
				}
				if size > 0 && size+r.Size() > maxBytes {
					if len(run) > 0 {
						out = append(out, Batch{Records: run})
					}
					return
				}
				size += r.Size()
				run = append(run, r)
			}
			if len(run) > 0 {
				b := Batch{Records: run}
				if run[0].Offset == e.Records[0].Offset {
					b.Producer = e.Producer
				}
				out = append(out, b)
			}
		}
	})
	return out, err
}

func (l *memoryLog) HighWatermark(context.Context) (int64, error) {
	var hwm int64
	err := l.locked(func() { hwm = l.hwm })
	return hwm, err
}

func (l *memoryLog) LogStart(context.Context) (int64, error) {
	var ls int64
	err := l.locked(func() { ls = l.logStartLocked() })
	return ls, err
}

func (l *memoryLog) logStartLocked() int64 { return min(l.m.starts[l.tp], l.hwm) }

func (l *memoryLog) OffsetForTimestamp(_ context.Context, ts int64) (int64, int64, error) {
	off, found := int64(-1), int64(-1)
	err := l.locked(func() {
		ls := l.logStartLocked()
		for _, e := range l.entries {
			for _, r := range e.Records {
				if r.Offset >= ls && r.Timestamp >= ts {
					off, found = r.Offset, r.Timestamp
					return
				}
			}
		}
	})
	return off, found, err
}

func (l *memoryLog) Changed() <-chan struct{} {
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	return l.changed
}

func (l *memoryLog) DeleteBefore(_ context.Context, offset int64) error {
	return l.locked(func() { l.m.starts[l.tp] = max(l.m.starts[l.tp], offset) })
}
