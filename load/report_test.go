package load

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sample is a run whose figures meet every goal.
func sample() *Report {
	gauges := func(rss float64) *Gauges { return &Gauges{RSS: rss, FDs: 2040, Connections: 2000, Groups: 1000} }
	ref := &Result{Target: "reference",
		Clients: &ClientsResult{Clients: 2000, Answered: 2000, FirstResponse: Summary{2000, 10, 40, 90}, AllSteps: Summary{2000, 30, 120, 300},
			WallSeconds: 1.5, Before: &Gauges{RSS: 40 << 20}, Idle: gauges(60 << 20), IdlePerConnection: 10 << 10},
		Groups: &GroupsResult{Groups: 1000, Members: 2000, Stable: true, StableGroups: 1000, StableSeconds: 6, Heartbeats: Summary{9000, 2, 8, 30},
			Before: &Gauges{RSS: 50 << 20}, After: gauges(70 << 20), PerGroup: 20 << 10},
		Producers: &ProducersResult{Producers: 500, Rate: 2500, Seconds: 60, Sent: 150000, Acked: 150000, Achieved: 2500, Latency: Summary{150000, 4, 30, 200}},
		Topics:    &TopicsResult{Wanted: 10000, Created: 10000, CreateSeconds: 90, Listed: 10003, ResponseBytes: 900000, Metadata: Summary{20, 30, 45, 45}, Burst: Summary{50, 200, 400, 410}},
	}
	kafka := &Result{Target: "kafka",
		Clients:   &ClientsResult{Clients: 2000, Answered: 2000, FirstResponse: Summary{2000, 8, 25, 60}, AllSteps: Summary{2000, 20, 80, 200}, WallSeconds: 1},
		Groups:    &GroupsResult{Groups: 1000, Members: 2000, Stable: true, StableGroups: 1000, StableSeconds: 4, Heartbeats: Summary{9000, 1, 4, 20}},
		Producers: &ProducersResult{Producers: 500, Rate: 2500, Seconds: 60, Sent: 150000, Acked: 150000, Achieved: 2500, Latency: Summary{150000, 2, 10, 50}},
		Topics:    &TopicsResult{Wanted: 10000, Created: 10000, CreateSeconds: 60, Listed: 10003, ResponseBytes: 950000, Metadata: Summary{20, 20, 30, 30}, Burst: Summary{50, 100, 200, 210}},
	}
	r := &Report{Mode: "full", Started: time.Date(2025, 3, 1, 2, 3, 0, 0, time.UTC), WallSeconds: 840, CPUs: 2, Sizes: Full,
		Notes: []string{"the reference ran with KOP_MAX_CONNECTIONS_PER_IP=10000"}, Targets: []*Result{ref, kafka}}
	r.Goals = Evaluate(r)
	return r
}

func statuses(goals []Goal) []string {
	var out []string
	for _, g := range goals {
		out = append(out, g.Status)
	}
	return out
}

func TestGoals(t *testing.T) {
	r := sample()
	if got := statuses(r.Goals); !reflect.DeepEqual(got, []string{Met, Met, Met, Met, Met}) {
		t.Fatalf("goals %v: %+v", got, r.Goals)
	}
	if g := r.Goals[1]; g.Detail != "reference 40.0 ms, Kafka 25.0 ms (1.60×)" {
		t.Errorf("first response detail %q", g.Detail)
	}

	// Each goal missed on its own.
	ref := r.Target("reference")
	ref.Clients.Errors, ref.Clients.Answered, ref.Clients.Kinds = 3, 1997, map[string]int{"connect: connection refused": 2, "Metadata: timed out": 1}
	ref.Clients.FirstResponse.P99 = 51
	ref.Groups.StableSeconds = 8.5
	ref.Groups.Evictions = 2
	ref.Clients.IdlePerConnection = 65 << 10
	r.Goals = Evaluate(r)
	if got := statuses(r.Goals); !reflect.DeepEqual(got, []string{NotMet, NotMet, NotMet, NotMet, NotMet}) {
		t.Fatalf("goals %v: %+v", got, r.Goals)
	}
	if d := r.Goals[0].Detail; d != "1997 of 2000 answered, 3 errors: connect: connection refused ×2, Metadata: timed out ×1" {
		t.Errorf("errors detail %q", d)
	}
	ref.Groups.Stable, ref.Groups.StableGroups = false, 990
	if g := Evaluate(r)[2]; g.Status != NotMet || !strings.Contains(g.Detail, "990 of 1000") {
		t.Errorf("groups not all Stable: %+v", g)
	}

	// Missing figures are not measured, never met.
	r.Targets = r.Targets[:1] // no Kafka
	ref.Clients.Idle = nil    // no metrics
	ref.Groups = nil
	if got := statuses(Evaluate(r)); !reflect.DeepEqual(got, []string{NotMet, NotMeasured, NotMeasured, NotMeasured, NotMeasured}) {
		t.Fatalf("without Kafka, metrics or groups: %v", got)
	}
	r.Targets = nil
	for _, g := range Evaluate(r) {
		if g.Status != NotMeasured {
			t.Errorf("no targets: %+v", g)
		}
	}
	// Kafka not Stable: the reference cannot be compared with it.
	r = sample()
	r.Target("kafka").Groups.Stable = false
	if g := Evaluate(r)[2]; g.Status != NotMeasured {
		t.Errorf("Kafka not Stable: %+v", g)
	}
}

