package report

import (
	"github.com/kop-conformance/kop-conformance/bench/stats"
)

// Finish derives what the report shows from the rounds: each path's summaries, the
// gateway's ratios to the other paths, and the goals. Call it once every round is in and
// WallSeconds is set.
func (r *Report) Finish() {
	for i := range r.Workloads {
		w := &r.Workloads[i]
		w.Summaries = nil
		for _, p := range Paths {
			if s := summarise(p, w.Rounds); s != nil {
				w.Summaries = append(w.Summaries, *s)
			}
		}
	}
	// Stand-ins after every workload has its own summaries.
	for i := range r.Workloads {
		w := &r.Workloads[i]
		if w.Spec.PulsarFrom == "" || w.Summary(Pulsar) != nil {
			continue
		}
		if from := r.Workload(w.Spec.PulsarFrom); from != nil {
			if s := from.Summary(Pulsar); s != nil {
				c := *s
				c.From = from.Spec.Name
				w.Summaries = append(w.Summaries, c)
			}
		}
	}
	for i := range r.Workloads {
		r.Workloads[i].Ratios = ratios(&r.Workloads[i])
	}
	r.Goals = evaluate(r)
}

// figures name each summary the ratios compare, by its JSON name.
var figures = []struct {
	name string
	get  func(*PathSummary) *stats.Summary
}{
	{"mb_per_s", func(s *PathSummary) *stats.Summary { return s.MBps }},
	{"records_per_s", func(s *PathSummary) *stats.Summary { return s.RecordsPS }},
	{"publish_p50_ms", func(s *PathSummary) *stats.Summary { return s.PublishP50 }},
	{"publish_p99_ms", func(s *PathSummary) *stats.Summary { return s.PublishP99 }},
	{"publish_p999_ms", func(s *PathSummary) *stats.Summary { return s.PublishP999 }},
	{"e2e_p50_ms", func(s *PathSummary) *stats.Summary { return s.E2EP50 }},
	{"e2e_p99_ms", func(s *PathSummary) *stats.Summary { return s.E2EP99 }},
	{"e2e_p999_ms", func(s *PathSummary) *stats.Summary { return s.E2EP999 }},
	{"catch_up_mb_per_s", func(s *PathSummary) *stats.Summary { return s.CatchUpMBps }},
	{"server_cpu_s_per_gb", func(s *PathSummary) *stats.Summary { return s.ServerCPUPerGB }},
}

// ratios are the gateway over pulsar and over kafka for every figure both sides measured.
func ratios(w *Workload) []Ratio {
	g := w.Summary(Gateway)
	if g == nil {
		return nil
	}
	var out []Ratio
	for _, over := range []string{Pulsar, Kafka} {
		o := w.Summary(over)
		if o == nil {
			continue
		}
		for _, f := range figures {
			if v := stats.Ratio(f.get(g), f.get(o)); v != nil {
				out = append(out, Ratio{Figure: f.name, Over: over, Value: v})
			}
		}
	}
	return out
}

// RatioOf is the workload's ratio of figure over the path, or nil.
func (w *Workload) RatioOf(figure, over string) *float64 {
	for _, r := range w.Ratios {
		if r.Figure == figure && r.Over == over {
			return r.Value
		}
	}
	return nil
}

// summarise is a path's summary over its rounds that ran, or nil when none did.
func summarise(path string, rounds []Round) *PathSummary {
	var v struct {
		mbps, rps, p50, p99, p999, e50, e99, e999, catch, gcpu, scpu, rss, heap, open []float64
	}
	n := 0
	for _, r := range rounds {
		if r.Path != path || !r.OK() {
			continue
		}
		n++
		v.mbps = append(v.mbps, r.MBps)
		v.rps = append(v.rps, r.RecordsPerSec)
		if p := r.Publish; p != nil {
			v.p50, v.p99, v.p999 = append(v.p50, p.P50), append(v.p99, p.P99), append(v.p999, p.P999)
		}
		if p := r.E2E; p != nil {
			v.e50, v.e99, v.e999 = append(v.e50, p.P50), append(v.e99, p.P99), append(v.e999, p.P999)
		}
		if r.CatchUp != nil {
			v.catch = append(v.catch, r.CatchUp.MBps)
		}
		res := r.Resources
		gb := float64(res.MovedBytes) / 1e9
		if gb > 0 && res.GatewayCPUSeconds != nil {
			v.gcpu = append(v.gcpu, *res.GatewayCPUSeconds/gb)
		}
		if gb > 0 && len(res.Containers) > 0 {
			cpu := 0.0
			for _, c := range res.Containers {
				cpu += c.CPUSeconds
			}
			v.scpu = append(v.scpu, cpu/gb)
		}
		if res.GatewayRSS != nil {
			v.rss = append(v.rss, *res.GatewayRSS/(1<<20))
		}
		if res.GatewayHeap != nil {
			v.heap = append(v.heap, *res.GatewayHeap/(1<<20))
		}
		if res.OpenPartitions != nil {
			v.open = append(v.open, *res.OpenPartitions)
		}
	}
	if n == 0 {
		return nil
	}
	return &PathSummary{
		Path: path, Rounds: n,
		MBps: stats.Summarise(v.mbps), RecordsPS: stats.Summarise(v.rps),
		PublishP50: stats.Summarise(v.p50), PublishP99: stats.Summarise(v.p99), PublishP999: stats.Summarise(v.p999),
		E2EP50: stats.Summarise(v.e50), E2EP99: stats.Summarise(v.e99), E2EP999: stats.Summarise(v.e999),
		CatchUpMBps:     stats.Summarise(v.catch),
		GatewayCPUPerGB: stats.Summarise(v.gcpu), ServerCPUPerGB: stats.Summarise(v.scpu),
		GatewayRSSMiB: stats.Summarise(v.rss), GatewayHeapMiB: stats.Summarise(v.heap), OpenPartitions: stats.Summarise(v.open),
	}
}
