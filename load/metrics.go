package load

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scrape reads the gateway's gauges from its Prometheus text; nil when url is empty (a target
// without metrics) or unreadable, so a load figure never fails for want of a gauge.
func Scrape(ctx context.Context, url string) *Gauges {
	if url == "" {
		return nil
	}
	samples, err := scrape(ctx, url)
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

// scrape reads every unlabelled sample of a Prometheus text exposition.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// settle waits for the gateway to finish what the last scenario left (closing connections,
// freeing their memory) before it is measured.
func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
