package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/kop-conformance/kop-conformance/bench/report"
	"github.com/kop-conformance/kop-conformance/bench/stats"
)

// tailWait bounds the wait for a fixed-rate round's consumer to receive what was acknowledged.
const tailWait = 10 * time.Second

// tail consumes a fixed-rate round as it is produced and times each record end to end: from
// the time stamped in its value (when it was due) to its arrival.
type tail struct {
	recv    receiver
	timedOn time.Time // records stamped before this are not timed (the settle period)
	cancel  context.CancelFunc
	done    chan struct{}
	n       atomic.Int64
	bytes   atomic.Int64
	e2e     stats.Histogram // written by the tail's goroutine only, read after done
	err     error
}

func startTail(ctx context.Context, recv receiver, timedOn time.Time) *tail {
	ctx, cancel := context.WithCancel(ctx)
	t := &tail{recv: recv, timedOn: timedOn, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		for ctx.Err() == nil {
			err := recv.next(ctx, func(v []byte) {
				if st := stamp(v); !st.Before(t.timedOn) {
					t.e2e.Record(time.Since(st))
				}
				t.n.Add(1)
				t.bytes.Add(int64(len(v)))
			})
			if err != nil && ctx.Err() == nil && t.err == nil {
				t.err = err
			}
		}
	}()
	return t
}

// stop waits until the tail has received want records (at most tailWait), stops it, and
// returns its end-to-end percentiles and the bytes it consumed.
func (t *tail) stop(want int64) (*stats.Percentiles, int64, error) {
	deadline := time.Now().Add(tailWait)
	for t.n.Load() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	t.cancel()
	<-t.done
	t.recv.close()
	var err error
	if got := t.n.Load(); got < want {
		err = fmt.Errorf("the consumer received %d of %d acknowledged records within %s of the last acknowledgement", got, want, tailWait)
	}
	if err == nil {
		err = t.err
	}
	return t.e2e.Percentiles(), t.bytes.Load(), err
}

// catchUp reads back want records from where recv starts, at most for limit, timed from the
// first record received to the last.
func catchUp(ctx context.Context, recv receiver, want int64, limit time.Duration) (*report.CatchUp, error) {
	defer recv.close()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var n, bytes int64
	var first, last time.Time
	var firstErr error
	for n < want && ctx.Err() == nil {
		err := recv.next(ctx, func(v []byte) {
			last = time.Now()
			if n == 0 {
				first = last
			}
			n++
			bytes += int64(len(v))
		})
		if err != nil && ctx.Err() == nil && firstErr == nil {
			firstErr = err
		}
	}
	c := &report.CatchUp{Records: n, Bytes: bytes, Seconds: last.Sub(first).Seconds(), Complete: n >= want}
	if c.Seconds > 0 {
		c.MBps = float64(bytes) / c.Seconds / 1e6
	}
	if n == 0 {
		if firstErr == nil {
			firstErr = fmt.Errorf("nothing read back within %s", limit)
		}
		return nil, firstErr
	}
	return c, nil
}
