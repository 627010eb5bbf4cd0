package report

import (
	"fmt"
	"io"

	"github.com/kop-conformance/kop-conformance/bench/stats"
)

// ChartDir is where the charts go, relative to bench.md and bench.html.
const ChartDir = "bench"

// Chart is one SVG file of the report.
type Chart struct {
	File  string // under ChartDir
	Title string
	SVG   func(io.Writer) error
}

// Charts are the report's charts that have something to show.
func (r *Report) Charts() []Chart {
	var out []Chart
	add := func(file, title string, ok bool, svg func(io.Writer) error) {
		if ok {
			out = append(out, Chart{File: file, Title: title, SVG: svg})
		}
	}
	tp := r.barsOf("Produce throughput per workload (median; whiskers: min–max over rounds)", "MB/s",
		func(s Spec) bool { return s.Kind == MaxThroughput && !s.Scale }, func(p *PathSummary) *stats.Summary { return p.MBps })
	add("throughput.svg", tp.Title, len(tp.Groups) > 0, tp.SVG)
	cu := r.barsOf("Catch-up read throughput (median; whiskers: min–max)", "MB/s",
		func(s Spec) bool { return s.CatchUp }, func(p *PathSummary) *stats.Summary { return p.CatchUpMBps })
	add("catch-up.svg", cu.Title, len(cu.Groups) > 0, cu.SVG)
	lat := r.latencyBars()
	add("latency.svg", lat.Title, len(lat.Groups) > 0, lat.SVG)
	for _, s := range r.Series {
		lc := r.seriesLine(s, "MB/s", func(p *PathSummary) *stats.Summary { return p.MBps })
		add(s.Name+".svg", lc.Title, len(lc.X) > 0, lc.SVG)
	}
	mem := r.memoryBars()
	add("gateway-memory.svg", mem.Title, len(mem.Groups) > 0, mem.SVG)
	return out
}

// paths are the paths a workload reports: its own, and pulsar when another workload stands in.
func (w *Workload) paths() []string {
	var out []string
	for _, p := range Paths {
		own := false
		for _, q := range w.Spec.Paths {
			own = own || q == p
		}
		if own || (p == Pulsar && w.Spec.PulsarFrom != "") {
			out = append(out, p)
		}
	}
	return out
}

func (r *Report) barsOf(title, unit string, counts func(Spec) bool, get func(*PathSummary) *stats.Summary) BarChart {
	c := BarChart{Title: title, Unit: unit, Series: Paths}
	for i := range r.Workloads {
		w := &r.Workloads[i]
		if !counts(w.Spec) {
			continue
		}
		g := BarGroup{Label: w.Spec.Name}
		for _, p := range w.paths() {
			g.Bars = append(g.Bars, bar(p, w.Summary(p), get))
		}
		c.Groups = append(c.Groups, g)
	}
	return c
}

func bar(path string, s *PathSummary, get func(*PathSummary) *stats.Summary) Bar {
	if s == nil || get(s) == nil {
		return Bar{Series: path, Missing: true}
	}
	v := get(s)
	b := Bar{Series: path, Value: v.Median, Low: v.Min, Hi: v.Max}
	if s.From != "" {
		b.ValueLabelExtra = " (" + s.From + ")"
	}
	return b
}

// latencyBars are the fixed-rate workloads' publish and end-to-end percentiles, per path.
func (r *Report) latencyBars() BarChart {
	c := BarChart{Title: "Fixed-rate latency percentiles (median over rounds; log scale)", Unit: "ms", Series: Paths, Log: true}
	rate := 0
	for _, w := range r.Workloads {
		if w.Spec.Kind == FixedRate {
			rate++
		}
	}
	for i := range r.Workloads {
		w := &r.Workloads[i]
		if w.Spec.Kind != FixedRate {
			continue
		}
		for _, f := range []struct {
			label string
			get   func(*PathSummary) *stats.Summary
		}{
			{"publish p50", func(p *PathSummary) *stats.Summary { return p.PublishP50 }},
			{"publish p99", func(p *PathSummary) *stats.Summary { return p.PublishP99 }},
			{"publish p99.9", func(p *PathSummary) *stats.Summary { return p.PublishP999 }},
			{"end-to-end p50", func(p *PathSummary) *stats.Summary { return p.E2EP50 }},
			{"end-to-end p99", func(p *PathSummary) *stats.Summary { return p.E2EP99 }},
			{"end-to-end p99.9", func(p *PathSummary) *stats.Summary { return p.E2EP999 }},
		} {
			label := f.label
			if rate > 1 {
				label = w.Spec.Name + " " + label
			}
			g := BarGroup{Label: label}
			for _, p := range w.paths() {
				g.Bars = append(g.Bars, bar(p, w.Summary(p), f.get))
			}
			c.Groups = append(c.Groups, g)
		}
	}
	return c
}

// seriesLine is a cost-growth series: one line per path.
func (r *Report) seriesLine(s Series, unit string, get func(*PathSummary) *stats.Summary) LineChart {
	c := LineChart{Title: fmt.Sprintf("Produce throughput by %s (median)", s.Name), Unit: unit, XTitle: s.Name}
	lines := map[string]*Line{}
	for _, p := range Paths {
		lines[p] = &Line{Name: p}
	}
	for _, pt := range s.Points {
		w := r.Workload(pt.Workload)
		if w == nil {
			continue
		}
		c.X = append(c.X, thousands(int64(pt.X)))
		for _, p := range Paths {
			var v *float64
			if sum := w.Summary(p); sum != nil && get(sum) != nil {
				m := get(sum).Median
				v = &m
			}
			lines[p].Values = append(lines[p].Values, v)
		}
	}
	for _, p := range Paths {
		c.Series = append(c.Series, *lines[p])
	}
	return c
}

// memoryBars are the gateway's RSS at each point of the cost-growth series.
func (r *Report) memoryBars() BarChart {
	c := BarChart{Title: "Gateway resident memory at the end of a round (median; whiskers: min–max)", Unit: "MiB", Series: []string{Gateway}}
	for _, s := range r.Series {
		for _, pt := range s.Points {
			w := r.Workload(pt.Workload)
			if w == nil || w.Summary(Gateway) == nil || w.Summary(Gateway).GatewayRSSMiB == nil {
				continue
			}
			c.Groups = append(c.Groups, BarGroup{
				Label: fmt.Sprintf("%s %s", thousands(int64(pt.X)), s.Name),
				Bars:  []Bar{bar(Gateway, w.Summary(Gateway), func(p *PathSummary) *stats.Summary { return p.GatewayRSSMiB })},
			})
		}
	}
	return c
}
