package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/internal/pulsarwire"
	"github.com/kop-conformance/kop-conformance/reference/internal/recent"
)

const (
	recentEntries = 8192    // entry -> offset memory for produce receipts
	indexPoints   = 1 << 16 // sparse index bound per partition
	idleCursors   = 4       // reusable readers kept per partition
	recentWrites  = 256     // write ids remembered per partition, for resent entries
	recentGaps    = 64      // gaps in the offsets remembered per partition
	recentPredict = 256     // offsets answered from the tip, until the tail confirms them
)

// Partition is one Kafka partition stored in one Pulsar topic.
//
// A tail reader follows the topic from its last message: it learns the high watermark, the
// offset of every new entry (for produce responses and the sparse index) and wakes long-polling
// fetches. Fetches use their own readers, kept for reuse when a consumer reads sequentially.
type Partition struct {
	store *Store
	tp    partition.TP
	name  string
	log   *slog.Logger

	writeMu     sync.Mutex // orders appends; one Kafka batch is sent as a unit
	producer    pulsar.Producer
	producerCap int                  // the pending messages producer has room for
	wire        *pulsarwire.Producer // the pipelined producer, when the store has a wire client
	chain       partition.Chain      // wire's chain: batches sent with it are stored in order

	mu sync.Mutex
	// run is the current tail reader's life; a parked partition's has ended and a new one
	// starts on the next use.
	run *tailRun
	// users counts operations in progress; lastUsed is when the last one began or ended. A
	// partition unused for the store's idle time is parked (park.go).
	users    int
	lastUsed time.Time
	parked   bool
	closed   bool
	hwm      int64
	// seenHWM is the high watermark as far as the tail has seen; hwm runs ahead of it while
	// appends answered from the tip (tip.go) wait to be seen.
	seenHWM int64
	// firstStored is the offset of the first record Pulsar holds, -1 until learned. The log
	// start Kafka sees may be above it (DeleteRecords): see LogStart.
	firstStored int64
	changed     chan struct{}
	entries     *recent.Map[entryKey, int64] // recent entry -> first offset
	lastSeen    entryKey
	seenAny     bool // lastSeen is an entry the tail saw
	// lastPublish is the latest Pulsar publish time seen (ms): a time lookup past it has no
	// answer without asking Pulsar.
	lastPublish int64
	waiters     map[entryKey][]chan struct{}
	// writes maps the write ids of the last batches the tail saw to their first offsets, and
	// writeWaiters are appends waiting for one (see offsetOfWrite).
	writes       *recent.Map[uint64, int64]
	gaps         *recent.Map[int64, int64] // offsets the log skips: first missing -> next present
	writeWaiters map[uint64][]chan struct{}
	index        *sparseIndex
	idle         []*cursor
	// tip is the newest entry whose records' offsets are all known, and tipNext the offset
	// after its last record. Pulsar numbers a ledger's entries, and the messages in them,
	// consecutively, so an acknowledged entry right after the tip in the same ledger starts at
	// tipNext: its append is answered without waiting for the tail to see it (tip.go).
	tip       entryKey
	tipNext   int64
	tipKnown  bool
	predicted *recent.Map[entryKey, int64] // answers given from the tip, until the tail sees them
	// noPredict: an answer from the tip was wrong, so this partition's appends wait for the
	// tail again (it never happened; the check is there so it cannot go unnoticed).
	noPredict bool
}

// tailRun is one life of a partition's tail reader.
type tailRun struct {
	ctx    context.Context
	cancel context.CancelFunc
	ready  chan struct{} // closed once the tail knows the high watermark, or failed
	err    error         // why the tail could not start; set before ready closes
}

func newTailRun() *tailRun {
	ctx, cancel := context.WithCancel(context.Background())
	return &tailRun{ctx: ctx, cancel: cancel, ready: make(chan struct{})}
}

func newPartition(s *Store, tp partition.TP) *Partition {
	p := blankPartition(s, tp)
	p.lastUsed = time.Now()
	go p.runTail(p.run)
	return p
}

// blankPartition is a partition's state before its tail reader starts.
func blankPartition(s *Store, tp partition.TP) *Partition {
	return &Partition{
		store: s, tp: tp, name: s.TopicName(tp),
		log:         s.log.With("topic", tp.Topic, "partition", tp.Partition),
		run:         newTailRun(),
		firstStored: -1,
		changed:     make(chan struct{}),
		entries:     recent.New[entryKey, int64](recentEntries),
		waiters:     map[entryKey][]chan struct{}{},
		writes:      recent.New[uint64, int64](recentWrites),
		gaps:        recent.New[int64, int64](recentGaps),
		index:       newSparseIndex(indexPoints),
	}
}

