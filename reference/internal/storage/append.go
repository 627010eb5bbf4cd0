package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

// Append stores records as one Pulsar batch and returns the offset of the first one.
func (p *Partition) Append(ctx context.Context, recs []records.Record) (int64, error) {
	if len(recs) == 0 {
		return 0, errors.New("append of no records")
	}
	if err := p.waitReady(ctx); err != nil {
		return 0, err
	}
	p.writeMu.Lock()
	if p.producer == nil {
		prod, err := p.store.client.CreateProducer(pulsar.ProducerOptions{
			Topic:                   p.name,
			BatchingMaxMessages:     10000,
			BatchingMaxSize:         4 << 20,
			BatchingMaxPublishDelay: 50 * time.Millisecond,
			SendTimeout:             p.store.cfg.OperationTimeout,
		})
		if err != nil {
			p.writeMu.Unlock()
			return 0, fmt.Errorf("producer for %s: %w", p.name, err)
		}
		p.producer = prod
	}
	prod := p.producer
	hide := p.store.cfg.Faults.On(faults.HeadersHidden)
	var (
		wg      sync.WaitGroup
		first   pulsar.MessageID
		sendErr error
		errMu   sync.Mutex
	)
	wg.Add(len(recs))
	for i := range recs {
		i := i
		prod.SendAsync(ctx, toMessage(&recs[i], hide), func(id pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			errMu.Lock()
			if err != nil && sendErr == nil {
				sendErr = err
			}
			if i == 0 {
				first = id
			}
			errMu.Unlock()
			wg.Done()
		})
	}
	flushErr := prod.FlushWithCtx(ctx)
	wg.Wait()
	p.writeMu.Unlock()
	if sendErr != nil {
		return 0, fmt.Errorf("writing to %s: %w", p.name, sendErr)
	}
	if flushErr != nil {
		return 0, fmt.Errorf("flushing %s: %w", p.name, flushErr)
	}
	return p.offsetOf(ctx, first)
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
