package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

// cursor is a fetch reader with the offset it will return next, kept for sequential reads.
type cursor struct {
	r       reader
	next    int64    // offset of the next record this cursor returns
	pending *message // read but not yet returned (did not fit the last response)
}

// Read returns records from offset on, up to maxBytes, but always at least one record when any
// is available (KIP-74). It never waits for new data: callers long-poll with Changed.
func (p *Partition) Read(ctx context.Context, offset int64, maxBytes int) ([]partition.Batch, error) {
	defer p.use()()
	hwm, err := p.HighWatermark(ctx)
	if err != nil {
		return nil, err
	}
	if offset >= hwm {
		return nil, nil
	}
	c, err := p.takeCursor(ctx, offset)
	if err != nil {
		return nil, err
	}
	// One bound for the whole read, not a timer per message.
	ctx, cancel := context.WithTimeout(ctx, p.store.cfg.OperationTimeout)
	defer cancel()
	var (
		out      []partition.Batch
		size     int
		entry    entryKey
		want     = offset // the offset the next record must have: offsets have no gaps
		reopened bool
	)
	for c.next < hwm {
		msgp, err := c.peek(ctx, p.store.cfg.OperationTimeout)
		if err != nil {
			c.r.Close()
			if len(out) > 0 {
				return out, nil // progress, whatever stopped the rest (the read's bound, say)
			}
			return nil, err
		}
		msg := *msgp
		rec, err := fromMessage(msg)
		if err != nil {
			c.r.Close()
			return nil, err
		}
		if rec.Offset < want {
			c.pending = nil // before the requested offset (mid-entry start): skip
			continue
		}
		if rec.Offset > want && !reopened && !p.knownGap(want, rec.Offset) {
			// A jump: either the reader passed records by (a Pulsar reader that reconnected can
			// resume after messages it had prefetched) or the log has a gap there (Pulsar's index
			// can skip numbers, as a Kafka log can). Serve what came before it, or read once
			// more with a fresh reader: if that one jumps too, the gap is in the log.
			c.r.Close()
			if len(out) > 0 {
				return out, nil
			}
			reopened = true
			if c, err = p.openNear(ctx, want); err != nil {
				return nil, err
			}
			continue
		}
		if rec.Offset > want {
			p.learnGap(want, rec.Offset)
		}
		want = rec.Offset + 1
		rs := rec.Size()
		if size > 0 && size+rs > maxBytes {
			break
		}
		c.pending = nil
		c.next = rec.Offset + 1
		size += rs
		ek, b := place(msg)
		if len(out) == 0 || ek != entry {
			out = append(out, partition.Batch{Producer: producerOf(msg)})
			entry = ek
			p.mu.Lock()
			p.learnLocked(ek, rec.Offset-b)
			p.mu.Unlock()
		}
		out[len(out)-1].Records = append(out[len(out)-1].Records, rec)
	}
	p.putCursor(c)
	return out, nil
}

// peek returns the cursor's next message without consuming it.
func (c *cursor) peek(ctx context.Context, timeout time.Duration) (*message, error) {
	if c.pending != nil {
		return c.pending, nil
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > timeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	msg, err := c.r.Next(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if msg.Index() == nil {
		return nil, errNoIndex
	}
	c.pending = &msg
	return c.pending, nil
}

// takeCursor returns an idle cursor positioned at offset, or opens one near it.
func (p *Partition) takeCursor(ctx context.Context, offset int64) (*cursor, error) {
	p.mu.Lock()
	for i, c := range p.idle {
		if c.next == offset {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			p.mu.Unlock()
			return c, nil
		}
	}
	p.mu.Unlock()
	return p.openNear(ctx, offset)
}

// openNear opens a reader at the known entry nearest below offset (searching for one when the
// nearest is far), or at the topic's start.
func (p *Partition) openNear(ctx context.Context, offset int64) (*cursor, error) {
	p.mu.Lock()
	pt, ok := p.index.floor(offset)
	ls := p.firstStored // where a reader from the earliest message starts
	p.mu.Unlock()
	near := ok && offset-pt.offset <= searchGap || !ok && ls >= 0 && offset-ls <= searchGap
	if !near {
		// The nearest known entry is far below (or unknown, e.g. after a restart): bisect the
		// topic's entries rather than read every record in between.
		found, fok, err := p.locate(ctx, offset)
		if err != nil {
			p.log.Warn("offset search failed; reading forward from the nearest known entry", "offset", offset, "err", err)
		} else if fok {
			pt, ok = found, true
		}
	}
	start := pulsar.EarliestMessageID()
	next := ls
	if ok {
		start = pulsar.NewMessageID(pt.pos.ledger, pt.pos.entry, -1, -1)
		next = pt.offset
	}
	return p.openCursor(ctx, start, next)
}

// openCursor opens a reader for sequential fetches (it prefetches up to 500 entries, within
// its bytes: pulsarwire.Reader).
func (p *Partition) openCursor(ctx context.Context, start pulsar.MessageID, next int64) (*cursor, error) {
	return p.openReader(start, next, 500)
}

// openProbe opens a reader that wants one entry: it prefetches no more than that, which
// matters when records are megabytes.
func (p *Partition) openProbe(start pulsar.MessageID) (*cursor, error) {
	return p.openReader(start, 0, 1)
}

func (p *Partition) openReader(start pulsar.MessageID, next int64, queue int) (*cursor, error) {
	r, err := p.store.newReader(p.name, start, queue)
	if err != nil {
		return nil, fmt.Errorf("reader on %s: %w", p.name, err)
	}
	return &cursor{r: r, next: next}, nil
}

// putCursor keeps a cursor for reuse, closing the oldest when too many are idle.
func (p *Partition) putCursor(c *cursor) {
	p.mu.Lock()
	if p.closed || p.parked {
		p.mu.Unlock()
		c.r.Close()
		return
	}
	p.idle = append(p.idle, c)
	var drop *cursor
	if len(p.idle) > idleCursors {
		drop = p.idle[0]
		p.idle = p.idle[1:]
	}
	p.mu.Unlock()
	if drop != nil {
		drop.r.Close()
	}
}

// knownGap says whether the log is known to hold no offsets from `from` up to `to`.
func (p *Partition) knownGap(from, to int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	end, ok := p.gaps.Get(from)
	return ok && end == to
}

// learnGap remembers that the log has no offsets from `from` up to `to` (a fresh reader
// jumped there), so later reads across it need no second reader.
func (p *Partition) learnGap(from, to int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gaps.Add(from, to)
}
