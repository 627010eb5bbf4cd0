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
	"github.com/kop-conformance/kop-conformance/reference/internal/pulsarwire"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

// Append stores records as one Pulsar entry (a Pulsar batch message), so a Kafka batch is
// stored all or nothing, and returns the offset of the first record: Begin, then its wait.
//
// An error means Pulsar did not acknowledge the entry; it may still have stored it. Once
// acknowledged, the write is never reported failed: an offset that cannot be learned in time
// is answered as -1.
func (p *Partition) Append(ctx context.Context, recs []records.Record, prod *partition.Producer) (int64, error) {
	wait, _, err := p.Begin(ctx, partition.Write{Records: recs, Producer: prod})
	if err != nil {
		return 0, err
	}
	return wait()
}

// Begin sends records as one entry and returns once they are on their way; wait gives
// Append's outcome. Entries begun one after another on a partition are stored in that order,
// many in flight at once (pulsarwire). An error from Begin itself means nothing was sent.
// prod, when set, is written on the first message (propProducer) so the dedupe window can be
// read back from Pulsar.
func (p *Partition) Begin(ctx context.Context, w partition.Write) (partition.Wait, partition.Chain, error) {
	if w.After == partition.Broken {
		return nil, 0, fmt.Errorf("writing to %s: %w", p.name, partition.ErrChainBroken)
	}
	if p.store.wire == nil {
		// Settled before it returns: whatever came before is settled too.
		base, err := p.appendOne(ctx, w.Records, w.Producer)
		if err != nil && !errors.Is(err, errSent) {
			return nil, 0, err
		}
		chain := partition.Chain(0)
		if err != nil {
			chain = partition.Broken // in doubt: what follows it waits for its outcome
		}
		return func() (int64, error) { return base, err }, chain, nil
	}
	used := p.use()
	wait, chain, err := p.begin(ctx, w, used)
	if err != nil {
		used()
	}
	return wait, chain, err
}

// errSent marks an error after the entry was sent (its outcome is in doubt).
var errSent = errors.New("outcome in doubt")

// messages maps recs to Pulsar messages for pulsar-client-go's producer, the first carrying
// the write id (and prod), and checks that they fit one entry.
func (p *Partition) messages(recs []records.Record, prod *partition.Producer) (msgs []*pulsar.ProducerMessage, writeID uint64, err error) {
	msgs = make([]*pulsar.ProducerMessage, 0, len(recs))
	writeID, err = p.build(recs, prod, func(m *pulsarwire.Message) {
		msgs = append(msgs, producerMessage(*m))
	})
	return msgs, writeID, err
}

// entry builds recs as one batch entry for the pipelined producer, tagged with its write id
// (which the tail reads without decoding the messages).
func (p *Partition) entry(recs []records.Record, prod *partition.Producer) (*pulsarwire.Entry, uint64, error) {
	guess := 64
	for i := range recs {
		guess += len(recs[i].Value) + len(recs[i].Key) + 16
	}
	e := pulsarwire.NewEntry(guess)
	writeID, err := p.build(recs, prod, e.Add)
	if err != nil {
		return nil, 0, err
	}
	e.Tag(propWrite, strconv.FormatUint(writeID, 16))
	return e, writeID, nil
}

// build maps recs to Pulsar messages, handing each to add (which may keep it, but not its
// properties' slice, reused for the next); the first carries a new write id, returned, and
// prod. It checks that they fit one entry.
func (p *Partition) build(recs []records.Record, prod *partition.Producer, add func(*pulsarwire.Message)) (writeID uint64, err error) {
	if len(recs) == 0 {
		return 0, errors.New("append of no records")
	}
	hide := p.store.cfg.Faults.On(faults.HeadersHidden)
	writeID = randomWriteID()
	size := 0
	var props []pulsarwire.Property
	for i := range recs {
		m := toWire(&recs[i], hide, props[:0])
		if i == 0 {
			m.Properties = append(m.Properties, pulsarwire.Property{Key: propWrite, Value: strconv.FormatUint(writeID, 16)})
			if prod != nil {
				m.Properties = append(m.Properties, pulsarwire.Property{Key: propProducer, Value: encodeProducer(prod)})
			}
		}
		size += messageSize(&m)
		props = m.Properties
		add(&m)
	}
	if size > p.store.cfg.MaxEntryBytes {
		return 0, fmt.Errorf("%w: %d records take about %d bytes as one Pulsar entry, over %d", partition.ErrBatchTooLarge, len(recs), size, p.store.cfg.MaxEntryBytes)
	}
	return writeID, nil
}

// outcome is what Pulsar answered for an entry, and its offset when known from the tip.
type outcome struct {
	ledger, entry int64
	base          int64
	known         bool
	err           error
}

