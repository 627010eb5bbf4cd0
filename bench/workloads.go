package bench

import (
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/kop-conformance/kop-conformance/bench/report"
)

// Workload is what a round does, and how long its rounds send.
type Workload struct {
	report.Spec
	Rounds   int
	Duration time.Duration
	Warmup   bool // its rounds warm every path up and are not reported
}

// base is the reference shape: 1 KiB records, 1 partition, acks=all, no compression, franz-go,
// at maximum throughput. Its pulsar rounds stand in for the workloads Pulsar cannot vary, and
// it is the first point of both cost-growth series.
const base = "max-1KiB-p1"

// Kafka producers.
const (
	FranzGo = "franz-go"
	Sarama  = "sarama"
	KafkaGo = "kafka-go"
)

// all is every workload of a full run, and the cost-growth series over them.
func all(c Config) ([]Workload, []report.Series) {
	mk := func(name string, edit func(*report.Spec)) Workload {
		s := report.Spec{Name: name, Kind: report.MaxThroughput, RecordBytes: 1 << 10, Partitions: 1, Acks: "all", Compression: "none",
			Producer: FranzGo, Connections: 1, Paths: report.Paths}
		if edit != nil {
			edit(&s)
		}
		w := Workload{Spec: s, Rounds: c.Rounds, Duration: c.Duration}
		if s.Scale {
			w.Duration = c.ScaleDuration
		}
		if s.Kind == report.FixedRate {
			w.Duration = c.RateDuration
		}
		w.Seconds = w.Duration.Seconds()
		return w
	}
	// The partition series runs first, right after the warm-up: the gateway's memory there
	// (idle partitions, RSS with 1,000 open) then carries no other workload's history, such as
	// the heap 100 KiB records grew, which Go returns to the system only slowly.
	var ws []Workload
	parts := report.Series{Name: "partitions", Points: []report.Point{{X: 1, Workload: base}}}
	for _, n := range c.Partitions {
		name := fmt.Sprintf("scale-p%d", n)
		ws = append(ws, mk(name, func(s *report.Spec) { s.Partitions, s.Scale = n, true }))
		parts.Points = append(parts.Points, report.Point{X: n, Workload: name})
	}
	noPulsar := func(s *report.Spec) { s.PulsarFrom, s.Paths = base, []string{report.Gateway, report.Kafka} }
	ws = append(ws,
		mk(base, func(s *report.Spec) { s.CatchUp = true }),
		mk("max-1KiB-p16", func(s *report.Spec) { s.Partitions, s.CatchUp = 16, true }),
		mk("max-100B-p1", func(s *report.Spec) { s.RecordBytes = 100 }),
		// 100 KiB records: the byte window, not the record count, bounds what is in flight.
		mk("max-100KiB-p1", func(s *report.Spec) { s.RecordBytes, s.CatchUp = 100<<10, true }),
		mk("max-1KiB-p1-lz4", func(s *report.Spec) { s.Compression = "lz4" }),
		mk("max-1KiB-p1-acks1", func(s *report.Spec) { s.Acks = "1"; noPulsar(s) }),
		mk("max-1KiB-p1-sarama", func(s *report.Spec) { s.Producer = Sarama; noPulsar(s) }),
		mk("max-1KiB-p1-kafka-go", func(s *report.Spec) { s.Producer = KafkaGo; noPulsar(s) }),
		mk("rate-1KiB-p1", func(s *report.Spec) { s.Kind, s.Rate = report.FixedRate, c.Rate }),
	)
	conns := report.Series{Name: "connections", Points: []report.Point{{X: 1, Workload: base}}}
	for _, n := range c.Connections {
		name := fmt.Sprintf("scale-c%d", n)
		ws = append(ws, mk(name, func(s *report.Spec) { s.Connections, s.Scale = n, true }))
		conns.Points = append(conns.Points, report.Point{X: n, Workload: name})
	}
	return ws, []report.Series{parts, conns}
}

// Plan is the workloads a run does, in order, after the warm-up, and its series.
func Plan(c Config) ([]Workload, []report.Series, error) {
	ws, series := all(c)
	var picked []Workload
	for _, w := range ws {
		if len(c.Workloads) > 0 && !slices.ContainsFunc(c.Workloads, func(p string) bool { ok, _ := path.Match(p, w.Name); return ok }) {
			continue
		}
		var paths []string
		for _, p := range w.Paths {
			if slices.Contains(c.Paths, p) {
				paths = append(paths, p)
			}
		}
		w.Paths = paths
		picked = append(picked, w)
	}
	names := map[string]bool{}
	for _, w := range picked {
		names[w.Name] = true
	}
	pulsar := slices.Contains(c.Paths, report.Pulsar)
	var out []Workload
	for _, w := range picked {
		if w.PulsarFrom != "" && (!names[w.PulsarFrom] || !pulsar) {
			// No stand-in in this run: measure pulsar itself, if pulsar runs at all.
			w.PulsarFrom = ""
			if pulsar {
				w.Paths = slices.DeleteFunc(slices.Clone(report.Paths), func(p string) bool { return !slices.Contains(c.Paths, p) })
			}
		}
		if len(w.Paths) > 0 {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("bench: BENCH_WORKLOADS=%q and BENCH_PATHS=%q select nothing", c.Workloads, c.Paths)
	}
	kept := map[string]bool{}
	for _, w := range out {
		kept[w.Name] = true
	}
	var keptSeries []report.Series
	for _, s := range series {
		var pts []report.Point
		for _, p := range s.Points {
			if kept[p.Workload] {
				pts = append(pts, p)
			}
		}
		// A series is a curve: one point is no growth to show.
		if len(pts) > 1 {
			keptSeries = append(keptSeries, report.Series{Name: s.Name, Points: pts})
		}
	}
	return out, keptSeries, nil
}

// Warmup is the discarded round per path before the workloads: the base shape, briefly, so
// every JVM and connection pool has run before the first measured round.
func Warmup(c Config, paths []string) Workload {
	ws, _ := all(c)
	w := ws[slices.IndexFunc(ws, func(w Workload) bool { return w.Name == base })]
	w.Name, w.CatchUp, w.Rounds, w.Duration, w.Warmup, w.Paths = "warmup", false, 1, c.Warmup, true, paths
	w.Seconds = c.Warmup.Seconds()
	return w
}

// measuresIdle says whether the workload's first round on path measures what idle open
// partitions cost the gateway: the partition series' points do.
func measuresIdle(w Workload, p string) bool {
	return p == report.Gateway && w.Scale && w.Partitions > 1
}