func TestMarkdown(t *testing.T) {
	md := Markdown(sample())
	for _, want := range []string{
		"# Load: the reference gateway beside Apache Kafka",
		"mode full: the issue's sizes",
		"| 2,000 clients connecting at once: 0 errors | MET | 2000 of 2000 answered |",
		"| p99 connect-to-first-response at most 2× Kafka's | MET | reference 40.0 ms, Kafka 25.0 ms (1.60×) |",
		"| 1,000 groups of 2 Stable within 2× Kafka's time | MET | reference 6.0 s, Kafka 4.0 s (1.50×) |",
		"| gateway memory per idle connection at most 64 KiB | MET | 10.0 KiB (resident memory 40.0 MiB → 60.0 MiB with 2000 connections) |",
		"## Connections: 2,000 clients at once",
		"| | reference | kafka | reference / kafka |",
		"| first response p99 (ms) | 40.0 | 25.0 | 1.60× |",
		"| gateway memory per idle connection (KiB) | 10.0 | — | |",
		"| gateway open file descriptors, idle | 2040 | — | |",
		"## Consumer groups: 1,000 groups of 2 members joining at once",
		"| all Stable after (s) | 6.0 | 4.0 | 1.50× |",
		"| coordinator memory per group (KiB) | 20.0 | — | |",
		"## Producers: 500 producers on 500 partitions, 2,500 records/s",
		"| publish p99 (ms) | 30.0 | 10.0 | 3.00× |",
		"| produces timed out | 0 | 0 | |",
		"## Topics: 10,000 in the namespace",
		"| all-topics Metadata p99 (ms) | 45.0 | 30.0 | 1.50× |",
		"| 50 at once: p99 (ms) | 400.0 | 200.0 | 2.00× |",
		"## Set-up\n\n- the reference ran with KOP_MAX_CONNECTIONS_PER_IP=10000",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(md, "Did not run to the end") {
		t.Error("a complete run lists failures")
	}

	r := sample()
	r.Mode, r.Sizes.Mode = "quick", "quick"
	r.Target("reference").Groups = nil
	r.Target("reference").Failures = []string{"groups: creating load-groups: timed out"}
	r.Target("kafka").Clients.Kinds = map[string]int{"Produce: NOT_LEADER_FOR_PARTITION": 3}
	md = Markdown(r)
	for _, want := range []string{
		"mode quick: smaller than the issue's sizes, goals evaluated at these",
		"| groups Stable | — | 1000 | |",
		"kafka's errors: Produce: NOT_LEADER_FOR_PARTITION ×3.",
		"## Did not run to the end\n\n- reference: groups: creating load-groups: timed out",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	if err := Write(r, dir); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, "load.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("load.json does not read back as the report:\n%s", js)
	}
	for _, key := range []string{`"first_response"`, `"p99_ms"`, `"idle_bytes_per_connection"`, `"stable_seconds"`, `"evictions"`, `"timed_out"`, `"response_bytes"`, `"goals"`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("load.json lacks %s", key)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "load.md"))
	if err != nil || string(md) != Markdown(r) {
		t.Errorf("load.md is not the rendering: %v", err)
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}
