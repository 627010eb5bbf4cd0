package storage

import (
	"time"

	"github.com/kop-conformance/kop-conformance/reference/internal/recent"
)

// Parking. A partition nobody used for the store's idle time (Config.PartitionIdle) gives back
// what it holds for serving fast: its tail reader, its Pulsar producer, its reusable fetch
// readers and its recent-entry memory, and its sparse index is thinned. It stays in the store
// with what it knows (high watermark, first offset, a coarse index), a few KiB; the next use
// opens its tail reader again, which learns the high watermark anew. Long polls waiting on it
// are woken when it parks, so none waits on a partition whose tail is gone.

// parkedIndexPoints bounds a parked partition's sparse index.
const parkedIndexPoints = 256

// use marks the partition busy until the returned func is called, opening its tail reader
// again if it was parked.
func (p *Partition) use() func() {
	p.mu.Lock()
	p.users++
	p.lastUsed = time.Now()
	if p.parked && !p.closed {
		p.parked = false
		p.run = newTailRun()
		go p.runTail(p.run)
	}
	p.mu.Unlock()
	return p.unuse
}

func (p *Partition) unuse() {
	p.mu.Lock()
	p.users--
	p.lastUsed = time.Now()
	p.mu.Unlock()
}

// parkIfIdle parks the partition if nothing used it since idleSince and nothing waits on it.
func (p *Partition) parkIfIdle(idleSince time.Time) bool {
	if !p.writeMu.TryLock() {
		return false // a write in progress
	}
	defer p.writeMu.Unlock()
	p.mu.Lock()
	run := p.run
	select {
	case <-run.ready:
	default:
		p.mu.Unlock()
		return false // still opening
	}
	if p.closed || p.parked || p.users > 0 || p.lastUsed.After(idleSince) || len(p.waiters) > 0 || len(p.writeWaiters) > 0 {
		p.mu.Unlock()
		return false
	}
	p.parked = true
	idle := p.idle
	p.idle = nil
	p.entries = recent.New[entryKey, int64](recentEntries)
	p.writes = recent.New[uint64, int64](recentWrites)
	p.gaps = recent.New[int64, int64](recentGaps)
	p.predicted = nil
	p.index.thin(parkedIndexPoints)
	close(p.changed) // a long poll re-checks, and so opens the partition again
	p.changed = make(chan struct{})
	prod, wire := p.producer, p.wire
	p.producer, p.producerCap, p.wire = nil, 0, nil
	p.mu.Unlock()
	run.cancel()
	if prod != nil {
		go prod.Close()
	}
	if wire != nil {
		wire.Close()
	}
	for _, c := range idle {
		c.r.Close()
	}
	return true
}

// parkIdle parks every partition unused since idleSince and says how many it parked.
func (s *Store) parkIdle(idleSince time.Time) int {
	s.mu.Lock()
	parts := make([]*Partition, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, p)
	}
	s.mu.Unlock()
	n := 0
	for _, p := range parts {
		if p.parkIfIdle(idleSince) {
			n++
		}
	}
	return n
}

// parkLoop parks idle partitions every quarter of the idle time until the store closes.
func (s *Store) parkLoop(idle time.Duration, done <-chan struct{}) {
	t := time.NewTicker(max(idle/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			if n := s.parkIdle(now.Add(-idle)); n > 0 {
				s.log.Debug("parked idle partitions", "count", n)
			}
		}
	}
}
