package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kop-conformance/kop-conformance/bench/stats"
)

func f(v float64) *float64 { return &v }

// round is an OK round with the given throughput and p99, the other figures derived from them.
func round(n int, path string, mbps, p99 float64) Round {
	r := Round{Round: n, Path: path, Started: time.Unix(1700000000, 0).UTC(), Seconds: 5, MBps: mbps, RecordsPerSec: mbps * 1e6 / 1024,
		Records: int64(mbps * 5e6 / 1024), Bytes: int64(mbps * 5e6),
		Publish: &stats.Percentiles{Count: 100, P50: p99 / 4, P99: p99, P999: p99 * 2, Max: p99 * 3, Mean: p99 / 3}}
	r.Resources.MovedBytes = r.Bytes
	r.Resources.Containers = map[string]ContainerUse{path: {CPUSeconds: 2, MemoryBytes: 300 << 20}}
	if path == Gateway {
		r.Resources.GatewayCPUSeconds, r.Resources.GatewayRSS, r.Resources.GatewayHeap, r.Resources.OpenPartitions = f(1), f(100<<20), f(40<<20), f(1)
	}
	return r
}

// sample is a run with a max-throughput workload (gateway at 0.9x pulsar), one standing in
// for its pulsar figures, a fixed-rate one (gateway p99 at 2x pulsar), a 1,000-partition
// point with an idle measurement, and one round that failed and one skipped.
func sample() *Report {
	r := &Report{SchemaVersion: SchemaVersion, GeneratedAt: time.Unix(1700000000, 0).UTC(), Host: Host{CPUs: 2, OS: "linux", Arch: "amd64", GoVersion: "go1.26"},
		Images:      map[string]string{"pulsar": "kop/pulsar:1", "reference": "kop/reference:1", "kafka": "kop/kafka:1"},
		Settings:    Settings{Mode: "full", Rounds: 3, WindowRecords: 10000, WindowBytes: 16 << 20, CatchUpSeconds: 3},
		WallSeconds: 13.5 * 60, WallFrom: "make bench's start"}
	base := Workload{Spec: Spec{Name: "max-1KiB-p1", Kind: MaxThroughput, RecordBytes: 1024, Partitions: 1, Acks: "all", Compression: "none", Producer: "franz-go", Connections: 1, Seconds: 5, CatchUp: true, Paths: Paths}}
	acks1 := Workload{Spec: Spec{Name: "max-1KiB-p1-acks1", Kind: MaxThroughput, RecordBytes: 1024, Partitions: 1, Acks: "1", Compression: "none", Producer: "franz-go", Connections: 1, Seconds: 5, PulsarFrom: "max-1KiB-p1", Paths: []string{Gateway, Kafka}}}
	rate := Workload{Spec: Spec{Name: "rate-1KiB-p1", Kind: FixedRate, RecordBytes: 1024, Partitions: 1, Acks: "all", Compression: "none", Producer: "franz-go", Connections: 1, Rate: 5000, Seconds: 6, Paths: Paths}}
	p1000 := Workload{Spec: Spec{Name: "scale-p1000", Kind: MaxThroughput, RecordBytes: 1024, Partitions: 1000, Acks: "all", Compression: "none", Producer: "franz-go", Connections: 1, Seconds: 3, Scale: true, Paths: Paths}}
	for i := 1; i <= 3; i++ {
		d := float64(i - 2) // -1, 0, 1: medians are the middle round's
		for _, p := range Paths {
			mb := map[string]float64{Gateway: 45, Pulsar: 50, Kafka: 90}[p] + d
			rd := round(i, p, mb, 10+d)
			rd.CatchUp = &CatchUp{Records: 1000, Bytes: 1 << 20, Seconds: 1, MBps: 2 * mb, Complete: true}
			base.Rounds = append(base.Rounds, rd)
			if p != Pulsar {
				acks1.Rounds = append(acks1.Rounds, round(i, p, mb+5, 5))
			}
			rr := round(i, p, 5, map[string]float64{Gateway: 20, Pulsar: 10, Kafka: 8}[p]+d)
			rr.E2E = &stats.Percentiles{Count: 100, P50: 3, P99: 30, P999: 60, Max: 90, Mean: 5}
			rate.Rounds = append(rate.Rounds, rr)
			sr := round(i, p, 20+d, 50)
			if p == Gateway {
				sr.Resources.GatewayRSS = f(float64(200+10*i) * mib)
				if i == 1 {
					sr.Resources.Idle = &IdlePartitions{Partitions: 1000, RSSDelta: 20 * mib, HeapDelta: 12 * mib, PerPartition: 20.0 * mib / 1000, RSSAfter: 150 * mib, OpenPartitions: 1001}
				}
			}
			p1000.Rounds = append(p1000.Rounds, sr)
		}
	}
	p1000.Rounds[0].Error = "context deadline exceeded"
	p1000.Rounds = append(p1000.Rounds, Round{Round: 4, Path: Kafka, Skipped: "time budget"})
	r.Workloads = []Workload{base, acks1, rate, p1000}
	r.Series = []Series{{Name: "partitions", Points: []Point{{1, "max-1KiB-p1"}, {1000, "scale-p1000"}}}}
	r.Finish()
	return r
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func goal(t *testing.T, r *Report, id string) Goal {
	t.Helper()
	for _, g := range r.Goals {
		if g.ID == id {
			return g
		}
	}
	t.Fatalf("no goal %s", id)
	return Goal{}
}

func TestSummariesAndRatios(t *testing.T) {
	r := sample()
	base := r.Workload("max-1KiB-p1")
	g, p := base.Summary(Gateway), base.Summary(Pulsar)
	if g.Rounds != 3 || g.MBps.Median != 45 || g.MBps.Min != 44 || g.MBps.Max != 46 || p.MBps.Median != 50 {
		t.Fatalf("gateway %+v pulsar %+v", g.MBps, p.MBps)
	}
	if v := base.RatioOf("mb_per_s", Pulsar); v == nil || math.Abs(*v-0.9) > 1e-9 {
		t.Fatalf("gateway/pulsar MB/s = %v, want 0.9", v)
	}
	if v := base.RatioOf("mb_per_s", Kafka); v == nil || math.Abs(*v-0.5) > 1e-9 {
		t.Fatalf("gateway/kafka MB/s = %v, want 0.5", v)
	}
	if v := base.RatioOf("catch_up_mb_per_s", Pulsar); v == nil || math.Abs(*v-0.9) > 1e-9 {
		t.Fatalf("catch-up ratio %v", v)
	}
	// CPU per GB: 1 s of gateway CPU over 45*5e6 bytes moved.
	if want := 1 / (45 * 5e6 / 1e9); math.Abs(g.GatewayCPUPerGB.Median-want) > 1e-9 {
		t.Fatalf("gateway CPU s/GB %v, want %v", g.GatewayCPUPerGB.Median, want)
	}
	a := r.Workload("max-1KiB-p1-acks1")
	if s := a.Summary(Pulsar); s == nil || s.From != "max-1KiB-p1" || s.MBps.Median != 50 {
		t.Fatalf("acks=1's pulsar stand-in: %+v", s)
	}
	if v := a.RatioOf("mb_per_s", Pulsar); v == nil || math.Abs(*v-1.0) > 1e-9 {
		t.Fatalf("acks=1 gateway/pulsar = %v, want 50/50", v)
	}
	sc := r.Workload("scale-p1000").Summary(Gateway)
	if sc.Rounds != 2 {
		t.Fatalf("the failed round must not count: %d rounds", sc.Rounds)
	}
}

func TestGoals(t *testing.T) {
	r := sample()
	cases := []struct {
		id    string
		met   bool
		value float64
	}{
		{"produce-vs-pulsar", true, 0.9},       // base only: acks=1 borrows pulsar's figures, scale points are no goal
		{"catch-up-vs-pulsar", true, 0.9},      // 90/100
		{"p99-vs-pulsar", false, 2.0},          // 20 ms over 10 ms
		{"idle-partition-memory", true, 20.48}, // 20 MiB over 1,000 partitions, measured before the round failed
		{"rss-1000-partitions", true, 230},     // the largest of the rounds that ran (round 1 failed)
		{"wall-time", true, 13.5},
	}
	for _, c := range cases {
		g := goal(t, r, c.id)
		if g.Met == nil || *g.Met != c.met || g.Value == nil || math.Abs(*g.Value-c.value) > 1e-6 {
			t.Errorf("%s: met %v value %v (%s), want %v %v", c.id, deref(g.Met), deref(g.Value), g.Detail, c.met, c.value)
		}
	}
	for i, rd := range r.Workload("max-1KiB-p1").Rounds {
		if rd.Path == Gateway && rd.Round >= 2 {
			r.Workload("max-1KiB-p1").Rounds[i].MBps = 38 // the gateway's median drops to 38/50
		}
	}
	r.WallSeconds = 16 * 60
	r.Finish()
	if g := goal(t, r, "produce-vs-pulsar"); *g.Met || !strings.Contains(g.Detail, "worst: max-1KiB-p1") || strings.Contains(g.Detail, "acks1") {
		t.Errorf("0.76x must fail the produce goal: %+v", g)
	}
	if g := goal(t, r, "wall-time"); *g.Met {
		t.Error("16 minutes must fail the wall-time goal")
	}
}

func TestGoalsNotMeasured(t *testing.T) {
	r := &Report{}
	r.Finish()
	if len(r.Goals) != 6 {
		t.Fatalf("%d goals, want 6", len(r.Goals))
	}
	for _, g := range r.Goals {
		if g.Met != nil || g.Value != nil || !strings.Contains(g.Detail, "not measured") {
			t.Errorf("%s with nothing measured: %+v", g.ID, g)
		}
	}
}

func TestJSONRoundTrips(t *testing.T) {
	r := sample()
	var buf bytes.Buffer
	if err := r.JSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.SchemaVersion != SchemaVersion || len(back.Workloads) != 4 || len(back.Goals) != 6 || back.Workloads[0].Rounds[0].Publish.P99 == 0 {
		t.Fatalf("round trip lost figures: %+v", back.Workloads[0].Rounds[0])
	}
	var raw map[string]any
	json.Unmarshal(buf.Bytes(), &raw)
	for _, k := range []string{"schema_version", "generated_at", "host", "settings", "wall_seconds", "workloads", "series", "goals"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("bench.json lacks %q", k)
		}
	}
}

func TestMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().Markdown(&buf); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		"# Benchmark",
		"![Produce throughput per workload",
		"](bench/throughput.svg)",
		"| gateway | 45.0 (44.0–46.0) |",
		"| gateway ÷ pulsar | 0.90× |",
		"| gateway ÷ kafka | 0.50× |",
		"pulsar (from max-1KiB-p1)",
		"❌ not met",
		"✅ met",
		"### By partitions",
		"| 1,000 |",
		"scale-p1000 round 1 on gateway failed: context deadline exceeded",
		"scale-p1000 round 4 on kafka skipped: time budget",
		"### Idle open partitions",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("bench.md lacks %q", want)
		}
	}
	// Every table row has as many cells as its header.
	var cols int
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") - 1
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row with %d cells under a header of %d: %s", n, cols, line)
		}
	}
}

func TestChartsAreWellFormedSVG(t *testing.T) {
	r := sample()
	charts := r.Charts()
	names := map[string]bool{}
	for _, c := range charts {
		names[c.File] = true
		var buf bytes.Buffer
		if err := c.SVG(&buf); err != nil {
			t.Fatal(err)
		}
		wellFormed(t, c.File, buf.Bytes())
		if !strings.Contains(buf.String(), "<svg") {
			t.Errorf("%s is no SVG", c.File)
		}
	}
	for _, want := range []string{"throughput.svg", "catch-up.svg", "latency.svg", "partitions.svg", "gateway-memory.svg"} {
		if !names[want] {
			t.Errorf("no chart %s (have %v)", want, names)
		}
	}
}

