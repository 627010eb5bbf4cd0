package load

import (
	"context"
	"time"

	"github.com/kop-conformance/kop-conformance/conformance/prom"
)

// Scrape reads the gateway's gauges from its Prometheus text; nil when url is empty (a target
// without metrics) or unreadable, so a load figure never fails for want of a gauge.
func Scrape(ctx context.Context, url string) *Gauges {
	if url == "" {
		return nil
	}
	samples, err := prom.Scrape(ctx, url)
	if err != nil {
		return nil
	}
	return &Gauges{
		RSS:         samples["process_resident_memory_bytes"],
		FDs:         samples["process_open_fds"],
		Connections: samples["kop_connections"],
		HeapInuse:   samples["go_memstats_heap_inuse_bytes"],
		StackInuse:  samples["go_memstats_stack_inuse_bytes"],
		Groups:      samples["kop_groups"],
	}
}

// settle waits for the gateway to finish what the last scenario left (closing connections,
// freeing their memory) before it is measured.
func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
