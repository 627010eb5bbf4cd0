package bench

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kop-conformance/kop-conformance/bench/report"
)

func TestFromEnvDefaults(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	full := mustConfig(t, nil)
	if full.Mode != "full" || full.Rounds != 3 || full.Duration != 4*time.Second || !slices.Equal(full.Partitions, []int{10, 100, 1000}) ||
		!slices.Equal(full.Connections, []int{10, 100}) || !slices.Equal(full.Paths, report.Paths) || full.Rate != 5000 || !full.Started.Equal(now) {
		t.Fatalf("full defaults: %+v", full)
	}
	quick := mustConfig(t, map[string]string{"BENCH": "quick"})
	if quick.Duration >= full.Duration || len(quick.Workloads) == 0 || quick.Rounds != 3 {
		t.Fatalf("quick defaults: %+v", quick)
	}
}

func TestFromEnvOverrides(t *testing.T) {
	c := mustConfig(t, map[string]string{
		"BENCH_ROUNDS": "5", "BENCH_DURATION": "12s", "BENCH_RATE": "2000", "BENCH_PARTITIONS": "10, 50",
		"BENCH_CONNECTIONS": "none", "BENCH_PATHS": "kafka gateway kafka", "BENCH_WORKLOADS": "max-* rate-1KiB-p1",
		"BENCH_STARTED_AT": "1799999900", "BENCH_BUDGET": "20m",
	})
	if c.Rounds != 5 || c.Duration != 12*time.Second || c.Rate != 2000 || !slices.Equal(c.Partitions, []int{10, 50}) || len(c.Connections) != 0 ||
		!slices.Equal(c.Paths, []string{report.Kafka, report.Gateway}) || c.Budget != 20*time.Minute ||
		c.Started.Unix() != 1799999900 || c.StartedFrom != "make bench's start" {
		t.Fatalf("overrides: %+v", c)
	}
}

func TestFromEnvRefusesBadValues(t *testing.T) {
	for k, v := range map[string]string{
		"BENCH": "fast", "BENCH_ROUNDS": "0", "BENCH_DURATION": "5", "BENCH_RATE": "-1", "BENCH_PARTITIONS": "1",
		"BENCH_CONNECTIONS": "ten", "BENCH_PATHS": "redpanda", "BENCH_WORKLOADS": "[", "BENCH_STARTED_AT": "soon", "BENCH_BUDGET": "0s",
	} {
		if _, err := FromEnv(vars(map[string]string{k: v}), time.Now()); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: error %v, want one naming the variable", k, v, err)
		}
	}
	if _, err := FromEnv(vars(map[string]string{"BENCH_PARTITIONS": "2000"}), time.Now()); err == nil {
		t.Error("more partitions than a topic may have must be refused")
	}
}

func names(ws []Workload) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Name)
	}
	return out
}

func TestPlanFull(t *testing.T) {
	ws, series, err := Plan(mustConfig(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"scale-p10", "scale-p100", "scale-p1000", "max-1KiB-p1", "max-1KiB-p16", "max-100B-p1", "max-100KiB-p1", "max-1KiB-p1-lz4",
		"max-1KiB-p1-acks1", "max-1KiB-p1-sarama", "max-1KiB-p1-kafka-go", "rate-1KiB-p1", "scale-c10", "scale-c100"}
	if !slices.Equal(names(ws), want) {
		t.Fatalf("workloads %v", names(ws))
	}
	for _, w := range ws {
		switch {
		case w.Producer == Sarama || w.Producer == KafkaGo || w.Acks == "1":
			if w.PulsarFrom != base || slices.Contains(w.Paths, report.Pulsar) {
				t.Errorf("%s must borrow %s's pulsar rounds: %+v", w.Name, base, w.Spec)
			}
		case !slices.Equal(w.Paths, report.Paths):
			t.Errorf("%s runs %v, want every path", w.Name, w.Paths)
		}
	}
	if len(series) != 2 || series[0].Points[0].Workload != base || series[0].Points[3].X != 1000 || series[1].Points[2].X != 100 {
		t.Fatalf("series %+v", series)
	}
	if w := Warmup(mustConfig(t, nil), report.Paths); w.Name != "warmup" || w.Partitions != 1 || w.RecordBytes != 1024 || w.Rounds != 1 || w.CatchUp {
		t.Fatalf("warm-up %+v", w)
	}
}

func TestPlanSelection(t *testing.T) {
	// The sarama workload alone has no stand-in: it measures pulsar itself.
	ws, series, err := Plan(mustConfig(t, map[string]string{"BENCH_WORKLOADS": "*sarama"}))
	if err != nil || len(ws) != 1 || ws[0].PulsarFrom != "" || !slices.Equal(ws[0].Paths, report.Paths) || len(series) != 0 {
		t.Fatalf("sarama alone: %+v %v %v", ws, series, err)
	}
	// Without pulsar nothing borrows it.
	ws, _, _ = Plan(mustConfig(t, map[string]string{"BENCH_PATHS": "gateway"}))
	for _, w := range ws {
		if w.PulsarFrom != "" || !slices.Equal(w.Paths, []string{report.Gateway}) {
			t.Fatalf("gateway only: %s %+v", w.Name, w.Spec)
		}
	}
	// A series keeps the points that run, and needs two of them.
	_, series, _ = Plan(mustConfig(t, map[string]string{"BENCH_WORKLOADS": "max-1KiB-p1 scale-p1000"}))
	if len(series) != 1 || len(series[0].Points) != 2 || series[0].Name != "partitions" {
		t.Fatalf("series %+v", series)
	}
	if _, _, err := Plan(mustConfig(t, map[string]string{"BENCH_WORKLOADS": "nothing-*"})); err == nil {
		t.Fatal("a selection of nothing must be refused")
	}
}

func TestQuickPlan(t *testing.T) {
	ws, series, err := Plan(mustConfig(t, map[string]string{"BENCH": "quick"}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(ws), []string{"scale-p10", "max-1KiB-p1", "rate-1KiB-p1"}) || len(series) != 1 {
		t.Fatalf("quick: %v %+v", names(ws), series)
	}
	if !measuresIdle(ws[0], report.Gateway) || measuresIdle(ws[0], report.Kafka) || measuresIdle(ws[1], report.Gateway) {
		t.Fatal("the partition points measure idle partitions on the gateway, and only they")
	}
}