func (p *Partition) begin(ctx context.Context, wr partition.Write, used func()) (partition.Wait, partition.Chain, error) {
	recs, after := wr.Records, wr.After
	entry, writeID, err := p.entry(recs, wr.Producer)
	if err != nil {
		return nil, 0, err
	}
	if wr.Compress {
		entry.Compress()
	}
	if err := p.waitReady(ctx); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	n := len(recs)
	ch := make(chan outcome, 1)
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, 0, fmt.Errorf("partition %s closed", p.name)
	}
	w := p.wire
	if w != nil && w.Err() != nil {
		w, p.wire = nil, nil
	}
	if after != 0 && (w == nil || p.chain != after) {
		// The batch before this one went with a producer that has failed: it may not be
		// stored, so this one must not be sent on another.
		return nil, 0, fmt.Errorf("writing to %s: %w", p.name, partition.ErrChainBroken)
	}
	if w == nil {
		// Bounded by the request too: the connection waits for this.
		cctx, cancel := context.WithTimeout(ctx, p.store.cfg.OperationTimeout)
		w, err = p.store.wire.Producer(cctx, p.name)
		cancel()
		if err != nil {
			return nil, 0, fmt.Errorf("producer for %s: %w", p.name, err)
		}
		p.wire = w
		p.chain = partition.Chain(p.store.chains.Add(1)) // never reused, even by a new Partition
	}
	chain := p.chain
	began := time.Now()
	err = w.Send(entry, func(ledger, e int64, err error) {
		o := outcome{ledger: ledger, entry: e, err: err}
		if err == nil && ledger >= 0 {
			// Receipts come in order, so each entry's offset follows from the one before.
			o.base, o.known = p.predict(pulsar.NewMessageID(ledger, e, 0, -1), n)
		}
		ch <- o
	})
	if errors.Is(err, pulsarwire.ErrTooLarge) {
		return nil, 0, fmt.Errorf("%w: %w", partition.ErrBatchTooLarge, err)
	} else if err != nil {
		return nil, 0, err
	}
	return func() (int64, error) {
		defer used()
		// The producer answers within its timeout (it fails what waits longer); this bound
		// only guards against a defect there.
		guard := time.NewTimer(2*p.store.cfg.OperationTimeout + 5*time.Second)
		defer guard.Stop()
		var o outcome
		select {
		case o = <-ch:
		case <-guard.C:
			w.Close()
			o.err = errors.New("no outcome from the producer")
		}
		if o.err != nil {
			return 0, fmt.Errorf("writing to %s: %w: %w", p.name, errSent, o.err)
		}
		acked := time.Now()
		p.stage("write", acked.Sub(began))
		defer func() { p.stage("offset", time.Since(acked)) }()
		if o.known {
			return o.base, nil
		}
		return p.offsetAfterAck(ctx, pulsar.NewMessageID(o.ledger, o.entry, 0, -1), n, writeID), nil
	}, chain, nil
}

// offsetAfterAck learns the offset of an acknowledged entry (first is its first message)
// from the tail: -1 when it cannot in time.
func (p *Partition) offsetAfterAck(ctx context.Context, first pulsar.MessageID, n int, writeID uint64) int64 {
	lookup, stop := context.WithTimeout(context.WithoutCancel(ctx), p.store.cfg.OperationTimeout)
	defer stop()
	if first == nil || first.LedgerID() < 0 {
		// Pulsar's deduplication recognised a resent entry: it is stored, at a position the
		// answer does not say. The tail finds it by its write id.
		base, err := p.offsetOfWrite(lookup, writeID)
		if err != nil {
			p.log.Warn("write acknowledged without a position and not found; answering -1", "err", err)
			return -1
		}
		return base
	}
	base, err := p.offsetOf(lookup, first)
	if err != nil {
		p.log.Warn("write acknowledged but its offset is unknown; answering -1", "err", err)
		return -1
	}
	p.advanceTip(entryKey{first.LedgerID(), first.EntryID()}, base+int64(n))
	return base
}

// appendOne is Append through pulsar-client-go's producer: one entry in flight per
// partition, since its batches close only when flushed and a flush waits for the
// acknowledgement. The producer batches only when told to (no publish delay, no count or byte
// limit below the entry's), under writeMu, so no timer or size limit can cut a Kafka batch in
// two. An error after the entry was sent wraps errSent.
func (p *Partition) appendOne(ctx context.Context, recs []records.Record, prod *partition.Producer) (int64, error) {
	defer p.use()()
	msgs, writeID, err := p.messages(recs, prod)
	if err != nil {
		return 0, err
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
		return 0, fmt.Errorf("writing to %s: %w: %w", p.name, errSent, sendErr)
	}
	if flushErr != nil {
		return 0, fmt.Errorf("flushing %s: %w: %w", p.name, errSent, flushErr)
	}
	acked := time.Now()
	p.stage("write", acked.Sub(began))
	defer func() { p.stage("offset", time.Since(acked)) }()
	first := ids[0]
	if first != nil && first.LedgerID() >= 0 {
		for _, id := range ids[1:] {
			if id == nil || id.LedgerID() != first.LedgerID() || id.EntryID() != first.EntryID() {
				p.log.Error("a Kafka batch was stored in more than one Pulsar entry", "records", len(recs), "first", first, "other", id)
				break
			}
		}
		if base, ok := p.predict(first, len(recs)); ok {
			return base, nil
		}
	}
	return p.offsetAfterAck(ctx, first, len(recs), writeID), nil
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

// messageSize is about what a message takes in a Pulsar batch entry: its payload, key and
// properties, with room for their framing.
func messageSize(m *pulsarwire.Message) int {
	n := len(m.Payload) + len(m.Key) + 40
	for _, p := range m.Properties {
		n += len(p.Key) + len(p.Value) + 8
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
