package storage

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

// Append stores records as one Pulsar entry (a Pulsar batch message), so a Kafka batch is
// stored all or nothing, and returns the offset of the first record. The producer batches only
// when told to (no publish delay, no count or byte limit below the entry's), under writeMu, so
// no timer or size limit can cut a Kafka batch in two. prod, when set, is written on the first
// message (propProducer) so the dedupe window can be read back from Pulsar.
//
// An error means Pulsar did not acknowledge the entry; it may still have stored it. Once
// acknowledged, the write is never reported failed: an offset that cannot be learned in time
// is answered as -1.
func (p *Partition) Append(ctx context.Context, recs []records.Record, prod *partition.Producer) (int64, error) {
	defer p.use()()
	if len(recs) == 0 {
		return 0, errors.New("append of no records")
	}
	hide := p.store.cfg.Faults.On(faults.HeadersHidden)
	msgs := make([]*pulsar.ProducerMessage, len(recs))
	size := 0
	for i := range recs {
		msgs[i] = toMessage(&recs[i], hide)
		size += entrySize(msgs[i])
	}
	if msgs[0].Properties == nil {
		msgs[0].Properties = map[string]string{}
	}
	writeID := randomWriteID()
	msgs[0].Properties[propWrite] = strconv.FormatUint(writeID, 16)
	size += len(propWrite) + 16 + 8
	if prod != nil {
		v := encodeProducer(prod)
		msgs[0].Properties[propProducer] = v
		size += len(propProducer) + len(v) + 8
	}
	if size > p.store.cfg.MaxEntryBytes {
		return 0, fmt.Errorf("%w: %d records take about %d bytes as one Pulsar entry, over %d", partition.ErrBatchTooLarge, len(recs), size, p.store.cfg.MaxEntryBytes)
	}
	if err := p.waitReady(ctx); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// From here the batch is sent whole: the request giving up must not cut it (a message
	// refused for a cancelled context would leave the ones before it to be stored alone).
	// Pulsar's answer is awaited for at most the operation timeout.
	send, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.store.cfg.OperationTimeout)
	defer cancel()
	p.writeMu.Lock()
	if p.producer != nil && p.producerCap < len(msgs) {
		// The producer counts pending messages, not entries: one sized for smaller batches
		// would wait forever for room that only this batch's flush could make.
		go p.producer.Close()
		p.producer = nil
	}
	if p.producer == nil {
		capacity := pendingCapacity(len(msgs))
		prod, err := p.store.client.CreateProducer(pulsar.ProducerOptions{
			Topic:                   p.name,
			BatchingMaxMessages:     math.MaxInt32,
			BatchingMaxSize:         math.MaxInt32,
			BatchingMaxPublishDelay: 24 * time.Hour, // flushed explicitly, once per Kafka batch
			MaxPendingMessages:      capacity,
			SendTimeout:             p.store.cfg.OperationTimeout,
		})
		if err != nil {
			p.writeMu.Unlock()
			return 0, fmt.Errorf("producer for %s: %w", p.name, err)
		}
		p.producer, p.producerCap = prod, capacity
	}
	producer := p.producer
	began := time.Now()
	var (
		wg      sync.WaitGroup
		ids     = make([]pulsar.MessageID, len(msgs))
		sendErr error
		errMu   sync.Mutex
	)
	wg.Add(len(msgs))
	for i, m := range msgs {
		producer.SendAsync(send, m, func(id pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			errMu.Lock()
			if err != nil && sendErr == nil {
				sendErr = err
			}
			ids[i] = id
			errMu.Unlock()
			wg.Done()
		})
	}
	flushErr := producer.FlushWithCtx(send)
	wg.Wait()
	if sendErr != nil || flushErr != nil {
		// Pulsar may yet store what it did not acknowledge. Closing the producer stops it
		// resending that after a reconnect; the next write gets a fresh one.
		p.producer = nil
		go producer.Close()
	}
	p.writeMu.Unlock()
	if sendErr != nil {
		return 0, fmt.Errorf("writing to %s: %w", p.name, sendErr)
	}
	if flushErr != nil {
		return 0, fmt.Errorf("flushing %s: %w", p.name, flushErr)
	}
	acked := time.Now()
	p.stage("write", acked.Sub(began))
	defer func() { p.stage("offset", time.Since(acked)) }()
	// Acknowledged: learn the offset even if the request gave up meanwhile.
	lookup, stop := context.WithTimeout(context.WithoutCancel(ctx), p.store.cfg.OperationTimeout)
	defer stop()
	first := ids[0]
	if first == nil || first.LedgerID() < 0 {
		// Pulsar's deduplication recognised a resent entry: it is stored, at a position the
		// answer does not say. The tail finds it by its write id.
		base, err := p.offsetOfWrite(lookup, writeID)
		if err != nil {
			p.log.Warn("write acknowledged without a position and not found; answering -1", "err", err)
			return -1, nil
		}
		return base, nil
	}
	for _, id := range ids[1:] {
		if id == nil || id.LedgerID() != first.LedgerID() || id.EntryID() != first.EntryID() {
			p.log.Error("a Kafka batch was stored in more than one Pulsar entry", "records", len(recs), "first", first, "other", id)
			break
		}
	}
	if base, ok := p.predict(first, len(recs)); ok {
		return base, nil
	}
	base, err := p.offsetOf(lookup, first)
	if err != nil {
		p.log.Warn("write acknowledged but its offset is unknown; answering -1", "err", err)
		return -1, nil
	}
	p.advanceTip(entryKey{first.LedgerID(), first.EntryID()}, base+int64(len(recs)))
	return base, nil
}

