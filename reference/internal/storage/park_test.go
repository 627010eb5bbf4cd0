package storage

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

// An idle partition parks: its tail reader stops, its recent memory goes, its index thins and
// long polls wake; its next use opens a tail reader again, which learns the high watermark.
func TestIdlePartitionParksAndOpensAgain(t *testing.T) {
	s := testStore()
	s.cfg.OperationTimeout = time.Second
	var (
		mu    sync.Mutex
		tails []*fakeTail
	)
	s.newTail = func(string, pulsar.MessageID) (tailReader, error) {
		mu.Lock()
		defer mu.Unlock()
		r := &fakeTail{msgs: []message{msgAt(9, int64(len(tails)), uint64(40+len(tails)))}}
		tails = append(tails, r)
		return r, nil
	}
	p := newPartition(s, partition.TP{Topic: "t"})
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if hwm, err := p.HighWatermark(ctx); err != nil || hwm != 41 {
		t.Fatalf("high watermark %d, %v; want 41", hwm, err)
	}
	p.mu.Lock()
	for i := int64(0); i < 5000; i++ {
		p.learnLocked(entryKey{3, i}, i)
	}
	p.mu.Unlock()
	wake := p.Changed()
	if p.parkIfIdle(time.Now().Add(-time.Hour)) {
		t.Fatal("parked a partition used a moment ago")
	}
	done := p.use()
	if p.parkIfIdle(time.Now().Add(time.Hour)) {
		t.Fatal("parked a partition in use")
	}
	done()
	if !p.parkIfIdle(time.Now().Add(time.Hour)) {
		t.Fatal("an idle partition did not park")
	}
	select {
	case <-wake:
	default:
		t.Fatal("a long poll on the parked partition was not woken")
	}
	p.mu.Lock()
	entries, points := p.entries.Len(), len(p.index.points)
	p.mu.Unlock()
	if entries != 0 || points > parkedIndexPoints {
		t.Fatalf("parked with %d recent entries and %d index points; want 0 and at most %d", entries, points, parkedIndexPoints)
	}
	if hwm, err := p.HighWatermark(ctx); err != nil || hwm != 42 {
		t.Fatalf("after parking: high watermark %d, %v; want 42 from a new tail reader", hwm, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tails) != 2 {
		t.Fatalf("%d tail readers opened; want 2", len(tails))
	}
}

// A parked partition costs at most 32 KiB however much it had learned.
func TestParkedPartitionIsSmall(t *testing.T) {
	const n = 100
	s := testStore()
	parts := make([]*Partition, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range parts {
		p := blankPartition(s, partition.TP{Topic: "t", Partition: int32(i)})
		for e := int64(0); e < recentEntries+1000; e++ {
			p.learnLocked(entryKey{1, e}, e*3)
		}
		for w := uint64(0); w < recentWrites; w++ {
			p.writes.Add(w, int64(w))
		}
		close(p.run.ready)
		if !p.parkIfIdle(time.Now().Add(time.Hour)) {
			t.Fatal("did not park")
		}
		parts[i] = p
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	if per > 32<<10 {
		t.Fatalf("a parked partition takes %d bytes of heap; want at most 32 KiB", per)
	}
	t.Logf("a parked partition takes %d bytes of heap", per)
	runtime.KeepAlive(parts)
}
