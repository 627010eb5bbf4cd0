package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// OffsetForTimestamp returns the first offset at or after the log start whose record timestamp
// is >= ts and that record's timestamp, or (-1, -1) when no record is that late. Pulsar
// positions a reader by publish time (its own time index); reading forward from there finds the
// first record whose Kafka timestamp qualifies, so only the records published since ts are
// read. Records below the log start (DeleteRecords) are never answered: when the seek lands
// below it the search goes on from the log start itself (positioned like a fetch, not by
// reading the deleted records), as Kafka searches only from its log start.
func (p *Partition) OffsetForTimestamp(ctx context.Context, ts int64) (int64, int64, error) {
	hwm, err := p.HighWatermark(ctx)
	if err != nil {
		return 0, 0, err
	}
	ls, err := p.LogStart(ctx)
	if err != nil {
		return 0, 0, err
	}
	p.mu.Lock()
	last := p.lastPublish
	p.mu.Unlock()
	if hwm == 0 || ls >= hwm || last < ts {
		return -1, -1, nil // nothing readable was published at or after ts
	}
	c, err := p.openCursor(ctx, pulsar.EarliestMessageID(), 0)
	if err != nil {
		return 0, 0, err
	}
	defer c.r.Close()
	if err := c.r.SeekByTime(time.UnixMilli(ts)); err != nil {
		return 0, 0, fmt.Errorf("seek %s by time: %w", p.name, err)
	}
	// A record was published at or after ts (lastPublish), so the seek lands on one and the
	// reader delivers it; no HasNext, which can stall while the reader reconnects after a seek.
	for {
		msg, err := c.peek(ctx, p.store.cfg.OperationTimeout)
		if err != nil {
			return 0, 0, err
		}
		c.pending = nil
		rec, err := fromMessage(*msg)
		if err != nil {
			return 0, 0, err
		}
		if rec.Offset < ls {
			return p.firstAtOrAfter(ctx, ls, ts, hwm)
		}
		if rec.Timestamp >= ts {
			return rec.Offset, rec.Timestamp, nil
		}
		if rec.Offset+1 >= hwm {
			return -1, -1, nil
		}
	}
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