func (p *Partition) close() {
	p.mu.Lock()
	p.closed = true
	run := p.run
	p.mu.Unlock()
	run.cancel()
	p.writeMu.Lock()
	if p.producer != nil {
		p.producer.Close()
		p.producer = nil
	}
	if p.wire != nil {
		p.wire.Close()
		p.wire = nil
	}
	p.writeMu.Unlock()
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.r.Close()
	}
}

// runTail follows the topic. It starts at the last existing message (inclusive) so the high
// watermark is known without reading the topic from the start. A reader that stops is opened
// again after the last entry it saw, for as long as the partition is open.
func (p *Partition) runTail(run *tailRun) {
	r, err := p.openTail(run.ctx, pulsar.LatestMessageID(), 5)
	if err != nil {
		p.fail(run, err)
		return
	}
	defer func() { r.Close() }()

	has := r.HasNext()
	if has {
		ctx, cancel := context.WithTimeout(run.ctx, p.store.cfg.OperationTimeout)
		var s sighting
		s, err = nextSighting(ctx, r)
		cancel()
		if err == nil {
			p.see(s)
		}
	}
	if err != nil {
		p.fail(run, fmt.Errorf("reading last message of %s: %w", p.name, err))
		return
	}
	close(run.ready)
	stalls := 0 // reopens in a row that read nothing: an entry that cannot be read, say
	for {
		s, err := nextSighting(run.ctx, r)
		if errors.Is(err, errNoIndex) {
			p.log.Error("tail reader", "err", err) // Pulsar's setting, not the reader: go on
			continue
		}
		if err != nil {
			if run.ctx.Err() != nil {
				return
			}
			p.log.Error("tail reader stopped; opening it again", "err", err, "stalls", stalls)
			r.Close()
			if stalls > 0 {
				select { // not a hot loop of reopens
				case <-time.After(time.Duration(min(stalls, 25)) * 200 * time.Millisecond):
				case <-run.ctx.Done():
					r = closedReader{}
					return
				}
			}
			stalls++
			if r, err = p.openTail(run.ctx, p.resumeAt(), -1); err != nil {
				r = closedReader{}
				return // closed meanwhile
			}
			continue
		}
		stalls = 0
		p.see(s)
	}
}

// resumeAt is where a reopened tail starts: the last entry it saw (seen again, harmlessly),
// or the topic's start when it saw none.
func (p *Partition) resumeAt() pulsar.MessageID {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.seenAny {
		return pulsar.EarliestMessageID()
	}
	return pulsar.NewMessageID(p.lastSeen.ledger, p.lastSeen.entry, -1, -1)
}

