package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// OffsetForTimestamp returns the first offset whose record timestamp is >= ts and that
// record's timestamp, or (-1, -1) when no record is that late. Pulsar positions a reader by
// publish time (its own time index); reading forward from there finds the first record whose
// Kafka timestamp qualifies, so only the records published since ts are read.
func (p *Partition) OffsetForTimestamp(ctx context.Context, ts int64) (int64, int64, error) {
	hwm, err := p.HighWatermark(ctx)
	if err != nil {
		return 0, 0, err
	}
	p.mu.Lock()
	last := p.lastPublish
	p.mu.Unlock()
	if hwm == 0 || last < ts {
		return -1, -1, nil // nothing was published at or after ts
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
		if rec.Timestamp >= ts {
			return rec.Offset, rec.Timestamp, nil
		}
		if rec.Offset+1 >= hwm {
			return -1, -1, nil
		}
	}
}
