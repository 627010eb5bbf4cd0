package pulsarwire

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrProducerClosed is what sends on a closed producer get.
var ErrProducerClosed = errors.New("pulsar producer closed")

// Done is told an entry's outcome: its position, or an error (the entry is then in doubt:
// Pulsar may have stored it). Position (-1, -1) means Pulsar recognised a resent entry.
type Done func(ledger, entry int64, err error)

// Producer publishes entries to one topic, in the order Send is called.
type Producer struct {
	cn      *conn
	id      uint64
	topic   string
	name    string
	timeout time.Duration

	mu      sync.Mutex // held while an entry is written, so entries leave in order
	seq     uint64
	pending []inflight // oldest first
	err     error      // set once the producer is done
}

type inflight struct {
	seq      uint64
	deadline time.Time
	done     Done
}

// Name is the producer's name, given by the broker.
func (p *Producer) Name() string { return p.name }

// Err is why the producer is done, or nil.
func (p *Producer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// ErrTooLarge is an entry over the broker's max_message_size; nothing was sent.
var ErrTooLarge = errors.New("entry over the broker's max message size")

// Entries in flight are stored in order, and a failure fails every one after it here. The
// broker may still store an entry after one it refused alone (a SendError for a topic policy
// below the connection's max_message_size, say): the callers treat every failure as in doubt
// and read back before trusting what follows.
//
// Send writes e as one entry and returns; e is the producer's from then on (its buffer is
// reused once written). done is called once with the outcome, from the
// connection's reader (or at once when the producer is done): it must not block. An error
// from Send itself (ErrTooLarge) means nothing was sent and done is not called.
func (p *Producer) Send(e *Entry, done Done) error {
	defer e.release() // written or refused: its buffer is reused
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		done(0, 0, err)
		return nil
	}
	seq := p.seq
	meta := e.metadata(p.name, seq, uint64(time.Now().UnixMilli()))
	if len(meta)+len(e.payload) > p.cn.max {
		p.mu.Unlock()
		return fmt.Errorf("%w: %d bytes, the broker takes %d", ErrTooLarge, len(meta)+len(e.payload), p.cn.max)
	}
	p.seq++
	head := payloadHead(sendCommand(p.id, seq, e.n), meta, e.payload)
	p.pending = append(p.pending, inflight{seq: seq, deadline: time.Now().Add(p.timeout), done: done})
	// Frames leave in sequence order (the write lock is taken before the producer's is
	// given up), and a receipt need not wait for the network write.
	p.cn.wmu.Lock()
	p.mu.Unlock()
	err := p.cn.writeHeld(head, e.payload)
	p.cn.wmu.Unlock()
	if err != nil {
		p.fail(fmt.Errorf("writing to %s: %w", p.topic, err))
	}
	return nil
}

// receipt settles the oldest entry; receipts come in order.
func (p *Producer) receipt(seq uint64, ledger, entry int64) {
	p.mu.Lock()
	if len(p.pending) == 0 || p.pending[0].seq != seq {
		want := int64(-1)
		if len(p.pending) > 0 {
			want = int64(p.pending[0].seq)
		}
		p.mu.Unlock()
		if want >= 0 && seq < uint64(want) {
			return // an entry failed already
		}
		p.fail(fmt.Errorf("pulsar acknowledged entry %d of %s, expected %d", seq, p.topic, want))
		return
	}
	in := p.pending[0]
	p.pending[0] = inflight{}
	p.pending = p.pending[1:]
	if len(p.pending) == 0 {
		p.pending = nil // let the backing array go
	}
	p.mu.Unlock()
	in.done(ledger, entry, nil)
}

// expire fails the producer if its oldest entry waited past its deadline.
func (p *Producer) expire(now time.Time) {
	p.mu.Lock()
	late := len(p.pending) > 0 && now.After(p.pending[0].deadline)
	p.mu.Unlock()
	if late {
		p.fail(fmt.Errorf("pulsar did not acknowledge an entry of %s within %v", p.topic, p.timeout))
	}
}

// fail ends the producer: every entry in flight is told err, and later sends fail.
func (p *Producer) fail(err error) {
	p.mu.Lock()
	if p.err != nil {
		p.mu.Unlock()
		return
	}
	p.err = err
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	p.cn.mu.Lock()
	live := p.cn.err == nil && p.cn.producers[p.id] == p
	delete(p.cn.producers, p.id)
	p.cn.mu.Unlock()
	if live {
		// Tell the broker, so nothing more of this producer's is taken (best effort).
		body := putVarint(nil, 1, p.id)
		body = putVarint(body, 2, 0)
		go p.cn.write(simpleFrame(baseCommand(cmdCloseProducer, body)))
	}
	for _, in := range pending {
		in.done(0, 0, err)
	}
}

// Close ends the producer; entries in flight are told ErrProducerClosed (in doubt).
func (p *Producer) Close() { p.fail(ErrProducerClosed) }
