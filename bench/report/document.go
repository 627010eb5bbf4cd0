package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kop-conformance/kop-conformance/bench/stats"
)

// Document is the report as headings, paragraphs, tables and images: built once, rendered as
// Markdown (bench.md) and HTML (bench.html).
type Document struct {
	Title    string
	Intro    []string
	Sections []Section
}

// Section is a heading (level 2 or 3) and what follows it.
type Section struct {
	Level      int
	Heading    string
	Paragraphs []string
	Images     []Image
	Tables     []Table
	List       []string
}

// Table is a header and rows of cells.
type Table struct {
	Header []string
	Rows   [][]string
}

// Image is a chart, its source relative to the document.
type Image struct{ Src, Alt string }

// cell is a summary as "median (min–max)", or "–" when not measured.
func cell(s *stats.Summary) string {
	if s == nil {
		return "–"
	}
	if s.N < 2 || s.Min == s.Max {
		return Num(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", Num(s.Median), Num(s.Min), Num(s.Max))
}

func ratioCell(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f×", *v)
}

// column is a figure of a workload table.
type column struct {
	header string
	figure string // the ratio's figure name, "" when the column has no ratio
	get    func(*PathSummary) *stats.Summary
}

var (
	colMBps    = column{"MB/s", "mb_per_s", func(p *PathSummary) *stats.Summary { return p.MBps }}
	colRPS     = column{"records/s", "records_per_s", func(p *PathSummary) *stats.Summary { return p.RecordsPS }}
	colP50     = column{"publish p50 ms", "publish_p50_ms", func(p *PathSummary) *stats.Summary { return p.PublishP50 }}
	colP99     = column{"publish p99 ms", "publish_p99_ms", func(p *PathSummary) *stats.Summary { return p.PublishP99 }}
	colP999    = column{"publish p99.9 ms", "publish_p999_ms", func(p *PathSummary) *stats.Summary { return p.PublishP999 }}
	colE50     = column{"e2e p50 ms", "e2e_p50_ms", func(p *PathSummary) *stats.Summary { return p.E2EP50 }}
	colE99     = column{"e2e p99 ms", "e2e_p99_ms", func(p *PathSummary) *stats.Summary { return p.E2EP99 }}
	colE999    = column{"e2e p99.9 ms", "e2e_p999_ms", func(p *PathSummary) *stats.Summary { return p.E2EP999 }}
	colCatchUp = column{"catch-up MB/s", "catch_up_mb_per_s", func(p *PathSummary) *stats.Summary { return p.CatchUpMBps }}
	colGCPU    = column{"gateway CPU s/GB", "", func(p *PathSummary) *stats.Summary { return p.GatewayCPUPerGB }}
	colSCPU    = column{"server CPU s/GB", "server_cpu_s_per_gb", func(p *PathSummary) *stats.Summary { return p.ServerCPUPerGB }}
	colRSS     = column{"gateway RSS MiB", "", func(p *PathSummary) *stats.Summary { return p.GatewayRSSMiB }}
)

func (w *Workload) columns() []column {
	if w.Spec.Kind == FixedRate {
		return []column{colRPS, colP50, colP99, colP999, colE50, colE99, colE999, colGCPU, colSCPU, colRSS}
	}
	cols := []column{colMBps, colRPS, colP50, colP99, colP999}
	if w.Spec.CatchUp {
		cols = append(cols, colCatchUp)
	}
	return append(cols, colGCPU, colSCPU, colRSS)
}

// table is a workload's paths, then the gateway's ratios over the other paths.
func (w *Workload) table() Table {
	cols := w.columns()
	t := Table{Header: []string{"path"}}
	for _, c := range cols {
		t.Header = append(t.Header, c.header)
	}
	t.Header = append(t.Header, "rounds")
	for _, p := range w.paths() {
		s := w.Summary(p)
		name := p
		if s != nil && s.From != "" {
			name += " (from " + s.From + ")"
		}
		row := []string{name}
		for _, c := range cols {
			if s == nil {
				row = append(row, "–")
			} else {
				row = append(row, cell(c.get(s)))
			}
		}
		rounds := "0"
		if s != nil {
			rounds = fmt.Sprint(s.Rounds)
		}
		t.Rows = append(t.Rows, append(row, rounds))
	}
	for _, over := range []string{Pulsar, Kafka} {
		if w.Summary(Gateway) == nil || w.Summary(over) == nil {
			continue
		}
		row := []string{"gateway ÷ " + over}
		for _, c := range cols {
			if c.figure == "" {
				row = append(row, "")
			} else {
				row = append(row, ratioCell(w.RatioOf(c.figure, over)))
			}
		}
		t.Rows = append(t.Rows, append(row, ""))
	}
	return t
}

// Document builds the report's document.
func (r *Report) Document() Document {
	d := Document{Title: "Benchmark: the gateway, pulsar-client-go and Apache Kafka"}
	d.Intro = append(d.Intro,
		fmt.Sprintf("Generated %s by make bench (mode %s) on %d CPUs (%s/%s, %s). Every workload ran %d rounds per path, alternating gateway → pulsar → kafka in each round, each path with the same in-flight window (%s records or %s of values). Figures are the median over rounds, with min–max in brackets; ratios divide the gateway's median by the other path's, both measured in this run.",
			r.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"), r.Settings.Mode, r.Host.CPUs, r.Host.OS, r.Host.Arch, r.Host.GoVersion,
			r.Settings.Rounds, thousands(int64(r.Settings.WindowRecords)), Size(r.Settings.WindowBytes)),
		"Paths: gateway = Kafka clients → the reference gateway → Pulsar; pulsar = pulsar-client-go straight to the same Pulsar (the ceiling for any gateway); kafka = the same Kafka clients → Apache Kafka 3.9 in a container on the same machine.",
	)
	if r.WallSeconds > 0 {
		d.Intro = append(d.Intro, fmt.Sprintf("Wall time: %.1f minutes (from %s).", r.WallSeconds/60, r.WallFrom))
	}
	d.Sections = append(d.Sections, r.goalSection())
	charts := map[string]Image{}
	for _, c := range r.Charts() {
		charts[c.File] = Image{Src: ChartDir + "/" + c.File, Alt: c.Title}
	}
	imgs := func(files ...string) []Image {
		var out []Image
		for _, f := range files {
			if im, ok := charts[f]; ok {
				out = append(out, im)
			}
		}
		return out
	}
	d.Sections = append(d.Sections, Section{Level: 2, Heading: "Maximum throughput",
		Paragraphs: []string{"Producers send as fast as their in-flight window allows for the round's time; MB/s counts record values (10^6 bytes) from the first send to the last acknowledgement. Publish latency runs from a record's send to its acknowledgement, so at full speed it mostly shows the window's queue. Catch-up reads back, with a fresh consumer, what the round wrote (franz-go on the Kafka paths, a pulsar-client-go consumer on pulsar), timed from the first record received."},
		Images:     imgs("throughput.svg", "catch-up.svg")})
	for i := range r.Workloads {
		if w := &r.Workloads[i]; w.Spec.Kind == MaxThroughput && !w.Spec.Scale {
			d.Sections = append(d.Sections, w.section())
		}
	}
	d.Sections = append(d.Sections, Section{Level: 2, Heading: "Fixed rate",
		Paragraphs: []string{"Records are scheduled at a fixed rate and a consumer tails the topic. Latencies run from a record's scheduled send time (a producer that falls behind pays for it: no coordinated omission) to its acknowledgement (publish) and to the consumer receiving it (end-to-end); records scheduled in the first settle period are not counted."},
		Images:     imgs("latency.svg")})
	for i := range r.Workloads {
		if w := &r.Workloads[i]; w.Spec.Kind == FixedRate {
			d.Sections = append(d.Sections, w.section())
		}
	}
	d.Sections = append(d.Sections, r.growthSections(imgs)...)
	if s, ok := r.roundTrouble(); ok {
		d.Sections = append(d.Sections, s)
	}
	d.Sections = append(d.Sections, r.methodSection())
	return d
}

func (w *Workload) section() Section {
	s := Section{Level: 3, Heading: w.Spec.Name + ": " + w.Spec.Title(), Tables: []Table{w.table()}}
	if w.Spec.PulsarFrom != "" {
		s.Paragraphs = append(s.Paragraphs, "Pulsar has no acks=1 and no Kafka client to choose, so its figures are those of "+w.Spec.PulsarFrom+", measured in the same run.")
	}
	return s
}

func (r *Report) goalSection() Section {
	t := Table{Header: []string{"goal", "target", "measured", "result", "detail"}}
	for _, g := range r.Goals {
		measured, result := "–", "not measured"
		if g.Value != nil {
			measured = Num(*g.Value) + " " + g.Unit
			if g.Unit == "x" {
				measured = fmt.Sprintf("%.2f×", *g.Value)
			}
		}
		if g.Met != nil {
			result = map[bool]string{true: "✅ met", false: "❌ not met"}[*g.Met]
		}
		t.Rows = append(t.Rows, []string{g.Text, g.Target, measured, result, g.Detail})
	}
	return Section{Level: 2, Heading: "Goals", Tables: []Table{t}}
}

// growthSections are the cost-growth series: throughput, latency and gateway memory at each
// point, and what idle partitions cost.
func (r *Report) growthSections(imgs func(...string) []Image) []Section {
	if len(r.Series) == 0 {
		return nil
	}
	out := []Section{{Level: 2, Heading: "Cost growth",
		Paragraphs: []string{"Short maximum-throughput rounds of 1 KiB records as partitions or producer clients grow (each producer client has its own connections; the total in-flight window is shared among them). Gateway memory is its resident set (process_resident_memory_bytes) at the end of each round."},
		Images:     imgs("gateway-memory.svg")}}
	for _, s := range r.Series {
		t := Table{Header: []string{s.Name}}
		for _, p := range Paths {
			t.Header = append(t.Header, p+" MB/s")
		}
		for _, p := range Paths {
			t.Header = append(t.Header, p+" p99 ms")
		}
		t.Header = append(t.Header, "gateway RSS MiB", "gateway heap MiB", "open partitions", "workload")
		for _, pt := range s.Points {
			w := r.Workload(pt.Workload)
			if w == nil {
				continue
			}
			row := []string{thousands(int64(pt.X))}
			for _, get := range []func(*PathSummary) *stats.Summary{colMBps.get, colP99.get} {
				for _, p := range Paths {
					if sum := w.Summary(p); sum != nil {
						row = append(row, cell(get(sum)))
					} else {
						row = append(row, "–")
					}
				}
			}
			g := w.Summary(Gateway)
			for _, get := range []func(*PathSummary) *stats.Summary{
				func(p *PathSummary) *stats.Summary { return p.GatewayRSSMiB },
				func(p *PathSummary) *stats.Summary { return p.GatewayHeapMiB },
				func(p *PathSummary) *stats.Summary { return p.OpenPartitions },
			} {
				if g != nil {
					row = append(row, cell(get(g)))
				} else {
					row = append(row, "–")
				}
			}
			t.Rows = append(t.Rows, append(row, w.Spec.Name))
		}
		out = append(out, Section{Level: 3, Heading: "By " + s.Name, Tables: []Table{t}, Images: imgs(s.Name + ".svg")})
	}
	idle := Table{Header: []string{"workload", "partitions opened", "RSS delta MiB", "heap delta MiB (after GC)", "per partition KiB", "gateway RSS after MiB"}}
	for _, w := range r.Workloads {
		for _, rd := range w.Rounds {
			if i := rd.Resources.Idle; i != nil {
				idle.Rows = append(idle.Rows, []string{w.Spec.Name, thousands(int64(i.Partitions)), Num(i.RSSDelta / mib), Num(i.HeapDelta / mib), Num(i.PerPartition / kib), Num(i.RSSAfter / mib)})
			}
		}
	}
	if len(idle.Rows) > 0 {
		out = append(out, Section{Level: 3, Heading: "Idle open partitions",
			Paragraphs: []string{"Before a workload's first gateway round, the gateway is measured (after a forced garbage collection), its topic is created and one record written to each partition, and after a second of idleness it is measured again. The cost per partition is the larger of the RSS and heap deltas over the partitions opened."},
			Tables:     []Table{idle}})
	}
	return out
}

// roundTrouble lists the rounds that failed or were skipped.
func (r *Report) roundTrouble() (Section, bool) {
	var list []string
	for _, w := range r.Workloads {
		for _, rd := range w.Rounds {
			switch {
			case rd.Error != "":
				list = append(list, fmt.Sprintf("%s round %d on %s failed: %s", w.Spec.Name, rd.Round, rd.Path, rd.Error))
			case rd.Skipped != "":
				list = append(list, fmt.Sprintf("%s round %d on %s skipped: %s", w.Spec.Name, rd.Round, rd.Path, rd.Skipped))
			}
		}
	}
	list = append(list, r.Notes...)
	if len(list) == 0 {
		return Section{}, false
	}
	return Section{Level: 2, Heading: "Rounds not measured and notes", List: list}, true
}

func (r *Report) methodSection() Section {
	images := make([]string, 0, len(r.Images))
	for k, v := range r.Images {
		images = append(images, k+": "+v)
	}
	sort.Strings(images)
	return Section{Level: 2, Heading: "How it was measured", List: []string{
		"All three paths run on this machine with the bench client; Pulsar and the gateway stay up while Kafka rounds run and the other way round, idle.",
		"Each workload gets a topic per path, created before its first round and deleted after its last; every round's priming record warms the connections before the clock starts.",
		fmt.Sprintf("In-flight window per path: %s records or %s of values, shared by a workload's producer clients; Pulsar producers batch for 1 ms up to 1 MiB, Kafka clients linger 1 ms.", thousands(int64(r.Settings.WindowRecords)), Size(r.Settings.WindowBytes)),
		"CPU seconds per GB: CPU spent during the round over the record values produced and consumed (10^9 bytes). Gateway: its process_cpu_seconds_total; server: the cgroup CPU Docker reports for every container serving the path (gateway and Pulsar, Pulsar, Kafka).",
		"Gateway memory: process_resident_memory_bytes and go_memstats_heap_inuse_bytes from its Prometheus endpoint; container memory from Docker's stats is in bench.json.",
		fmt.Sprintf("Settings: %d rounds, warm-up %.0f s per path, catch-up cap %.0f s, settle %.1f s; time budget %.0f s, planned %.0f s.",
			r.Settings.Rounds, r.Settings.WarmupSeconds, r.Settings.CatchUpSeconds, r.Settings.SettleSeconds, r.Settings.BudgetSeconds, r.Settings.EstimateSeconds),
		"Images: " + strings.Join(images, ", "),
	}}
}
