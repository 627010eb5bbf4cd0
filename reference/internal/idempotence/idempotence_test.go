package idempotence

import (
	"testing"
	"time"
)

func TestSequenceRules(t *testing.T) {
	p := NewPartition(10)
	now := time.Unix(0, 0)
	type step struct {
		epoch       int16
		first, last int32
		want        Verdict
		base        int64 // the base offset the batch gets (Append) or is answered with (Duplicate)
	}
	steps := []step{
		{0, 0, 4, Append, 100},
		{0, 5, 9, Append, 105},
		{0, 0, 4, Duplicate, 100}, // a retry of an earlier batch still in the window
		{0, 5, 9, Duplicate, 105},
		{0, 12, 14, OutOfOrder, 0}, // a gap
		{0, 10, 10, Append, 110},
		{1, 3, 3, OutOfOrder, 0}, // a new epoch starts at 0
		{1, 0, 1, Append, 111},
		{0, 11, 11, StaleEpoch, 0}, // the old epoch is fenced
	}
	for i, s := range steps {
		v, base := p.Check(7, s.epoch, s.first, s.last)
		if v != s.want || (v == Duplicate && base != s.base) {
			t.Fatalf("step %d %+v: got %v base %d", i, s, v, base)
		}
		if v == Append {
			p.Commit(7, s.epoch, s.first, s.last, s.base, now)
		}
	}
}

func TestWindowKeepsFiveBatches(t *testing.T) {
	p := NewPartition(10)
	for i := int32(0); i < 7; i++ {
		p.Commit(1, 0, i, i, int64(i), time.Unix(0, 0))
	}
	if v, _ := p.Check(1, 0, 1, 1); v == Duplicate {
		t.Fatal("batch 1 fell out of the five-batch window and must not be taken for a duplicate")
	}
	if v, base := p.Check(1, 0, 2, 2); v != Duplicate || base != 2 {
		t.Fatalf("batch 2 is in the window: %v %d", v, base)
	}
}

func TestLeastRecentlySeenProducerIsEvicted(t *testing.T) {
	p := NewPartition(2)
	p.Commit(1, 0, 0, 0, 0, time.Unix(1, 0))
	p.Commit(2, 0, 0, 0, 1, time.Unix(2, 0))
	p.Commit(3, 0, 0, 0, 2, time.Unix(3, 0))
	if _, ok := p.producers[1]; ok || len(p.producers) != 2 {
		t.Fatalf("producers after eviction: %v", p.producers)
	}
}

// fixedSource hands out the given values in turn, then zeros.
func fixedSource(vals ...uint64) func() uint64 {
	return func() uint64 {
		if len(vals) == 0 {
			return 0
		}
		v := vals[0]
		vals = vals[1:]
		return v
	}
}

func TestIDsAreRandomPositiveAndNeverRepeated(t *testing.T) {
	cases := []struct {
		name   string
		source []uint64
		want   []int64 // ids handed out in turn; -1 when none can be
	}{
		{"63 bits of the source", []uint64{7 << 1, 1<<64 - 1}, []int64{7, 1<<63 - 1}},
		{"an id already handed out is drawn again", []uint64{5 << 1, 5 << 1, 5<<1 | 1, 9 << 1}, []int64{5, 9}},
		{"zero is drawn again", []uint64{0, 1, 3 << 1}, []int64{3}},
		{"a source that only repeats gives up instead of spinning", []uint64{2 << 1}, []int64{2, -1}},
	}
	for _, tc := range cases {
		g := IDs{random: fixedSource(tc.source...)}
		for i, want := range tc.want {
			id, ok := g.Next("")
			if !ok {
				id = -1
			}
			if id != want {
				t.Errorf("%s: id %d is %d, want %d", tc.name, i, id, want)
			}
		}
	}

	// The real source: positive, distinct, and not a sequence one could guess from another id.
	var g IDs
	seen := map[int64]bool{}
	var prev int64
	decreased := false
	for range 10000 {
		id, ok := g.Next("")
		if !ok || id <= 0 || seen[id] {
			t.Fatalf("id %d (ok %v) after %d ids: want positive and new", id, ok, len(seen))
		}
		decreased = decreased || id < prev
		seen[id], prev = true, id
	}
	if !decreased {
		t.Fatal("10000 ids only ever increased: they follow a sequence")
	}
}