func (p *Partition) stage(name string, d time.Duration) {
	if f := p.store.cfg.Stage; f != nil {
		f(name, d)
	}
}

// pendingCapacity is how many pending messages a partition's producer is made for: its
// queues take about 24 bytes per message up front, so it starts small and grows (to the next
// power of two) only for a partition that is sent larger batches.
func pendingCapacity(records int) int {
	c := 1024
	for c < records {
		c *= 2
	}
	return c
}

// entrySize is about what a message takes in a Pulsar batch entry: its payload, key and
// properties and the fields of its per-message metadata, rounded up.
func entrySize(m *pulsar.ProducerMessage) int {
	n := len(m.Payload) + len(m.Key) + 40
	for k, v := range m.Properties {
		n += len(k) + len(v) + 8
	}
	return n
}

// offsetOf waits until the tail reader has seen the entry holding id and returns id's offset.
func (p *Partition) offsetOf(ctx context.Context, id pulsar.MessageID) (int64, error) {
	ek := entryKey{id.LedgerID(), id.EntryID()}
	b := int64(id.BatchIdx())
	if b < 0 {
		b = 0
	}
	p.mu.Lock()
	if first, ok := p.entries.Get(ek); ok {
		p.mu.Unlock()
		return first + b, nil
	}
	if ek.less(p.lastSeen) {
		// Seen and already forgotten (many entries since): read the index back from Pulsar.
		p.mu.Unlock()
		return p.readOffsetAt(ctx, id)
	}
	w := make(chan struct{})
	p.waiters[ek] = append(p.waiters[ek], w)
	p.mu.Unlock()
	select {
	case <-w:
	case <-ctx.Done():
		return 0, fmt.Errorf("waiting for the offset of %v on %s: %w", id, p.name, ctx.Err())
	}
	p.mu.Lock()
	first, ok := p.entries.Get(ek)
	p.mu.Unlock()
	if !ok {
		return p.readOffsetAt(ctx, id)
	}
	return first + b, nil
}

func (p *Partition) readOffsetAt(ctx context.Context, id pulsar.MessageID) (int64, error) {
	c, err := p.openProbe(id)
	if err != nil {
		return 0, err
	}
	defer c.r.Close()
	msg, err := c.peek(ctx, p.store.cfg.OperationTimeout)
	if err != nil {
		return 0, err
	}
	return int64(*(*msg).Index()), nil
}

// offsetOfWrite waits until the tail has seen the batch with write id w and returns its first
// offset. The batch was stored before Pulsar acknowledged it, so the tail has seen it recently
// or will.
func (p *Partition) offsetOfWrite(ctx context.Context, w uint64) (int64, error) {
	p.mu.Lock()
	if first, ok := p.writes.Get(w); ok {
		p.mu.Unlock()
		return first, nil
	}
	if p.writeWaiters == nil {
		p.writeWaiters = map[uint64][]chan struct{}{}
	}
	ch := make(chan struct{})
	p.writeWaiters[w] = append(p.writeWaiters[w], ch)
	p.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.writeWaiters, w)
		p.mu.Unlock()
		return 0, fmt.Errorf("waiting for write %x on %s: %w", w, p.name, ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	first, ok := p.writes.Get(w)
	if !ok {
		return 0, fmt.Errorf("write %x on %s seen and forgotten", w, p.name)
	}
	return first, nil
}

func randomWriteID() uint64 {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return binary.BigEndian.Uint64(b[:])
}
