package pulsarwire

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
)

// ErrReaderClosed is what Next on a closed reader returns.
var ErrReaderClosed = errors.New("pulsar reader closed")

// Position is an entry of a topic's ledgers.
type Position struct{ Ledger, Entry int64 }

// Earliest and Latest are the ends of a topic, as Pulsar's clients name them.
var (
	Earliest = Position{-1, -1}
	Latest   = Position{math.MaxInt64, math.MaxInt64}
)

func (p Position) before(q Position) bool {
	return p.Ledger < q.Ledger || p.Ledger == q.Ledger && p.Entry < q.Entry
}

// Reader reads one topic in order, from a position on, on a non-durable subscription of its
// own. It hands out each entry's messages decoded in the caller's goroutine; the connection's
// reader only routes frames, never more than the entries asked for, so it never waits for a
// slow reader.
//
// Flow control counts entries. Pulsar's permits count messages, but a broker reads as many
// entries as a consumer has permits (up to a hundred at a time), whatever each holds: a reader
// that gave back the permits of a batch of a hundred messages would be sent up to a hundred
// batches. So the reader keeps the broker's permits (those given less the messages received)
// no higher than the entries it wants in flight, giving back a batch's surplus messages with
// them. It wants its window of entries (4 at first, doubling each time Next finds nothing
// waiting once an entry arrived, up to queue): a reader read fast prefetches more, one opened
// for an entry or two and then left idle (a cursor kept for a fetch that may follow) holds
// little. Bytes bound it too, as well as sizes seen so far tell: no more entries than
// readerBytes buys at their average size, and only one at a time while the client's readers
// together hold over clientBytes unread. Permits given are not taken back, so entries much
// larger than those before them can take a reader past its bytes for a while.
//
// Like the producer it has no reconnect: a lost connection, the broker closing the
// subscription (an unload) or an entry that does not decode ends it, and Next returns why
// once what arrived before is read. The caller opens another after the last message it got.
type Reader struct {
	c     *Client
	cn    *conn
	id    uint64
	topic string
	queue int           // the most entries wanted in flight
	wake  chan struct{} // a frame arrived or the reader ended

	mu       sync.Mutex
	frames   []frame // arrived, not yet read: never more than the entries asked for
	received int     // messages in the frames that arrived, all told
	held     int     // bytes of frames not yet read
	avg      int     // the entries' average size (bytes), 0 before the first
	err      error   // why the reader ended

	// Next's own: one caller at a time.
	batch     []Received
	from      Position // messages of entries before it are dropped (an inclusive start)
	fromBatch int32    // and the messages of entry from before this batch index
	seen      Position // the last entry handed out, or just before the start
	acked     Position // the last entry acknowledged
	window    int      // entries wanted in flight, before the bounds of bytes
	given     int      // permits given, all told
}

// Bounds on what readers hold in entries that arrived and are not yet read (a client's
// defaults).
const (
	readerBytes = 4 << 20
	clientBytes = 64 << 20
)

// firstWindow is the entries a reader wants at first (or its queue, when smaller).
const firstWindow = 4

type frame struct {
	pos  Position
	data []byte // the entry's headers and payload, as the broker sent them
}

// Reader opens a reader on topic (a full persistent:// name) at start, inclusive: the first
// message returned is start's first, or the topic's first (Earliest) or its last message
// (Latest; on an empty topic, the first written after the open). queue is how many entries
// the broker may send ahead.
func (c *Client) Reader(ctx context.Context, topic string, start Position, queue int) (*Reader, error) {
	queue = max(queue, 1)
	r, err := c.subscribe(ctx, topic, start, queue)
	if err != nil || start != Latest {
		return r, err
	}
	// Latest, inclusive: the broker starts after the last entry, so ask which one that is and
	// start again there.
	last, lastBatch, err := r.lastPosition(ctx)
	if err != nil {
		r.Close()
		return nil, err
	}
	if last.Entry < 0 {
		return r, nil // an empty topic
	}
	r.Close()
	if r, err = c.subscribe(ctx, topic, last, queue); err == nil {
		r.fromBatch = lastBatch // as Pulsar's readers: the last message, not its whole batch
	}
	return r, err
}

