package storage

import (
	"fmt"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

// batchID is message idx of an entry of size messages, as a reader hands it out.
type batchID struct {
	ledger, entry int64
	idx, size     int32
}

func (b batchID) Serialize() []byte   { return nil }
func (b batchID) LedgerID() int64     { return b.ledger }
func (b batchID) EntryID() int64      { return b.entry }
func (b batchID) BatchIdx() int32     { return b.idx }
func (b batchID) PartitionIdx() int32 { return -1 }
func (b batchID) BatchSize() int32    { return b.size }
func (b batchID) String() string      { return fmt.Sprintf("%d:%d:%d/%d", b.ledger, b.entry, b.idx, b.size) }

// seeEntry has the tail observe every message of an entry of size messages starting at first.
func seeEntry(t *testing.T, p *Partition, ledger, entry, first int64, size int) {
	t.Helper()
	for i := range size {
		m := tailMessage{id: batchID{ledger, entry, int32(i), int32(size)}, index: uint64(first) + uint64(i)}
		if err := p.observe(m); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAnAppendRightAfterTheTipIsAnsweredFromIt(t *testing.T) {
	cases := []struct {
		name      string
		ledger    int64
		entry     int64
		wantFirst int64
		wantOK    bool
	}{
		{"the next entry of the ledger", 9, 6, 13, true},
		{"an entry further on (another writer's in between)", 9, 7, 0, false},
		{"an entry of the next ledger", 10, 0, 0, false},
		{"an entry the tail has seen", 9, 5, 10, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := blankPartition(testStore(), partition.TP{Topic: "t"})
			seeEntry(t, p, 9, 5, 10, 3) // offsets 10-12
			changed := p.changed
			first, ok := p.predict(pulsar.NewMessageID(tc.ledger, tc.entry, 0, -1), 4)
			if ok != tc.wantOK || ok && first != tc.wantFirst {
				t.Fatalf("predict = %d, %v; want %d, %v", first, ok, tc.wantFirst, tc.wantOK)
			}
			if tc.wantOK && tc.entry == 6 {
				// The records are stored: they are below the high watermark at once, and a
				// long poll hears of them.
				if p.hwm != 17 {
					t.Fatalf("high watermark %d after the answer, want 17", p.hwm)
				}
				select {
				case <-changed:
				default:
					t.Fatal("a long poll was not woken by the answered append")
				}
				// The next append chains on the answered one.
				if first, ok := p.predict(pulsar.NewMessageID(9, 7, 0, -1), 1); !ok || first != 17 {
					t.Fatalf("the append after it: %d, %v; want 17, true", first, ok)
				}
			}
		})
	}
}

// The tip moves only once the tail has seen an entry's last message: mid-entry, the offsets
// after it are not known yet.
func TestTheTipWaitsForAnEntrysLastMessage(t *testing.T) {
	p := blankPartition(testStore(), partition.TP{Topic: "t"})
	seeEntry(t, p, 9, 5, 10, 3)
	if err := p.observe(tailMessage{id: batchID{9, 6, 0, 2}, index: 13}); err != nil {
		t.Fatal(err)
	}
	if first, ok := p.predict(pulsar.NewMessageID(9, 7, 0, -1), 1); ok {
		t.Fatalf("entry 7 answered %d while entry 6 was half seen", first)
	}
	if err := p.observe(tailMessage{id: batchID{9, 6, 1, 2}, index: 14}); err != nil {
		t.Fatal(err)
	}
	if first, ok := p.predict(pulsar.NewMessageID(9, 7, 0, -1), 1); !ok || first != 15 {
		t.Fatalf("entry 7 after entry 6 was seen whole: %d, %v; want 15, true", first, ok)
	}
}

// An answer the tail contradicts ends the shortcut for the partition.
func TestAWrongAnswerFromTheTipEndsTheShortcut(t *testing.T) {
	p := blankPartition(testStore(), partition.TP{Topic: "t"})
	seeEntry(t, p, 9, 5, 10, 3)
	if first, ok := p.predict(pulsar.NewMessageID(9, 6, 0, -1), 2); !ok || first != 13 {
		t.Fatalf("predict = %d, %v; want 13, true", first, ok)
	}
	seeEntry(t, p, 9, 6, 14, 2) // the log skipped 13
	if !p.noPredict {
		t.Fatal("the tail saw entry 6 at 14, not the 13 answered, and nothing noticed")
	}
	if first, ok := p.predict(pulsar.NewMessageID(9, 7, 0, -1), 1); ok {
		t.Fatalf("answered %d from the tip after a wrong answer", first)
	}
}

// A timestamp lookup past the last publish time the tail saw is answered "none" without asking
// Pulsar only while the tail has seen everything: an entry answered from the tip may be later.
func TestATimestampLookupDoesNotTrustTheTailAheadOfIt(t *testing.T) {
	p := blankPartition(testStore(), partition.TP{Topic: "t"})
	seeEntry(t, p, 9, 5, 10, 3) // published at 1 ms
	if !p.nothingAtOrAfter(2, p.hwm, 0) {
		t.Fatal("nothing was published at or after 2 ms, and the tail has seen everything")
	}
	if _, ok := p.predict(pulsar.NewMessageID(9, 6, 0, -1), 1); !ok {
		t.Fatal("entry 6 was not answered from the tip")
	}
	if p.nothingAtOrAfter(2, p.hwm, 0) {
		t.Fatal("an acknowledged entry the tail has not seen yet was ruled out by the tail's publish time")
	}
	seeEntry(t, p, 9, 6, 13, 1)
	if !p.nothingAtOrAfter(2, p.hwm, 0) {
		t.Fatal("once the tail has seen entry 6 (published at 1 ms) its publish time rules out 2 ms again")
	}
}

// The tail also checks where an answered entry ends: a batch counted wrongly would make the
// next answer wrong.
func TestAWrongCountEndsTheShortcut(t *testing.T) {
	p := blankPartition(testStore(), partition.TP{Topic: "t"})
	seeEntry(t, p, 9, 5, 10, 3)
	if first, ok := p.predict(pulsar.NewMessageID(9, 6, 0, -1), 2); !ok || first != 13 {
		t.Fatalf("predict = %d, %v; want 13, true", first, ok)
	}
	seeEntry(t, p, 9, 6, 13, 3) // three records stored, two counted
	if !p.noPredict {
		t.Fatal("entry 6 ends at 16, not the 15 counted, and nothing noticed")
	}
}
