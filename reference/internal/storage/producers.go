package storage

import (
	"context"
	"fmt"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

// recoveryReadBytes is how much one read of RecentProducers asks for.
const recoveryReadBytes = 1 << 20

// RecentProducers settles the partition (the tail has seen the last entry Pulsar holds, so a
// write in doubt has either landed or will never land: its producer was closed) and returns
// the idempotent batches among the last n records, oldest first, read back from Pulsar.
func (p *Partition) RecentProducers(ctx context.Context, n int64) ([]partition.ProducerBatch, error) {
	defer p.use()()
	if err := p.settle(ctx); err != nil {
		return nil, err
	}
	hwm, err := p.HighWatermark(ctx)
	if err != nil {
		return nil, err
	}
	ls, err := p.LogStart(ctx)
	if err != nil {
		return nil, err
	}
	var out []partition.ProducerBatch
	for off := max(hwm-n, ls); off < hwm; {
		bs, err := p.Read(ctx, off, recoveryReadBytes)
		if err != nil {
			return nil, fmt.Errorf("reading back the producers of %s: %w", p.name, err)
		}
		if len(bs) == 0 {
			break
		}
		for _, b := range bs {
			if len(b.Records) == 0 {
				continue
			}
			if b.Producer != nil {
				out = append(out, partition.ProducerBatch{Producer: *b.Producer, Base: b.Records[0].Offset})
			}
			off = b.Records[len(b.Records)-1].Offset + 1
		}
	}
	return out, nil
}

// settle waits until the tail reader has seen the last entry Pulsar's admin API says the
// topic holds. Without an admin API (tests) there is nothing to wait for.
func (p *Partition) settle(ctx context.Context) error {
	if p.store.cfg.Ledgers == nil {
		return nil
	}
	if err := p.waitReady(ctx); err != nil {
		return err
	}
	ls, err := p.store.cfg.Ledgers(ctx, p.name)
	if err != nil {
		return fmt.Errorf("last entry of %s: %w", p.name, err)
	}
	last, ok := lastEntry(ls)
	if !ok {
		return nil
	}
	for {
		p.mu.Lock()
		seen := p.seenAny && !p.lastSeen.less(last)
		ch := p.changed
		p.mu.Unlock()
		if seen {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the tail of %s to reach %v: %w", p.name, last, ctx.Err())
		}
	}
}

// lastEntry is the position of a topic's last entry, if it has any.
func lastEntry(ls []Ledger) (entryKey, bool) {
	for i := len(ls) - 1; i >= 0; i-- {
		if ls[i].Entries > 0 {
			return entryKey{ls[i].ID, ls[i].Entries - 1}, true
		}
	}
	return entryKey{}, false
}
