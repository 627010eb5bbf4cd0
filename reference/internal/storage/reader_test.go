package storage

import (
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/internal/pulsarwire"
)

// A start message id maps to the entry the gateway's reader starts at, ends included.
func TestWirePosition(t *testing.T) {
	for _, c := range []struct {
		id   pulsar.MessageID
		want pulsarwire.Position
	}{
		{pulsar.LatestMessageID(), pulsarwire.Latest},
		{pulsar.EarliestMessageID(), pulsarwire.Earliest},
		{pulsar.NewMessageID(7, 3, -1, -1), pulsarwire.Position{Ledger: 7, Entry: 3}},
		{pulsar.NewMessageID(7, 0, 4, -1), pulsarwire.Position{Ledger: 7, Entry: 0}},
	} {
		if got := wirePosition(c.id); got != c.want {
			t.Errorf("wirePosition(%v) = %v, want %v", c.id, got, c.want)
		}
	}
}

// Both readers' messages give the same entry, batch index and batch size.
func TestPlaceAndBatchOfBothReaders(t *testing.T) {
	w := wireMessage{&pulsarwire.Received{Pos: pulsarwire.Position{Ledger: 7, Entry: 3}, BatchIdx: 2, BatchSize: 3}}
	c := msgAt(7, 3, 9)
	for _, m := range []struct {
		name      string
		msg       message
		ek        entryKey
		b         int64
		idx, size int32
	}{
		{"wire", w, entryKey{7, 3}, 2, 2, 3},
		{"pulsar-client-go, no batch index", c, entryKey{7, 3}, 0, -1, 0},
	} {
		ek, b := place(m.msg)
		idx, size := batchOf(m.msg)
		if ek != m.ek || b != m.b || idx != m.idx || size != m.size {
			t.Errorf("%s: place %v/%d, batchOf %d/%d; want %v/%d, %d/%d", m.name, ek, b, idx, size, m.ek, m.b, m.idx, m.size)
		}
	}
	if id := w.ID(); id.LedgerID() != 7 || id.EntryID() != 3 || id.BatchIdx() != 2 {
		t.Errorf("wire ID %v", id)
	}
}