// A window read back from the log recognises a retry it never saw written, and is needed again
// after a write in doubt.
func TestLoadRebuildsTheWindow(t *testing.T) {
	p := NewPartition(10)
	if p.Loaded() {
		t.Fatal("a new partition claims to hold what the log holds")
	}
	now := time.Now()
	p.Load([]Batch{{ID: 7, Epoch: 0, First: 0, Last: 4, Base: 10}, {ID: 7, Epoch: 0, First: 5, Last: 9, Base: 20}, {ID: 8, Epoch: 2, First: 0, Last: 0, Base: 30}}, now)
	if !p.Loaded() {
		t.Fatal("not loaded after Load")
	}
	for _, c := range []struct {
		id          int64
		epoch       int16
		first, last int32
		want        Verdict
		base        int64
	}{
		{7, 0, 5, 9, Duplicate, 20},
		{7, 0, 0, 4, Duplicate, 10},
		{7, 0, 10, 12, Append, 0},
		{7, 0, 11, 12, OutOfOrder, 0},
		{8, 1, 1, 1, StaleEpoch, 0},
		{9, 0, 0, 0, Append, 0},
	} {
		if v, base := p.Check(c.id, c.epoch, c.first, c.last); v != c.want || base != c.base {
			t.Errorf("Check(%d, %d, %d, %d) = %v, %d; want %v, %d", c.id, c.epoch, c.first, c.last, v, base, c.want, c.base)
		}
	}
	// Committing a batch the load already brought is no second copy in the window.
	p.Commit(7, 0, 5, 9, 20, now)
	if n := len(p.producers[7].recent); n != 2 {
		t.Fatalf("%d batches remembered after committing a loaded one again, want 2", n)
	}
	p.Doubt()
	if p.Loaded() {
		t.Fatal("still loaded after a write in doubt")
	}
}

// Batches in flight: the next batch of a producer may follow one still being written; any
// other batch of it waits (InFlight); outcomes are committed in the order the writes began,
// whatever order they settle in, and a failure doubts the window.
func TestWritesInFlight(t *testing.T) {
	now := time.Unix(0, 0)
	p := NewPartition(10)
	p.Load(nil, now)
	if v, _ := p.Check(7, 0, 0, 4); v != Append {
		t.Fatalf("first batch: %v", v)
	}
	a := p.Begin(7, 0, 0, 4, 3)
	if v, _ := p.Check(7, 0, 5, 9); v != Append {
		t.Fatalf("the batch after one in flight: %v, want Append", v)
	}
	if c := p.After(7); c != 3 {
		t.Fatalf("the chain to follow: %d, want a's (3)", c)
	}
	b := p.Begin(7, 0, 5, 9, 3)
	for _, c := range []struct{ first, last int32 }{{0, 4}, {5, 9}, {12, 14}} {
		if v, _ := p.Check(7, 0, c.first, c.last); v != InFlight {
			t.Fatalf("batch %d-%d while 0-9 are in flight: %v, want InFlight", c.first, c.last, v)
		}
	}
	if v, _ := p.Check(8, 0, 0, 0); v != Append {
		t.Fatalf("another producer: %v", v)
	}
	settled := p.Settled()
	p.Settle(b, 105, true, now) // the later one first: nothing is committed before a
	select {
	case <-settled:
	default:
		t.Fatal("Settled was not closed by a settle")
	}
	if !p.Busy() {
		t.Fatal("a is still being written")
	}
	p.Settle(a, 100, true, now)
	if p.Busy() {
		t.Fatal("both settled")
	}
	for _, c := range []struct {
		first, last int32
		want        Verdict
		base        int64
	}{{0, 4, Duplicate, 100}, {5, 9, Duplicate, 105}, {10, 10, Append, 0}, {12, 12, OutOfOrder, 0}} {
		if v, base := p.Check(7, 0, c.first, c.last); v != c.want || base != c.base {
			t.Fatalf("after both settled, batch %d-%d: %v %d, want %v %d", c.first, c.last, v, base, c.want, c.base)
		}
	}
	if c := p.After(7); c != 0 {
		t.Fatalf("nothing in flight, yet a chain to follow: %d", c)
	}
	c := p.Begin(7, 0, 10, 10, 4)
	d := p.Begin(7, 0, 11, 11, 4) // on the same chain: it fails if c's writer fails
	p.Settle(c, 0, false, now)
	if p.Loaded() {
		t.Fatal("a failed write must doubt the window")
	}
	if !p.Busy() {
		t.Fatal("d is still being written: the window must not be read back before it settles")
	}
	p.Settle(d, 0, false, now)
	if p.Busy() || p.Loaded() {
		t.Fatalf("busy %v loaded %v after both settled", p.Busy(), p.Loaded())
	}
	// Read back: neither was stored, so the producer goes on from 10.
	p.Load(nil, now)
	if v, _ := p.Check(7, 0, 11, 11); v != OutOfOrder {
		t.Fatalf("11 after 10 failed: %v, want OutOfOrder", v)
	}
	if v, _ := p.Check(7, 0, 10, 10); v != Append {
		t.Fatalf("the retry of 10: %v, want Append", v)
	}
}
