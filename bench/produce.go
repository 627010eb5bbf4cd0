package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kop-conformance/kop-conformance/bench/report"
	"github.com/kop-conformance/kop-conformance/bench/stats"
)

// sender is one producer client (with its own connections): it hands a value to its library
// and reports the record's outcome to done exactly once. The value is the sender's until done.
type sender interface {
	send(ctx context.Context, value []byte, done func(error))
	close()
}

// How long the harness waits for what is already sent, whatever the round's length.
const (
	drainTimeout = 30 * time.Second // the last acknowledgements after sending stops
	primeTimeout = 60 * time.Second // a sender's first record (connections, metadata, producer ids)
	behindGrace  = 2 * time.Second  // a fixed-rate sender this late gives up the rest of its schedule
)

// tally adds up one sender's acknowledgements; one per sender, so callbacks of different
// clients never wait on each other.
type tally struct {
	mu                     sync.Mutex
	records, bytes, failed int64
	last                   time.Time
	publish                stats.Histogram
	err                    error
}

func (t *tally) ack(from time.Time, n int, err error, timed bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.failed++
		if t.err == nil {
			t.err = err
		}
		return
	}
	t.records++
	t.bytes += int64(n)
	if now.After(t.last) {
		t.last = now
	}
	if timed {
		t.publish.Record(now.Sub(from))
	}
}

// produced is what a round's producers achieved.
type produced struct {
	start, last            time.Time // the first send, the last acknowledgement
	records, bytes, failed int64
	behind                 int64 // fixed rate: records left unsent, the path too far behind
	publish                stats.Histogram
	err                    error // the first failure
}

// seconds runs from the first send to the last acknowledgement (to now when none came).
func (p *produced) seconds() float64 {
	end := p.last
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(p.start).Seconds()
}

// producer drives a round's senders.
type producer struct {
	senders  []sender
	window   *window
	values   *payloads
	start    time.Time // the round's clock starts here
	duration time.Duration
	settle   time.Duration // records sent before start+settle are not timed
	rate     int           // records/s over all senders; 0 is as fast as the window allows
	inflight sync.WaitGroup
	tallies  []*tally
}

func (p *producer) run(ctx context.Context) produced {
	p.tallies = make([]*tally, len(p.senders))
	for i := range p.tallies {
		p.tallies[i] = &tally{}
	}
	out := produced{start: p.start}
	if p.rate > 0 {
		out.behind = p.paced(ctx)
	} else {
		p.flat(ctx)
	}
	if !waitTimeout(&p.inflight, drainTimeout) {
		out.err = fmt.Errorf("records still unacknowledged %s after sending stopped", drainTimeout)
	}
	for _, t := range p.tallies {
		t.mu.Lock()
		out.records += t.records
		out.bytes += t.bytes
		out.failed += t.failed
		out.publish.Merge(&t.publish)
		if t.last.After(out.last) {
			out.last = t.last
		}
		if out.err == nil {
			out.err = t.err
		}
		t.mu.Unlock()
	}
	return out
}

// one sends a value stamped from on sender i, once the window has room; false when ctx
// ended first.
func (p *producer) one(ctx, sendCtx context.Context, i int, from time.Time) bool {
	if !p.window.acquire(ctx, p.values.size) {
		return false
	}
	v := p.values.get(from)
	timed := !from.Before(p.start.Add(p.settle))
	t := p.tallies[i]
	p.inflight.Add(1)
	p.senders[i].send(sendCtx, v, func(err error) {
		t.ack(from, len(v), err, timed)
		p.values.put(v)
		p.window.release(p.values.size)
		p.inflight.Done()
	})
	return true
}

// flat is maximum throughput: every sender sends as fast as the shared window lets it until
// the round's time is up; each record is timed from its send. Each sender's first record goes
// whatever the clock says, so a round whose goroutines started late (a starved machine)
// still measures what it sent rather than nothing.
func (p *producer) flat(ctx context.Context) {
	until, cancel := context.WithDeadline(ctx, p.start.Add(p.duration))
	defer cancel()
	var wg sync.WaitGroup
	for i := range p.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !p.one(ctx, ctx, i, time.Now()) {
				return
			}
			for until.Err() == nil && p.one(until, ctx, i, time.Now()) {
			}
		}()
	}
	wg.Wait()
}

// paced is a fixed rate: record k is due at start + k/rate, round-robin over the senders. A
// record is timed from when it was due, or from when the pacer woke up to send it if that
// is later: a stall of the path (a full window) counts, the pacer's own oversleeping does not.
// It returns the records left unsent because the path fell behind by more than behindGrace.
func (p *producer) paced(ctx context.Context) int64 {
	total := int64(p.duration.Seconds() * float64(p.rate))
	until, cancel := context.WithDeadline(ctx, p.start.Add(p.duration+behindGrace))
	defer cancel()
	woke := p.start
	for k := int64(0); k < total; k++ {
		due := p.start.Add(time.Duration(float64(k) * float64(time.Second) / float64(p.rate)))
		if wait := time.Until(due); wait > 0 {
			select {
			case <-until.Done():
				return total - k
			case <-time.After(wait):
			}
			woke = time.Now()
		}
		from := due
		if woke.After(due) {
			from = woke
		}
		if until.Err() != nil || !p.one(until, ctx, int(k%int64(len(p.senders))), from) {
			return total - k
		}
	}
	return 0
}

// prime sends one record on s and waits for it: connections, metadata, producer ids and the
// broker's side of the topic are set up before any clock starts.
func prime(ctx context.Context, s sender, values *payloads) error {
	ctx, cancel := context.WithTimeout(ctx, primeTimeout)
	defer cancel()
	done := make(chan error, 1)
	s.send(ctx, values.get(time.Now()), func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return errors.New("the priming record was not acknowledged within " + primeTimeout.String())
	}
}

// waitTimeout waits for wg, at most d; false when d ran out. The waiting goroutine ends with
// wg, which the clients' close ends at the latest.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// fill puts what the producers achieved into the round.
func (p produced) fill(rd *report.Round) {
	rd.Seconds = p.seconds()
	rd.Records, rd.Bytes, rd.Failed, rd.Behind = p.records, p.bytes, p.failed, p.behind
	if rd.Seconds > 0 {
		rd.MBps = float64(p.bytes) / rd.Seconds / 1e6
		rd.RecordsPerSec = float64(p.records) / rd.Seconds
	}
	rd.Publish = p.publish.Percentiles()
}
