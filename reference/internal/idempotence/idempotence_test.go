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

func TestIDsIncreaseAndAreTimeBased(t *testing.T) {
	var g IDs
	prev := g.Next()
	if prev < time.Now().Add(-time.Minute).UnixMilli()<<10 {
		t.Fatalf("id %d is not based on the current time", prev)
	}
	for i := 0; i < 5000; i++ {
		id := g.Next()
		if id <= prev {
			t.Fatalf("ids must increase: %d after %d", id, prev)
		}
		prev = id
	}
}
