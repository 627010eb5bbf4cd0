package storage

import (
	"context"
	"fmt"
)

// OffsetForTimestamp returns the first offset at or after the log start whose record timestamp
// is >= ts and that record's timestamp, or (-1, -1) when no record is that late. A record is
// published no earlier than it was created, so the first entry Pulsar published at or after ts
// is where a record that late can start: the topic's entries are bisected by publish time with
// one-message probes (as a fetch far from any known offset is located), then records are read
// forward from there, never from below the log start (DeleteRecords), as Kafka searches only
// from its log start. No reader seek is involved: a seek makes the reader reconnect, and a read
// racing that could stall for the whole operation timeout.
func (p *Partition) OffsetForTimestamp(ctx context.Context, ts int64) (int64, int64, error) {
	defer p.use()()
	hwm, err := p.HighWatermark(ctx)
	if err != nil {
		return 0, 0, err
	}
	ls, err := p.LogStart(ctx)
	if err != nil {
		return 0, 0, err
	}
	if p.nothingAtOrAfter(ts, hwm, ls) {
		return -1, -1, nil
	}
	from, err := p.firstPublishedAtOrAfter(ctx, ts)
	if err != nil {
		return 0, 0, err
	}
	return p.firstAtOrAfter(ctx, max(from, ls), ts, hwm)
}

// nothingAtOrAfter says, without asking Pulsar, that nothing readable was published at or
// after ts. The latest publish time the tail saw says nothing of entries it has not seen yet
// (appends answered from the tip, tip.go).
func (p *Partition) nothingAtOrAfter(ts, hwm, ls int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return hwm == 0 || ls >= hwm || p.seenHWM >= hwm && p.lastPublish < ts
}

// firstPublishedAtOrAfter returns the first offset of the first entry published at or after
// ts (0 when the ledgers cannot be listed: reading then starts at the log start).
func (p *Partition) firstPublishedAtOrAfter(ctx context.Context, ts int64) (int64, error) {
	if p.store.cfg.Ledgers == nil {
		return 0, nil
	}
	ls, err := p.store.cfg.Ledgers(ctx, p.name)
	if err != nil {
		return 0, fmt.Errorf("listing ledgers of %s: %w", p.name, err)
	}
	entries := newEntryList(ls)
	// The first entry whose publish time is >= ts: entries are published in order.
	lo, hi := int64(0), entries.total
	for lo < hi {
		mid := lo + (hi-lo)/2
		pt, _, err := p.probeEntry(ctx, entries.at(mid))
		if err != nil {
			return 0, err
		}
		if pt >= ts {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == entries.total {
		return 0, nil // published before ts entirely; lastPublish said otherwise: read it all
	}
	_, first, err := p.probeEntry(ctx, entries.at(lo))
	return first, err
}

// firstAtOrAfter reads forward from offset (positioned through the sparse index or a search,
// like a fetch) to the first record whose timestamp is >= ts, stopping at hwm.
func (p *Partition) firstAtOrAfter(ctx context.Context, offset, ts, hwm int64) (int64, int64, error) {
	c, err := p.takeCursor(ctx, offset)
	if err != nil {
		return 0, 0, err
	}
	for c.next < hwm {
		msg, err := c.peek(ctx, p.store.cfg.OperationTimeout)
		if err != nil {
			c.r.Close()
			return 0, 0, err
		}
		rec, err := fromMessage(*msg)
		if err != nil {
			c.r.Close()
			return 0, 0, err
		}
		if rec.Offset >= offset && rec.Timestamp >= ts {
			c.next = rec.Offset // the record stays pending: a consumer usually fetches it next
			p.putCursor(c)
			return rec.Offset, rec.Timestamp, nil
		}
		c.pending = nil
		c.next = rec.Offset + 1
	}
	p.putCursor(c)
	return -1, -1, nil
}
