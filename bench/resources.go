package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kop-conformance/kop-conformance/bench/report"
)

// The gateway's Prometheus figures the report uses (Go's process and runtime collectors, and
// the gateway's own gauge).
const (
	metricCPU  = "process_cpu_seconds_total"
	metricRSS  = "process_resident_memory_bytes"
	metricHeap = "go_memstats_heap_inuse_bytes"
	metricOpen = "kop_open_partitions"
)

// StatsClient is the part of Docker's API the probe reads (testcontainers' client has it).
type StatsClient interface {
	ContainerStats(ctx context.Context, id string, opts client.ContainerStatsOptions) (client.ContainerStatsResult, error)
}

// probe reads what the servers spend: each container's cgroup CPU and memory through
// Docker's API, and the gateway's own metrics.
type probe struct {
	docker     StatsClient
	containers map[string]string // container name (reference, pulsar, kafka) -> id
	metricsURL string            // the gateway's /metrics
	http       *http.Client
}

// serving are the containers a path's records pass through.
var serving = map[string][]string{
	report.Gateway: {"reference", "pulsar"},
	report.Pulsar:  {"pulsar"},
	report.Kafka:   {"kafka"},
}

// snapshot is the probe's reading at one moment.
type snapshot struct {
	cpu, mem map[string]float64 // by container: CPU seconds used so far, memory in use
	gateway  map[string]float64 // the gateway's figures, when read
	errs     []string
}

func (p *probe) snapshot(ctx context.Context, path string) snapshot {
	s := snapshot{cpu: map[string]float64{}, mem: map[string]float64{}}
	for _, name := range serving[path] {
		id, ok := p.containers[name]
		if !ok || p.docker == nil {
			continue
		}
		cpu, mem, err := p.containerStats(ctx, id)
		if err != nil {
			s.errs = append(s.errs, fmt.Sprintf("%s stats: %v", name, err))
			continue
		}
		s.cpu[name], s.mem[name] = cpu, mem
	}
	if path == report.Gateway && p.metricsURL != "" {
		g, err := p.scrape(ctx)
		if err != nil {
			s.errs = append(s.errs, "gateway metrics: "+err.Error())
		}
		s.gateway = g
	}
	return s
}

// containerStats is one container's CPU seconds so far and memory in use, as docker stats
// counts it (the cgroup's usage less its inactive page cache).
func (p *probe) containerStats(ctx context.Context, id string) (cpu, mem float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := p.docker.ContainerStats(ctx, id, client.ContainerStatsOptions{})
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return 0, 0, err
	}
	return decodeStats(st)
}

func decodeStats(st container.StatsResponse) (cpu, mem float64, err error) {
	if st.CPUStats.CPUUsage.TotalUsage == 0 {
		return 0, 0, fmt.Errorf("no CPU figures (is the container running?)")
	}
	used := st.MemoryStats.Usage
	for _, k := range []string{"total_inactive_file", "inactive_file"} { // cgroup v1, v2
		if v, ok := st.MemoryStats.Stats[k]; ok && v < used {
			used -= v
			break
		}
	}
	return float64(st.CPUStats.CPUUsage.TotalUsage) / 1e9, float64(used), nil
}

// scrape reads the gateway's metrics that have no labels.
func (p *probe) scrape(ctx context.Context) (map[string]float64, error) {
	body, err := p.get(ctx, p.metricsURL)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return parseMetrics(body)
}

func parseMetrics(r io.Reader) (map[string]float64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, name := range []string{metricCPU, metricRSS, metricHeap, metricOpen} {
		f, ok := families[name]
		if !ok || len(f.GetMetric()) == 0 {
			continue
		}
		m := f.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			out[name] = m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			out[name] = m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			out[name] = m.GetUntyped().GetValue()
		}
	}
	return out, nil
}

// collectGarbage makes the gateway run a full garbage collection (its profiler's heap
// endpoint does with gc=1), so the heap it reports next is what is live.
func (p *probe) collectGarbage(ctx context.Context) error {
	if p.metricsURL == "" {
		return fmt.Errorf("the gateway publishes no metrics")
	}
	body, err := p.get(ctx, strings.TrimSuffix(p.metricsURL, "/metrics")+"/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, body)
	body.Close()
	return err
}

func (p *probe) get(ctx context.Context, url string) (io.ReadCloser, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return cancelOnClose{resp.Body, cancel}, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// spent is what the servers spent between two snapshots, and the memory at the second.
func spent(before, after snapshot, moved int64) report.Resources {
	r := report.Resources{MovedBytes: moved}
	for name, cpu := range after.cpu {
		if b, ok := before.cpu[name]; ok {
			if r.Containers == nil {
				r.Containers = map[string]report.ContainerUse{}
			}
			r.Containers[name] = report.ContainerUse{CPUSeconds: cpu - b, MemoryBytes: after.mem[name]}
		}
	}
	figure := func(m map[string]float64, name string) *float64 {
		if v, ok := m[name]; ok {
			return &v
		}
		return nil
	}
	if b, a := figure(before.gateway, metricCPU), figure(after.gateway, metricCPU); b != nil && a != nil {
		d := *a - *b
		r.GatewayCPUSeconds = &d
	}
	r.GatewayRSS, r.GatewayHeap, r.OpenPartitions = figure(after.gateway, metricRSS), figure(after.gateway, metricHeap), figure(after.gateway, metricOpen)
	return r
}

// idle compares the gateway before and after it opened partitions (both read after a forced
// garbage collection).
func idle(before, after map[string]float64, partitions int) (*report.IdlePartitions, error) {
	for _, name := range []string{metricRSS, metricHeap, metricOpen} {
		if _, ok := before[name]; !ok {
			return nil, fmt.Errorf("the gateway's metrics lack %s", name)
		}
		if _, ok := after[name]; !ok {
			return nil, fmt.Errorf("the gateway's metrics lack %s", name)
		}
	}
	opened := after[metricOpen] - before[metricOpen]
	if opened < float64(partitions) {
		return nil, fmt.Errorf("the gateway opened %.0f partitions, not the %d written to", opened, partitions)
	}
	i := &report.IdlePartitions{Partitions: int(opened), RSSDelta: after[metricRSS] - before[metricRSS], HeapDelta: after[metricHeap] - before[metricHeap],
		RSSAfter: after[metricRSS], OpenPartitions: after[metricOpen]}
	i.PerPartition = max(i.RSSDelta, i.HeapDelta) / opened
	return i, nil
}