// wellFormed fails unless b parses as XML to its end, with an svg root.
func wellFormed(t *testing.T, name string, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed: %v\n%s", name, err, b)
		}
		if s, ok := tok.(xml.StartElement); ok && root == "" {
			root = s.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("%s: root element %q", name, root)
	}
}

func TestChartEscapesText(t *testing.T) {
	c := BarChart{Title: `a <b> & "c"`, Unit: "ms", Series: []string{"x&y"}, Log: true,
		Groups: []BarGroup{{Label: "<g>", Bars: []Bar{{Series: "x&y", Value: 0.5, Low: 0.1, Hi: 900}, {Series: "z", Missing: true}}}}}
	var buf bytes.Buffer
	if err := c.SVG(&buf); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, "bar", buf.Bytes())
	l := LineChart{Title: "<t>", Unit: "MB/s", XTitle: "x", X: []string{"1"}, Series: []Line{{Name: "a", Values: []*float64{f(3)}}, {Name: "b", Values: []*float64{nil}}}}
	buf.Reset()
	if err := l.SVG(&buf); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, "line", buf.Bytes())
}

func TestHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().HTML(&buf); err != nil {
		t.Fatal(err)
	}
	h := buf.String()
	for _, want := range []string{"<h1>Benchmark", `<img src="bench/throughput.svg"`, "<th>MB/s</th>", "<td>gateway ÷ pulsar</td>", `<a href="index.html">`} {
		if !strings.Contains(h, want) {
			t.Errorf("bench.html lacks %q", want)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ChartDir, "old.svg")
	os.MkdirAll(filepath.Dir(stale), 0o755)
	os.WriteFile(stale, []byte("<svg/>"), 0o644)
	r := sample()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bench.json", "bench.md", "bench.html", "bench/throughput.svg", "bench/latency.svg"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("an old chart was left behind")
	}
	// Every image bench.md references was written.
	md, _ := os.ReadFile(filepath.Join(dir, "bench.md"))
	for _, c := range r.Charts() {
		if !strings.Contains(string(md), ChartDir+"/"+c.File) {
			t.Errorf("bench.md does not show %s", c.File)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0.00", 0.0123: "0.0123", 1.234: "1.23", 45.67: "45.7", 123.4: "123", 12345.6: "12,346", math.NaN(): "–"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%v) = %q, want %q", v, got, want)
		}
	}
	if Size(1024) != "1 KiB" || Size(100) != "100 B" || Size(100<<10) != "100 KiB" || Size(16<<20) != "16 MiB" {
		t.Error("Size")
	}
}