func (c *Client) subscribe(ctx context.Context, topic string, start Position, queue int) (*Reader, error) {
	cn, err := c.lookup(ctx, topic)
	if err != nil {
		return nil, err
	}
	var name [8]byte
	rand.Read(name[:])
	id, rid := c.ids.Add(1), c.ids.Add(1)
	r := &Reader{c: c, cn: cn, id: id, topic: topic, queue: queue, window: min(queue, firstWindow),
		wake: make(chan struct{}, 1), from: start, seen: Position{start.Ledger, start.Entry - 1}}
	r.given, r.acked = r.window, Earliest
	if start == Latest {
		// Nothing to drop, and nothing read yet: the broker starts after the last entry.
		r.from, r.seen = Earliest, Earliest
	}
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return nil, cn.err
	}
	cn.readers[id] = r // before the request: messages can only follow success
	cn.mu.Unlock()
	body := putString(nil, 1, topic)
	body = putString(body, 2, "kop-reader-"+hex.EncodeToString(name[:]))
	body = putVarint(body, 3, 0) // exclusive
	body = putVarint(body, 4, id)
	body = putVarint(body, 5, rid)
	body = putVarint(body, 8, 0) // not durable
	// The broker starts at start_message_id's entry, as it does for Pulsar's own readers.
	sid := putVarint(nil, 1, uint64(start.Ledger))
	sid = putVarint(sid, 2, uint64(start.Entry))
	body = putBytes(body, 9, sid)
	if start == Earliest {
		body = putVarint(body, 13, 1)
	}
	if _, err := cn.request(ctx, rid, simpleFrame(baseCommand(cmdSubscribe, body))); err != nil {
		r.fail(err)
		return nil, fmt.Errorf("reader on %s: %w", topic, err)
	}
	if err := cn.write(flowFrame(id, r.window)); err != nil {
		r.fail(err)
		return nil, fmt.Errorf("reader on %s: %w", topic, err)
	}
	return r, nil
}

func flowFrame(consumer uint64, permits int) []byte {
	return simpleFrame(baseCommand(cmdFlow, putVarint(putVarint(nil, 1, consumer), 2, uint64(permits))))
}

// lastPosition asks the broker for the topic's last entry (entry -1 when there is none) and
// the batch index of its last message (0 when it gives none).
func (r *Reader) lastPosition(ctx context.Context) (Position, int32, error) {
	rid := r.c.ids.Add(1)
	body := putVarint(putVarint(nil, 1, r.id), 2, rid)
	reply, err := r.cn.request(ctx, rid, simpleFrame(baseCommand(cmdLastMessageID, body)))
	if err != nil {
		return Position{}, 0, fmt.Errorf("last entry of %s: %w", r.topic, err)
	}
	if !reply.body.has(1) {
		return Position{}, 0, fmt.Errorf("last entry of %s: the answer has no message id", r.topic)
	}
	id, err := reply.body.sub(1)
	if err != nil {
		return Position{}, 0, fmt.Errorf("last entry of %s: %w", r.topic, err)
	}
	return Position{int64(id.uint(1)), int64(id.uint(2))}, max(int32(id.uint(4)), 0), nil
}

// HasNext says whether a message is waiting, or the topic has an entry after the last one
// read (asking the broker). A broker that does not answer counts as no.
func (r *Reader) HasNext() bool {
	r.mu.Lock()
	waiting := len(r.frames)
	r.mu.Unlock()
	if len(r.batch) > 0 || waiting > 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cn.timeout)
	defer cancel()
	last, _, err := r.lastPosition(ctx)
	return err == nil && last.Entry >= 0 && r.seen.before(last)
}

// arrived takes a MESSAGE frame from the connection's reader: it must not block.
func (r *Reader) arrived(cmd msg, data []byte) {
	id, err := cmd.sub(2)
	if err == nil && !cmd.has(2) {
		err = errors.New("no message id")
	}
	if err != nil {
		r.fail(fmt.Errorf("message on %s: %w", r.topic, err))
		return
	}
	n := messagesIn(data)
	r.mu.Lock()
	over := len(r.frames) >= r.queue // every entry takes a permit at least
	if !over && r.err == nil {
		r.frames = append(r.frames, frame{pos: Position{int64(id.uint(1)), int64(id.uint(2))}, data: data})
		r.received += n
		r.hold(len(data))
		if r.avg == 0 {
			r.avg = len(data)
		} else {
			r.avg += (len(data) - r.avg) / 8
		}
	}
	r.mu.Unlock()
	if over {
		r.fail(fmt.Errorf("pulsar sent %s more entries than permitted (%d)", r.topic, r.queue))
		return
	}
	r.signal()
}

// signal wakes a Next waiting for a frame or the end (without blocking: one wake-up is kept).
func (r *Reader) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// take returns the oldest frame that arrived, or why the reader ended, or neither.
func (r *Reader) take() (frame, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) == 0 {
		return frame{}, false, r.err
	}
	f := r.frames[0]
	r.frames[0] = frame{}
	r.frames = r.frames[1:]
	r.hold(-len(f.data))
	if len(r.frames) == 0 {
		r.frames = nil // let the array go: an idle reader keeps nothing
	}
	return f, true, nil
}

// Next returns the next message, waiting for one until ctx ends. The message is the
// caller's; its slices share the entry's buffer. A reader is read with Next or with NextHead,
// not both.
func (r *Reader) Next(ctx context.Context) (*Received, error) {
	for len(r.batch) == 0 {
		f, err := r.nextFrame(ctx)
		if err != nil {
			return nil, err
		}
		msgs, _, err := decodeEntry(f.pos, f.data)
		if err != nil {
			return nil, r.failEntry(f.pos, err)
		}
		if !r.settle(f.pos) {
			continue
		}
		if f.pos == r.from && r.fromBatch > 0 {
			for len(msgs) > 0 && msgs[0].BatchIdx < r.fromBatch {
				msgs = msgs[1:]
			}
		}
		r.batch = msgs
	}
	m := &r.batch[0]
	r.batch = r.batch[1:]
	return m, nil
}

