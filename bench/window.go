package bench

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// window bounds what a path has in flight, in records and in bytes, whatever the client:
// every path queues the same amount, so their latencies under full load compare, and no
// client buffers without limit (kafka-go's asynchronous writer would).
type window struct {
	records, bytes *semaphore.Weighted
	maxBytes       int64
}

func newWindow(records, bytes int) *window {
	return &window{records: semaphore.NewWeighted(int64(records)), bytes: semaphore.NewWeighted(int64(bytes)), maxBytes: int64(bytes)}
}

// cost is what a record of n bytes takes from the byte budget: a record larger than the
// whole window takes all of it rather than waiting forever.
func (w *window) cost(n int) int64 { return min(int64(n), w.maxBytes) }

// acquire waits for room for a record of n bytes; false when ctx ended first.
func (w *window) acquire(ctx context.Context, n int) bool {
	if err := w.records.Acquire(ctx, 1); err != nil {
		return false
	}
	if err := w.bytes.Acquire(ctx, w.cost(n)); err != nil {
		w.records.Release(1)
		return false
	}
	return true
}

// release gives back what acquire took.
func (w *window) release(n int) {
	w.bytes.Release(w.cost(n))
	w.records.Release(1)
}
