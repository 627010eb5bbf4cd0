package storage

import (
	"log/slog"
	"runtime"
	"testing"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

func testStore() *Store {
	return &Store{log: slog.Default(), cfg: Config{Tenant: "public", Namespace: "default"}}
}

// The recent-entries memory of a partition grows with the entries it learned, up to
// recentEntries, and then keeps exactly the newest recentEntries.
func TestRecentEntriesGrowAndForgetTheOldest(t *testing.T) {
	p := blankPartition(testStore(), partition.TP{Topic: "t"})
	p.learnLocked(entryKey{1, 0}, 0)
	if p.entries.Len() != 1 {
		t.Fatalf("after one entry %d are remembered, want 1", p.entries.Len())
	}
	for i := int64(1); i < recentEntries+10; i++ {
		p.learnLocked(entryKey{1, i}, i*10)
	}
	if p.entries.Len() != recentEntries {
		t.Fatalf("%d entries remembered, want %d", p.entries.Len(), recentEntries)
	}
	for i := int64(0); i < 10; i++ {
		if _, ok := p.entries.Get(entryKey{1, i}); ok {
			t.Fatalf("entry %d, among the oldest, is still remembered", i)
		}
	}
	for _, i := range []int64{10, recentEntries/2 + 5, recentEntries + 9} {
		if got, ok := p.entries.Get(entryKey{1, i}); !ok || got != i*10 {
			t.Fatalf("entry %d = %d, %v; want %d", i, got, ok, i*10)
		}
	}
}

// An idle partition (the tail reader aside) costs a few KiB, not a preallocated ring.
func TestNewPartitionStateIsSmall(t *testing.T) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	const n = 100
	st := testStore()
	ps := make([]*Partition, n)
	for i := range ps {
		ps[i] = blankPartition(st, partition.TP{Topic: "t", Partition: int32(i)})
		ps[i].learnLocked(entryKey{1, 0}, 0)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if per := (m1.HeapAlloc - m0.HeapAlloc) / n; per > 8<<10 {
		t.Errorf("a partition that learned one entry holds %d bytes of state, want at most 8 KiB", per)
	}
	runtime.KeepAlive(ps)
}
