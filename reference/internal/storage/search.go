package storage

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// searchGap is how far (in offsets) below a fetch offset the nearest known entry may be before
// the partition searches for a closer one instead of reading forward. Reading forward costs one
// message per offset; a search costs a few reader round trips per halving of the entry range.
const searchGap = 4096

// Ledger is one BookKeeper ledger of a partition topic and how many entries it holds, as
// Pulsar's internal stats list them.
type Ledger struct {
	ID      int64
	Entries int64
}

// LedgerLister returns a Pulsar topic's ledgers in order (the admin API's internal stats).
type LedgerLister func(ctx context.Context, topic string) ([]Ledger, error)

// entryList numbers a topic's entries 0..total-1 across its ledgers, so entries can be
// bisected like an array.
type entryList struct {
	ledgers []Ledger
	before  []int64 // entries in the ledgers before ledgers[i]
	total   int64
}

func newEntryList(ls []Ledger) entryList {
	var l entryList
	for _, x := range ls {
		if x.Entries <= 0 {
			continue
		}
		l.ledgers = append(l.ledgers, x)
		l.before = append(l.before, l.total)
		l.total += x.Entries
	}
	return l
}

// at is the position of entry number n (0 <= n < total).
func (l entryList) at(n int64) entryKey {
	i := sort.Search(len(l.before), func(i int) bool { return l.before[i] > n }) - 1
	return entryKey{l.ledgers[i].ID, n - l.before[i]}
}

// number is the entry number of a position, if the list holds it.
func (l entryList) number(ek entryKey) (int64, bool) {
	i := sort.Search(len(l.ledgers), func(i int) bool { return l.ledgers[i].ID >= ek.ledger })
	if i == len(l.ledgers) || l.ledgers[i].ID != ek.ledger || ek.entry < 0 || ek.entry >= l.ledgers[i].Entries {
		return 0, false
	}
	return l.before[i] + ek.entry, true
}

// bisect returns the greatest entry number in [lo, hi) whose first offset is <= target, given
// that entry lo is the answer when no later one qualifies. first reads an entry's first offset.
// It calls first at most ceil(log2(hi-lo)) times.
func bisect(lo, hi, target int64, first func(n int64) (int64, error)) (int64, error) {
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		off, err := first(mid)
		if err != nil {
			return 0, err
		}
		if off <= target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// locate finds an entry at or just below offset by bisecting the topic's entries between the
// nearest known index points, and returns the point to start reading from. Every probed entry
// is learned, so later fetches nearby start from the index directly.
func (p *Partition) locate(ctx context.Context, offset int64) (point, bool, error) {
	if p.store.cfg.Ledgers == nil {
		return point{}, false, nil
	}
	started := time.Now()
	ls, err := p.store.cfg.Ledgers(ctx, p.name)
	if err != nil {
		return point{}, false, fmt.Errorf("listing ledgers of %s: %w", p.name, err)
	}
	entries := newEntryList(ls)
	if entries.total == 0 {
		return point{}, false, nil
	}
	lo, hi := int64(0), entries.total
	p.mu.Lock()
	if pt, ok := p.index.floor(offset); ok {
		if n, ok := entries.number(pt.pos); ok {
			lo = n
		}
	}
	if pt, ok := p.index.ceil(offset); ok {
		if n, ok := entries.number(pt.pos); ok && n > lo {
			hi = n
		}
	}
	p.mu.Unlock()
	probes := 0
	if _, err := bisect(lo, hi, offset, func(n int64) (int64, error) {
		probes++
		return p.firstOffsetAt(ctx, entries.at(n))
	}); err != nil {
		return point{}, false, err
	}
	p.log.Debug("located offset", "offset", offset, "entries", hi-lo, "probes", probes, "took", time.Since(started))
	// The entry found was probed (and so learned) unless it is lo, which the index or the
	// topic's start gave: either way the index's floor is now at or after it.
	p.mu.Lock()
	defer p.mu.Unlock()
	pt, ok := p.index.floor(offset)
	return pt, ok, nil
}

// firstOffsetAt reads the first offset of the entry at ek with a one-message reader and learns
// it. If ek no longer exists the reader starts at the next entry, which is learned instead.
func (p *Partition) firstOffsetAt(ctx context.Context, ek entryKey) (int64, error) {
	_, first, err := p.probeEntry(ctx, ek)
	return first, err
}

// probeEntry reads the first message of the entry at ek (or of the next one, when ek no longer
// exists) with a one-message reader, learns the entry's first offset, and returns its publish
// time (ms) and first offset.
func (p *Partition) probeEntry(ctx context.Context, ek entryKey) (int64, int64, error) {
	c, err := p.openProbe(pulsar.NewMessageID(ek.ledger, ek.entry, -1, -1))
	if err != nil {
		return 0, 0, err
	}
	defer c.r.Close()
	msgp, err := c.peek(ctx, p.store.cfg.OperationTimeout)
	if err != nil {
		return 0, 0, fmt.Errorf("reading entry %d:%d of %s: %w", ek.ledger, ek.entry, p.name, err)
	}
	msg := *msgp
	ek, b := place(msg)
	first := int64(*msg.Index()) - b
	p.mu.Lock()
	p.learnLocked(ek, first)
	p.mu.Unlock()
	return publishedAt(msg), first, nil
}

// publishedAt is when the broker stored a message (ms): its broker publish time (the broker
// entry metadata's, in the broker's clock and order) when Pulsar exposes it, else the
// producer's publish time.
func publishedAt(msg message) int64 {
	if t := msg.BrokerPublishTime(); t != nil {
		return t.UnixMilli()
	}
	return msg.PublishTime().UnixMilli()
}
