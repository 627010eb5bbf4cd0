package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kop-conformance/kop-conformance/bench/report"
)

func vars(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func mustConfig(t *testing.T, vs map[string]string) Config {
	t.Helper()
	c, err := FromEnv(vars(vs), time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestScheduleAlternatesPathsRoundByRound(t *testing.T) {
	ws := []Workload{
		{Spec: report.Spec{Name: "a", Paths: report.Paths}, Rounds: 3},
		{Spec: report.Spec{Name: "b", Paths: []string{report.Gateway, report.Kafka}}, Rounds: 2},
	}
	var got []string
	for _, s := range Schedule(ws) {
		flags := ""
		if s.First {
			flags += "+"
		}
		if s.Last {
			flags += "-"
		}
		got = append(got, fmt.Sprintf("%s%d%c%s", ws[s.W].Name, s.Round, s.Path[0], flags))
	}
	want := "a1g+ a1p+ a1k+ a2g a2p a2k a3g- a3p- a3k- b1g+ b1k+ b2g- b2k-"
	if strings.Join(got, " ") != want {
		t.Fatalf("schedule\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	one := Schedule([]Workload{{Spec: report.Spec{Name: "w", Paths: []string{report.Pulsar}}, Rounds: 1}})
	if len(one) != 1 || !one[0].First || !one[0].Last {
		t.Fatalf("a single round is both first and last: %+v", one)
	}
}

func TestEveryWorkloadGetsItsRoundsOnEveryPath(t *testing.T) {
	c := mustConfig(t, nil)
	ws, _, err := Plan(c)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range Schedule(ws) {
		count[ws[s.W].Name+"/"+s.Path]++
	}
	for _, w := range ws {
		for _, p := range w.Paths {
			if count[w.Name+"/"+p] != c.Rounds {
				t.Errorf("%s on %s: %d rounds, want %d", w.Name, p, count[w.Name+"/"+p], c.Rounds)
			}
		}
	}
}

// The defaults must fit their budget by the harness's own estimates (the goal: make bench
// under 15 minutes on two cores; the budget guard skips rounds when the guesses are wrong).
func TestDefaultsFitTheirBudget(t *testing.T) {
	for _, mode := range []string{"full", "quick"} {
		c := mustConfig(t, map[string]string{"BENCH": mode})
		ws, _, err := Plan(c)
		if err != nil {
			t.Fatal(err)
		}
		plan := PlanTime(Warmup(c, c.Paths), ws, c)
		t.Logf("%s: %d workloads, %d rounds, planned %s of a %s budget", mode, len(ws), len(Schedule(ws)), plan.Round(time.Second), c.Budget)
		if plan > c.Budget-teardownReserve {
			t.Errorf("%s: planned %s, over the budget %s less %s for teardown", mode, plan, c.Budget, teardownReserve)
		}
		if mode == "quick" && plan > 3*time.Minute+30*time.Second {
			t.Errorf("quick is a smoke run of 2-3 minutes, planned %s", plan)
		}
		if mode == "full" && c.Budget > report.MaxWallMinutes*time.Minute {
			t.Errorf("the full budget %s is beyond the %d-minute goal", c.Budget, report.MaxWallMinutes)
		}
	}
}

func TestEstimateCountsWhatSurroundsTheRound(t *testing.T) {
	c := mustConfig(t, nil)
	w := Workload{Spec: report.Spec{Kind: report.MaxThroughput, Partitions: 1000, Connections: 1, Scale: true}, Duration: 3 * time.Second}
	mid := Estimate(w, Step{Path: report.Gateway}, c)
	first := Estimate(w, Step{Path: report.Gateway, First: true}, c)
	firstPulsar := Estimate(w, Step{Path: report.Pulsar, First: true}, c)
	if mid <= w.Duration || first <= firstPulsar || firstPulsar <= mid+10*time.Second {
		t.Fatalf("a middle round %s, a first gateway round %s (with the idle measurement), a first pulsar round %s", mid, first, firstPulsar)
	}
	w.CatchUp = true
	if Estimate(w, Step{}, c) != mid+c.CatchUp {
		t.Fatal("a catch-up read adds its cap")
	}
}

func TestBudget(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	b := newBudget(Config{Started: start, Budget: 10 * time.Minute})
	end := start.Add(10*time.Minute - teardownReserve)
	if !b.allows(end.Add(-10*time.Second), 10*time.Second) {
		t.Error("a round ending exactly at the deadline fits")
	}
	if b.allows(end.Add(-10*time.Second), 11*time.Second) {
		t.Error("a round ending after the deadline must be skipped")
	}
}
