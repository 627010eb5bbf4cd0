package group

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kop-conformance/kop-conformance/reference/internal/safe"
)

// Group metadata writes. The state machine changes a group under the coordinator's lock and
// puts the record of the new state in the outbox, which never blocks; one goroutine takes
// everything queued and writes it to the store, in the order it was put. A Pulsar that is slow
// or down therefore delays only the writes, never another group's JoinGroup or Heartbeat.
//
// Order per group: records are put under the coordinator's lock, so the outbox holds them in
// the order the state changed, and the writer keeps that order. A newer metadata record of a
// group replaces one still waiting (only the latest state matters in a compacted topic), which
// also bounds the outbox by the number of groups while Pulsar is away. It replaces only a
// record no later job touches, so a metadata write never moves ahead of a delete.

// writeJob is records to write together; done, if set, gets the outcome.
type writeJob struct {
	recs []record
	done chan error
}

var errClosed = errors.New("group coordinator closed")

type outbox struct {
	mu     sync.Mutex
	jobs   []writeJob
	latest map[string]int // key -> index in jobs of a metadata write no later job touches
	wake   chan struct{}  // one token: the writer has work (or the outbox closed)
	closed bool
}

func newOutbox() outbox {
	return outbox{latest: map[string]int{}, wake: make(chan struct{}, 1)}
}

// put queues a job; it never waits.
func (o *outbox) put(j writeJob) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		if j.done != nil {
			j.done <- errClosed
		}
		return
	}
	replaceable := j.done == nil && len(j.recs) == 1
	if replaceable {
		if i, ok := o.latest[j.recs[0].key]; ok {
			o.jobs[i] = j
			return
		}
	}
	for _, r := range j.recs {
		delete(o.latest, r.key)
	}
	if replaceable {
		o.latest[j.recs[0].key] = len(o.jobs)
	}
	o.jobs = append(o.jobs, j)
	o.signal()
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// take returns every queued job, oldest first, and whether the outbox is closed.
func (o *outbox) take() ([]writeJob, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	jobs := o.jobs
	o.jobs = nil
	clear(o.latest)
	return jobs, o.closed
}

// close lets the writer finish what is queued and stop.
func (o *outbox) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	o.signal()
}

// writeLoop writes what the outbox holds until it is closed and empty.
func (c *Coordinator) writeLoop() {
	defer close(c.writerDone)
	for {
		jobs, closed := c.out.take()
		if len(jobs) == 0 {
			if closed {
				return
			}
			<-c.out.wake
			continue
		}
		c.writeJobs(jobs)
	}
}

// writeJobs writes jobs in one store write (the store keeps their order) and reports the
// outcome to each.
func (c *Coordinator) writeJobs(jobs []writeJob) {
	var recs []record
	for _, j := range jobs {
		recs = append(recs, j.recs...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := safe.Call(func() error { return c.store.write(ctx, recs) })
	if err != nil {
		c.log.Error("persisting group metadata", "records", len(recs), "first_key", recs[0].key, "err", err)
	}
	for _, j := range jobs {
		if j.done != nil {
			j.done <- err
		}
	}
}
