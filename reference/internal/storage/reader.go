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

// headReader is a reader that can hand out whole entries' heads, their messages undecoded:
// all the tail needs.
type headReader interface {
	NextHead(context.Context) (*pulsarwire.Head, error)
}

func (w wireReader) NextHead(ctx context.Context) (*pulsarwire.Head, error) { return w.r.NextHead(ctx) }

// sighting is what the tail learns from one message, or from one whole entry when its reader
// reads heads.
type sighting struct {
	ek        entryKey
	first     int64 // the offset of the entry's first message
	last      int64 // the offset of the last message seen
	whole     bool  // last is the entry's last message
	write     uint64
	hasWrite  bool
	published int64 // ms
}

// nextSighting waits for the tail's next message, or entry.
func nextSighting(ctx context.Context, r tailReader) (sighting, error) {
	if hr, ok := r.(headReader); ok {
		h, err := hr.NextHead(ctx)
		if err != nil {
			return sighting{}, err
		}
		return sightHead(h)
	}
	msg, err := r.Next(ctx)
	if err != nil {
		return sighting{}, err
	}
	return sightMessage(msg)
}

func sightMessage(msg message) (sighting, error) {
	idx := msg.Index()
	if idx == nil {
		return sighting{}, errNoIndex
	}
	ek, b := place(msg)
	s := sighting{ek: ek, first: int64(*idx) - b, last: int64(*idx), published: publishedAt(msg)}
	s.write, s.hasWrite = writeOf(msg)
	// The entry's last message (a message outside a batch has index -1).
	bi, size := batchOf(msg)
	s.whole = bi < 0 || size > 0 && bi == size-1
	return s, nil
}

func sightHead(h *pulsarwire.Head) (sighting, error) {
	if !h.HasIndex {
		return sighting{}, errNoIndex
	}
	last := int64(h.Index)
	s := sighting{ek: entryKey{h.Pos.Ledger, h.Pos.Entry}, first: last - int64(h.Messages) + 1, last: last, whole: true,
		published: int64(h.Published)}
	if h.BrokerAt != 0 {
		s.published = int64(h.BrokerAt)
	}
	s.write, s.hasWrite = parseWrite(h.Props)
	return s, nil
}
