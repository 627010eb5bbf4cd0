package server

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Produces on one connection are pipelined: the next is read and sent to storage while the
// one before waits for its acknowledgement, responses still come in request order, and any
// other request is served only once the produces before it are answered.
func TestProducesArePipelinedAndAnsweredInOrder(t *testing.T) {
	e, gates := heldEnv(t)
	e.threeRecordsFromOne() // offsets 0-2, written through Append: no gate
	c := e.dial()
	a := c.send(produceReq(topic, 0, -1, batchOf("a").encode(t)), 3)
	b := c.send(produceReq(topic, 0, -1, batchOf("b").encode(t)), 3)
	var ga, gb chan struct{}
	for _, g := range []*chan struct{}{&ga, &gb} {
		select {
		case *g = <-gates: // both sent to storage while neither is acknowledged
		case <-time.After(5 * time.Second):
			t.Fatal("the second produce was not begun while the first waited: no pipelining")
		}
	}
	close(gb) // the later one is acknowledged first; its answer must still wait for a's
	expectNoResponse(t, c)
	close(ga)
	if r := produced(c.recv(produceReq(topic, 0, -1, nil), 3, a)); r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Fatalf("first produce: %v at %d, want offset 3", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if r := produced(c.recv(produceReq(topic, 0, -1, nil), 3, b)); r.ErrorCode != 0 || r.BaseOffset != 4 {
		t.Fatalf("second produce: %v at %d, want offset 4", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}

	// Another request waits for the produce before it.
	p := c.send(produceReq(topic, 0, -1, batchOf("c").encode(t)), 3)
	var gc chan struct{}
	select {
	case gc = <-gates:
	case <-time.After(5 * time.Second):
		t.Fatal("produce not begun")
	}
	l := c.send(listOffsetsReq(topic, 0, -1), 1)
	expectNoResponse(t, c)
	close(gc)
	if r := produced(c.recv(produceReq(topic, 0, -1, nil), 3, p)); r.ErrorCode != 0 || r.BaseOffset != 5 {
		t.Fatalf("third produce: %v at %d, want offset 5", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if r := listed(c.recv(listOffsetsReq(topic, 0, -1), 1, l)); r.ErrorCode != 0 || r.Offset != 6 {
		t.Fatalf("list offsets after the produces: %v, offset %d, want 6", kerr.ErrorForCode(r.ErrorCode), r.Offset)
	}
}

// expectNoResponse checks that nothing arrives on c for a while (a response would be out of
// order here).
func expectNoResponse(t *testing.T, c *client) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	defer c.conn.SetReadDeadline(time.Time{})
	if _, err := c.rd.Peek(1); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a response arrived out of order (%v)", err)
	}
}

// heldEnv is an env whose storage acknowledges each batch only once the test closes its gate
// (taken from gates in the order the batches were begun).
func heldEnv(t *testing.T, opts ...envOpt) (*env, chan chan struct{}) {
	gates := make(chan chan struct{}, 8)
	var (
		mu   sync.Mutex
		made []chan struct{}
	)
	e := newEnv(t, append(opts, func(s *setup) {
		s.hooks.held = func() <-chan struct{} {
			g := make(chan struct{})
			mu.Lock()
			made = append(made, g)
			mu.Unlock()
			gates <- g
			return g
		}
	})...)
	t.Cleanup(func() { // a failed test leaves no produce waiting, so the server can stop
		mu.Lock()
		defer mu.Unlock()
		for _, g := range made {
			select {
			case <-g:
			default:
				close(g)
			}
		}
	})
	return e, gates
}

func nextGate(t *testing.T, gates chan chan struct{}, what string) chan struct{} {
	t.Helper()
	select {
	case g := <-gates:
		return g
	case <-time.After(5 * time.Second):
		t.Fatalf("%s was not begun", what)
		return nil
	}
}

// An idempotent producer's next batch is sent while the one before waits; a batch whose
// predecessor's writer failed (ErrChainBroken) waits for the predecessor's outcome and is
// checked again.
func TestIdempotentBatchesArePipelined(t *testing.T) {
	t.Run("in flight together", func(t *testing.T) {
		e, gates := heldEnv(t)
		c := e.dial()
		a := c.send(produceReq(topic, 0, -1, idempotent(0, 0, "a").encode(t)), 3)
		b := c.send(produceReq(topic, 0, -1, idempotent(0, 1, "b").encode(t)), 3)
		ga := nextGate(t, gates, "the first batch")
		gb := nextGate(t, gates, "the second batch while the first waits")
		close(gb)
		close(ga)
		for i, corr := range []int32{a, b} {
			if r := produced(c.recv(produceReq(topic, 0, -1, nil), 3, corr)); r.ErrorCode != 0 || r.BaseOffset != int64(i) {
				t.Fatalf("batch %d: %v at %d", i, kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
			}
		}
		// Both are in the window: their retries are duplicates, answered with their offsets.
		if r := produced(c.do(produceReq(topic, 0, -1, idempotent(0, 1, "b").encode(t)), 3)); r.ErrorCode != 0 || r.BaseOffset != 1 {
			t.Fatalf("retry of the second: %v at %d, want its offset 1", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}
	})
	t.Run("chain broken", func(t *testing.T) {
		e, gates := heldEnv(t, func(s *setup) { s.hooks.refuseChained = true })
		c := e.dial()
		a := c.send(produceReq(topic, 0, -1, idempotent(0, 0, "a").encode(t)), 3)
		ga := nextGate(t, gates, "the first batch")
		b := c.send(produceReq(topic, 0, -1, idempotent(0, 1, "b").encode(t)), 3)
		select {
		case <-gates:
			t.Fatal("a batch was sent after one whose writer failed, before that one settled")
		case <-time.After(200 * time.Millisecond):
		}
		close(ga) // the first is stored after all: the second goes on and follows it
		gb := nextGate(t, gates, "the second batch once the first settled")
		close(gb)
		for i, corr := range []int32{a, b} {
			if r := produced(c.recv(produceReq(topic, 0, -1, nil), 3, corr)); r.ErrorCode != 0 || r.BaseOffset != int64(i) {
				t.Fatalf("batch %d: %v at %d", i, kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
			}
		}
	})
}