// NextHead returns the head of the next entry, its messages left undecoded: what a reader
// that only follows offsets needs, at a fraction of the cost. The entry at a Latest start
// comes whole.
func (r *Reader) NextHead(ctx context.Context) (*Head, error) {
	for {
		f, err := r.nextFrame(ctx)
		if err != nil {
			return nil, err
		}
		h, err := decodeHead(f.pos, f.data)
		if err != nil {
			return nil, r.failEntry(f.pos, err)
		}
		if r.settle(f.pos) {
			return &h, nil
		}
	}
}

// nextFrame returns the oldest frame that arrived, waiting for one until ctx ends; what
// arrived before the reader ended is still returned.
func (r *Reader) nextFrame(ctx context.Context) (frame, error) {
	for {
		r.topUp()
		f, ok, err := r.take()
		if ok {
			return f, nil
		}
		if err != nil {
			return frame{}, err
		}
		if r.Received() > 0 {
			r.window = min(2*r.window, r.queue) // read faster than it arrives: want more
			r.topUp()
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			return frame{}, ctx.Err()
		}
	}
}

// failEntry ends the reader on an entry that does not decode.
func (r *Reader) failEntry(pos Position, err error) error {
	err = fmt.Errorf("entry %d:%d of %s: %w", pos.Ledger, pos.Entry, r.topic, err)
	r.fail(err)
	return err
}

// settle accounts for the entry at pos as read, and says whether it is at or after the start
// (an earlier one is dropped). A reader with a queue asks for the next entries at once, so
// the broker sends them while these are read; a probe (a queue of one) asks for the next only
// when it needs it.
func (r *Reader) settle(pos Position) bool {
	if r.seen.before(pos) {
		r.seen = pos
	}
	if r.queue > 1 {
		r.topUp()
	}
	return !pos.before(r.from)
}

// Received is the messages that arrived, all told.
func (r *Reader) Received() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.received
}

// wanted is the entries the reader wants in flight, for entries of avg bytes.
func (r *Reader) wanted(avg int) int {
	k := r.window
	if avg > 0 {
		k = min(k, max(r.c.readerBytes/avg, 1))
	}
	if r.c.held.Load() > r.c.clientBytes {
		k = 1
	}
	return k
}

// topUp asks the broker for the entries wanted beyond those that arrived, with a cumulative
// acknowledgement of what was read so the subscription does not hold entries it has passed.
func (r *Reader) topUp() {
	r.mu.Lock()
	waiting, received, avg, ended := len(r.frames), r.received, r.avg, r.err != nil
	r.mu.Unlock()
	if ended {
		return
	}
	// The broker has at most given-received permits (less what is on its way): raise them to
	// the entries missing, once half the wanted ones are and that takes as many permits, so a
	// FLOW carries several. With nothing waiting, all are missing and the broker's permits are
	// either not above zero (so it gets at least the wanted entries) or it is sending: neither
	// end waits for the other.
	k := r.wanted(avg)
	missing := k - waiting
	permits := missing - (r.given - received)
	if missing < max(k/2, 1) || permits < max(k/2, 1) {
		return
	}
	r.given += permits
	// Both best effort: a failed write fails the connection, and with it this reader.
	if r.seen.Entry >= 0 && r.acked.before(r.seen) {
		r.acked = r.seen
		ack := putVarint(nil, 1, r.id)
		ack = putVarint(ack, 2, 1) // cumulative
		ack = putBytes(ack, 3, putVarint(putVarint(nil, 1, uint64(r.seen.Ledger)), 2, uint64(r.seen.Entry)))
		r.cn.write(simpleFrame(baseCommand(cmdAck, ack)))
	}
	r.cn.write(flowFrame(r.id, permits))
}

// hold counts n more bytes held unread (n < 0: fewer), with r.mu held.
func (r *Reader) hold(n int) {
	r.held += n
	r.c.held.Add(int64(n))
}

// Err is why the reader ended, or nil.
func (r *Reader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// fail ends the reader: Next returns err once what arrived before is read.
func (r *Reader) fail(err error) {
	r.mu.Lock()
	if r.err != nil {
		r.mu.Unlock()
		return
	}
	r.err = err
	r.mu.Unlock()
	r.signal()
	r.cn.mu.Lock()
	live := r.cn.err == nil && r.cn.readers[r.id] == r
	delete(r.cn.readers, r.id)
	r.cn.mu.Unlock()
	if live {
		// Close the subscription on the broker (best effort; its answer is not waited for).
		body := putVarint(putVarint(nil, 1, r.id), 2, r.c.ids.Add(1))
		go r.cn.write(simpleFrame(baseCommand(cmdCloseConsumer, body)))
	}
}

// Close ends the reader; what it held is let go.
func (r *Reader) Close() {
	r.fail(ErrReaderClosed)
	r.mu.Lock()
	r.frames = nil // nobody will read them
	r.hold(-r.held)
	r.mu.Unlock()
}