// openTail opens the tail reader at start, retrying with a growing pause: attempts times, or
// until the partition closes when attempts < 0.
func (p *Partition) openTail(ctx context.Context, start pulsar.MessageID, attempts int) (tailReader, error) {
	for attempt := 0; ; attempt++ {
		r, err := p.store.newTail(p.name, start)
		if err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		p.log.Warn("tail reader create failed; retrying", "err", err, "attempt", attempt)
		if attempts >= 0 && attempt >= attempts {
			return nil, fmt.Errorf("opening %s: %w", p.name, err)
		}
		select {
		case <-time.After(time.Duration(min(attempt+1, 25)) * 200 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tailReader is what the tail needs of a Pulsar reader (tests give it a fake).
type tailReader = reader

type closedReader struct{}

func (closedReader) HasNext() bool                         { return false }
func (closedReader) Next(context.Context) (message, error) { return nil, context.Canceled }
func (closedReader) Close()                                {}

func (p *Partition) fail(run *tailRun, err error) {
	p.mu.Lock()
	run.err = err
	p.mu.Unlock()
	p.log.Error("partition unavailable", "err", err)
	close(run.ready)
}

// observe records what the tail learned from one message.
func (p *Partition) observe(msg message) error {
	s, err := sightMessage(msg)
	if err != nil {
		return err
	}
	p.see(s)
	return nil
}

// see records what the tail learned from one message or entry.
func (p *Partition) see(s sighting) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.learnLocked(s.ek, s.first)
	if s.hasWrite {
		p.writes.Add(s.write, s.first)
		for _, ch := range p.writeWaiters[s.write] {
			close(ch)
		}
		delete(p.writeWaiters, s.write)
	}
	if next := s.last + 1; next > p.seenHWM {
		p.seenHWM = next
	}
	if next := s.last + 1; next > p.hwm {
		p.hwm = next
		close(p.changed)
		p.changed = make(chan struct{})
	}
	if !p.seenAny || p.lastSeen.less(s.ek) {
		p.lastSeen, p.seenAny = s.ek, true
	}
	p.confirmLocked(s)
	if s.published > p.lastPublish {
		p.lastPublish = s.published
	}
}

// learnLocked remembers that entry ek starts at offset first.
func (p *Partition) learnLocked(ek entryKey, first int64) {
	if !p.entries.Add(ek, first) {
		return
	}
	p.index.add(point{offset: first, pos: ek})
	for _, w := range p.waiters[ek] {
		close(w)
	}
	delete(p.waiters, ek)
}

func (p *Partition) waitReady(ctx context.Context) error {
	p.mu.Lock()
	run := p.run
	p.mu.Unlock()
	select {
	case <-run.ready: // ready wins over a context that ended meanwhile
	default:
		select {
		case <-run.ready:
		case <-ctx.Done():
			return fmt.Errorf("partition %s not ready: %w", p.name, ctx.Err())
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return run.err
}

// HighWatermark is the offset the next record will get.
func (p *Partition) HighWatermark(ctx context.Context) (int64, error) {
	defer p.use()()
	if err := p.waitReady(ctx); err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hwm, nil
}

// Changed returns a channel closed when the high watermark next advances. Take it before
// reading the high watermark so no advance is missed.
func (p *Partition) Changed() <-chan struct{} {
	p.use()() // a parked partition opens again, so the change will be seen
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// LogStart is Kafka's log start offset: the first offset that can be read. It is the larger of
// the first offset Pulsar holds and the offset DeleteRecords deleted the records up to (a
// lookup in the log start table, kept current from Pulsar), and never above the high
// watermark. Fetch, ListOffsets, Produce and DeleteRecords all read it here.
func (p *Partition) LogStart(ctx context.Context) (int64, error) {
	defer p.use()()
	hwm, err := p.HighWatermark(ctx)
	if err != nil {
		return 0, err
	}
	first, err := p.firstStoredOffset(ctx, hwm)
	if err != nil {
		return 0, err
	}
	return logStartOf(first, p.store.deletedTo(p.tp), hwm), nil
}

// logStartOf combines the first stored offset and the deleted-up-to offset into the log start.
// Kafka never has a log start above the high watermark; an entry that claims one (left by a
// topic deleted behind the gateway's back and created again) is not believed past it.
func logStartOf(first, deletedTo, hwm int64) int64 {
	ls := max(first, deletedTo)
	if ls > hwm {
		ls = hwm
	}
	return ls
}

// DeleteBefore moves the log start up to offset (DeleteRecords): records below it are no longer
// served, though Pulsar keeps them until its retention removes them. The caller has checked
// that offset is above the current log start and at most the high watermark. It returns once
// Pulsar acknowledged the new log start and this gateway's table holds it.
func (p *Partition) DeleteBefore(ctx context.Context, offset int64) error {
	defer p.use()()
	ls, err := p.store.logStarts()
	if err != nil {
		return err
	}
	return ls.set(ctx, p.tp, offset)
}

// firstStoredOffset is the offset of the first record Pulsar holds (0 while there is none).
func (p *Partition) firstStoredOffset(ctx context.Context, hwm int64) (int64, error) {
	p.mu.Lock()
	ls := p.firstStored
	p.mu.Unlock()
	if ls >= 0 {
		return ls, nil
	}
	if hwm == 0 {
		return 0, nil
	}
	// Read the first stored message; keep the reader as a cursor since a consumer that asked
	// for the earliest offset usually fetches from it next.
	c, err := p.openCursor(ctx, pulsar.EarliestMessageID(), 0)
	if err != nil {
		return 0, err
	}
	msg, err := c.peek(ctx, p.store.cfg.OperationTimeout)
	if err != nil {
		c.r.Close()
		return 0, err
	}
	off := int64(*(*msg).Index())
	c.next = off
	p.mu.Lock()
	p.firstStored = off
	p.mu.Unlock()
	if p.store.deletedTo(p.tp) > off {
		c.r.Close() // nobody will fetch below the log start
	} else {
		p.putCursor(c)
	}
	return off, nil
}

// failed says whether the partition could not be opened; it then serves nothing.
func (p *Partition) failed() bool {
	p.mu.Lock()
	run := p.run
	p.mu.Unlock()
	select {
	case <-run.ready:
	default:
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return run.err != nil
}
