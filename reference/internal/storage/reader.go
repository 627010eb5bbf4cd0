package storage

import (
	"context"
	"math"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/internal/pulsarwire"
)

// reader is what the storage needs of a Pulsar reader: the tail's, a fetch's, a probe's. The
// gateway's own (pulsarwire) serves when the service URL allows it, pulsar-client-go's
// otherwise; tests give fakes.
type reader interface {
	HasNext() bool
	Next(context.Context) (message, error)
	Close()
}

// message is what the storage reads of a Pulsar message; pulsar-client-go's satisfy it.
type message interface {
	ID() pulsar.MessageID
	Index() *uint64
	Properties() map[string]string
	Payload() []byte
	Key() string
	EventTime() time.Time
	PublishTime() time.Time
	BrokerPublishTime() *time.Time
}

// place is a message's entry and its index in the entry's batch (0 for an unbatched one),
// without the allocation of a pulsar.MessageID for the gateway's own reader's messages.
func place(m message) (entryKey, int64) {
	if w, ok := m.(wireMessage); ok {
		return entryKey{w.Pos.Ledger, w.Pos.Entry}, int64(w.BatchIdx)
	}
	id := m.ID()
	return entryKey{id.LedgerID(), id.EntryID()}, max(int64(id.BatchIdx()), 0)
}

// batchOf is a message's index in its entry's batch and the batch's size, as pulsar-client-go
// gives them (-1 and 0 when unknown).
func batchOf(m message) (idx, size int32) {
	if w, ok := m.(wireMessage); ok {
		return w.BatchIdx, w.BatchSize
	}
	id := m.ID()
	return id.BatchIdx(), id.BatchSize()
}

type clientReader struct{ r pulsar.Reader }

func (c clientReader) HasNext() bool { return c.r.HasNext() }
func (c clientReader) Close()        { c.r.Close() }
func (c clientReader) Next(ctx context.Context) (message, error) {
	m, err := c.r.Next(ctx)
	if err != nil {
		return nil, err
	}
	return m, nil
}

type wireReader struct{ r *pulsarwire.Reader }

func (w wireReader) HasNext() bool { return w.r.HasNext() }
func (w wireReader) Close()        { w.r.Close() }
func (w wireReader) Next(ctx context.Context) (message, error) {
	m, err := w.r.Next(ctx)
	if err != nil {
		return nil, err
	}
	return wireMessage{m}, nil
}

type wireMessage struct{ *pulsarwire.Received }

func (m wireMessage) ID() pulsar.MessageID {
	return pulsar.NewMessageID(m.Pos.Ledger, m.Pos.Entry, m.BatchIdx, -1)
}

// wirePosition is the entry a start message id names, or an end of the topic.
func wirePosition(id pulsar.MessageID) pulsarwire.Position {
	switch {
	case id.LedgerID() == math.MaxInt64 && id.EntryID() == math.MaxInt64:
		return pulsarwire.Latest
	case id.LedgerID() < 0:
		return pulsarwire.Earliest
	}
	return pulsarwire.Position{Ledger: id.LedgerID(), Entry: id.EntryID()}
}
