package clients

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Split is how many partitions of topic each member is assigned, and whether together they
// own each of its partitions exactly once.
func Split(members []GroupConsumer, topic string, partitions int32) (sizes []int, exact bool) {
	owners := map[int32]int{}
	for _, m := range members {
		ps := m.Assigned()[topic]
		sizes = append(sizes, len(ps))
		for _, p := range ps {
			owners[p]++
		}
	}
	for p := int32(0); p < partitions; p++ {
		if owners[p] != 1 {
			return sizes, false
		}
	}
	return sizes, true
}

// member is what every adapter's group member shares: the assignment it reports, the cutter
// that makes it vanish, and a Close that stops it once. A member whose client delivers records
// on goroutines of its own (sarama, kafka-go) also runs a loop (start) and hands its records
// to Poll through a feed.
type member struct {
	cut *cutter

	mu       sync.Mutex // guards assigned, and the adapters' own state of the generation
	assigned map[string][]int32

	// leave leaves the group; Close calls it after cancelling the loop, before waiting for it.
	leave     func()
	cancel    context.CancelFunc // nil without a loop
	done      chan struct{}
	closeOnce sync.Once
}

func newMember(cut *cutter) *member {
	return &member{cut: cut, assigned: map[string][]int32{}}
}

// start runs loop on a goroutine of its own until Close cancels its context.
func (m *member) start(loop func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	go func() {
		defer close(m.done)
		loop(ctx)
	}()
}

// Assigned is the current assignment, per topic, sorted.
func (m *member) Assigned() map[string][]int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return assignedCopy(m.assigned)
}

// assign adds the partitions of a (per topic) to the assignment, or removes them.
func (m *member) assign(a map[string][]int32, add bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for topic, ps := range a {
		kept := m.assigned[topic][:0:0]
		for _, p := range m.assigned[topic] {
			if !slices.Contains(ps, p) {
				kept = append(kept, p)
			}
		}
		if add {
			kept = append(kept, ps...)
		}
		m.assigned[topic] = kept
	}
}

// Vanish severs every connection of the member without leaving the group, as a crash would.
func (m *member) Vanish() { m.cut.Cut() }

// Close stops the loop and leaves the group, once.
func (m *member) Close() {
	m.closeOnce.Do(func() {
		if m.cancel != nil {
			m.cancel()
		}
		if m.leave != nil {
			m.leave()
		}
		if m.done != nil {
			<-m.done
		}
	})
}

// feed carries a member's records to Poll, with its errors: a reported error is Poll's answer
// (after the records fetched before it); a noted one is only named when Poll's context ends
// without a record.
type feed struct {
	records chan Record
	errs    chan error

	lastMu sync.Mutex
	last   error
}

func newFeed() *feed { return &feed{records: make(chan Record, 4096), errs: make(chan error, 1)} }

// deliver queues a record for Poll; false when ctx ended first.
func (f *feed) deliver(ctx context.Context, r Record) bool {
	select {
	case f.records <- r:
		return true
	case <-ctx.Done():
		return false
	}
}

// report hands err to Poll. While one error waits, later ones are dropped: the first is the
// cause, and a condition that persists is reported again after the next Poll.
func (f *feed) report(err error) {
	select {
	case f.errs <- err:
	default:
	}
}

// note keeps err as the member's last error (nil forgets it); lastErr returns it.
func (f *feed) note(err error) {
	f.lastMu.Lock()
	defer f.lastMu.Unlock()
	f.last = err
}

func (f *feed) lastErr() error {
	f.lastMu.Lock()
	defer f.lastMu.Unlock()
	return f.last
}

// Poll returns the records queued, waiting for one if there are none, or a reported error.
func (f *feed) Poll(ctx context.Context) ([]Record, error) {
	var first Record
	select {
	case first = <-f.records: // records fetched before an error go out before it
	default:
		select {
		case first = <-f.records:
		case err := <-f.errs:
			return nil, err
		case <-ctx.Done():
			if last := f.lastErr(); last != nil {
				// Both wrapped: the Kafka code of the member's error stays reachable (ErrorCode).
				return nil, fmt.Errorf("%w (last consumer group error: %w)", ctx.Err(), last)
			}
			return nil, ctx.Err()
		}
	}
	out := []Record{first}
	for {
		select {
		case r := <-f.records:
			out = append(out, r)
		default:
			return out, nil
		}
	}
}
