package load

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Write writes load.json and load.md into dir.
func Write(r *Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "load.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "load.md"), []byte(Markdown(r)), 0o644)
}

// Markdown renders the run: the goals, then each scenario's figures side by side.
func Markdown(r *Report) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	s := r.Sizes
	p("# Load: the reference gateway beside Apache Kafka\n\n")
	mode := "full: the issue's sizes"
	if s.Mode != "full" {
		mode = s.Mode + ": smaller than the issue's sizes, goals evaluated at these"
	}
	p("`make load` on %s, %d CPUs, mode %s; %.1f minutes in all. Every figure is in `load.json`.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.CPUs, mode, r.WallSeconds/60)

	p("## Goals\n\n| goal | result | figures |\n|---|---|---|\n")
	for _, g := range r.Goals {
		p("| %s | %s | %s |\n", g.Goal, strings.ToUpper(g.Status), cell(g.Detail))
	}
	p("\n")

	targets := r.Targets
	header := func(title, what string) {
		p("## %s\n\n%s\n\n| |", title, what)
		for _, t := range targets {
			p(" %s |", t.Target)
		}
		if len(targets) == 2 {
			p(" %s / %s |", targets[0].Target, targets[1].Target)
		}
		p("\n|---|")
		for range targets {
			p("---:|")
		}
		if len(targets) == 2 {
			p("---:|")
		}
		p("\n")
	}
	// row writes one figure per target; ratio adds the first over the second.
	row := func(name string, ratio bool, f func(*Result) (float64, bool), format string) {
		p("| %s |", name)
		var vals []float64
		var oks []bool
		for _, t := range targets {
			v, ok := f(t)
			vals, oks = append(vals, v), append(oks, ok)
			if ok {
				p(" "+format+" |", v)
			} else {
				p(" — |")
			}
		}
		if len(targets) == 2 {
			if ratio && oks[0] && oks[1] && vals[1] != 0 {
				p(" %.2f× |", vals[0]/vals[1])
			} else {
				p(" |")
			}
		}
		p("\n")
	}
	kinds := func(get func(*Result) map[string]int) {
		for _, t := range targets {
			if k := get(t); len(k) > 0 {
				p("\n%s's errors: %s.", t.Target, topKinds(k, 8))
			}
		}
		p("\n\n")
	}
	gauge := func(get func(*Result) *Gauges, of func(*Gauges) float64) func(*Result) (float64, bool) {
		return func(t *Result) (float64, bool) {
			if g := get(t); g != nil {
				return of(g), true
			}
			return 0, false
		}
	}

	header(fmt.Sprintf("Connections: %s clients at once", count(s.Clients)),
		"Each client connects and sends ApiVersions, Metadata (all topics), a one-record produce (acks all) to one of 8 partitions "+
			"(each written once before, not measured) and a fetch of it, "+
			fmt.Sprintf("within %s. First response: from starting to connect to ApiVersions' answer. ", s.ClientTimeout)+
			"The gateway's figures are read with the answered clients still connected and idle.")
	cl := func(f func(*ClientsResult) float64) func(*Result) (float64, bool) {
		return func(t *Result) (float64, bool) {
			if t.Clients == nil {
				return 0, false
			}
			return f(t.Clients), true
		}
	}
	row("answered", false, cl(func(c *ClientsResult) float64 { return float64(c.Answered) }), "%.0f")
	row("errors", false, cl(func(c *ClientsResult) float64 { return float64(c.Errors) }), "%.0f")
	row("first response p50 (ms)", true, cl(func(c *ClientsResult) float64 { return c.FirstResponse.P50 }), "%.1f")
	row("first response p99 (ms)", true, cl(func(c *ClientsResult) float64 { return c.FirstResponse.P99 }), "%.1f")
	row("first response max (ms)", true, cl(func(c *ClientsResult) float64 { return c.FirstResponse.Max }), "%.1f")
	row("all four p50 (ms)", true, cl(func(c *ClientsResult) float64 { return c.AllSteps.P50 }), "%.1f")
	row("all four p99 (ms)", true, cl(func(c *ClientsResult) float64 { return c.AllSteps.P99 }), "%.1f")
	row("all answered after (s)", true, cl(func(c *ClientsResult) float64 { return c.WallSeconds }), "%.1f")
	idle := func(t *Result) *Gauges {
		if t.Clients == nil {
			return nil
		}
		return t.Clients.Idle
	}
	row("gateway resident memory, idle (MiB)", false, gauge(idle, func(g *Gauges) float64 { return g.RSS / (1 << 20) }), "%.1f")
	row("gateway memory per idle connection (KiB)", false, func(t *Result) (float64, bool) {
		if t.Clients == nil || t.Clients.Idle == nil || t.Clients.Before == nil {
			return 0, false
		}
		return t.Clients.IdlePerConnection / 1024, true
	}, "%.1f")
	row("gateway open file descriptors, idle", false, gauge(idle, func(g *Gauges) float64 { return g.FDs }), "%.0f")
	row("gateway connections (kop_connections)", false, gauge(idle, func(g *Gauges) float64 { return g.Connections }), "%.0f")
	kinds(func(t *Result) map[string]int {
		if t.Clients == nil {
			return nil
		}
		return t.Clients.Kinds
	})

	header(fmt.Sprintf("Consumer groups: %s groups of 2 members joining at once", count(s.Groups)),
		fmt.Sprintf("Raw group protocol: JoinGroup (MEMBER_ID_REQUIRED honoured), SyncGroup, Heartbeat every %s with a %s session, "+
			"rejoining when told to. Stable: every group's two members synced in one generation (bound %s); "+
			"then %s of heartbeats. The gateway's memory is read once Stable, with the members connected.",
			s.Heartbeat, s.SessionTimeout, s.GroupTime, s.HeartbeatTime))
	gr := func(f func(*GroupsResult) float64) func(*Result) (float64, bool) {
		return func(t *Result) (float64, bool) {
			if t.Groups == nil {
				return 0, false
			}
			return f(t.Groups), true
		}
	}
	row("groups Stable", false, gr(func(g *GroupsResult) float64 { return float64(g.StableGroups) }), "%.0f")
	row("all Stable after (s)", true, gr(func(g *GroupsResult) float64 { return g.StableSeconds }), "%.1f")
	row("heartbeat p50 (ms)", true, gr(func(g *GroupsResult) float64 { return g.Heartbeats.P50 }), "%.1f")
	row("heartbeat p99 (ms)", true, gr(func(g *GroupsResult) float64 { return g.Heartbeats.P99 }), "%.1f")
	row("heartbeats", false, gr(func(g *GroupsResult) float64 { return float64(g.Heartbeats.Count) }), "%.0f")
	row("live members evicted", false, gr(func(g *GroupsResult) float64 { return float64(g.Evictions) }), "%.0f")
	row("rebalances once Stable", false, gr(func(g *GroupsResult) float64 { return float64(g.Rebalances) }), "%.0f")
	stable := func(t *Result) *Gauges {
		if t.Groups == nil {
			return nil
		}
		return t.Groups.After
	}
	row("gateway resident memory, Stable (MiB)", false, gauge(stable, func(g *Gauges) float64 { return g.RSS / (1 << 20) }), "%.1f")
	row("coordinator memory per group (KiB)", false, func(t *Result) (float64, bool) {
		if t.Groups == nil || t.Groups.After == nil || t.Groups.Before == nil {
			return 0, false
		}
		return t.Groups.PerGroup / 1024, true
	}, "%.1f")
	row("groups coordinated (kop_groups)", false, gauge(stable, func(g *Gauges) float64 { return g.Groups }), "%.0f")
	kinds(func(t *Result) map[string]int {
		if t.Groups == nil {
			return nil
		}
		return t.Groups.Kinds
	})

	header(fmt.Sprintf("Producers: %s producers on %s partitions, %s records/s", count(s.Producers), count(s.Producers), count(s.ProduceRate)),
		fmt.Sprintf("One record of %d bytes a request, acks all, each producer on its own connection and partition, for %s "+
			"(every partition written once before, not measured, asked again while it answers a retriable error such as NOT_LEADER_FOR_PARTITION). Timed out: answered REQUEST_TIMED_OUT, or no answer within %s.",
			produceValue, s.ProduceTime, produceTimeout+5*time.Second))
	pr := func(f func(*ProducersResult) float64) func(*Result) (float64, bool) {
		return func(t *Result) (float64, bool) {
			if t.Producers == nil {
				return 0, false
			}
			return f(t.Producers), true
		}
	}
	row("records acknowledged", false, pr(func(x *ProducersResult) float64 { return float64(x.Acked) }), "%.0f")
	row("records sent", false, pr(func(x *ProducersResult) float64 { return float64(x.Sent) }), "%.0f")
	row("achieved rate (records/s)", true, pr(func(x *ProducersResult) float64 { return x.Achieved }), "%.0f")
	row("publish p50 (ms)", true, pr(func(x *ProducersResult) float64 { return x.Latency.P50 }), "%.1f")
	row("publish p99 (ms)", true, pr(func(x *ProducersResult) float64 { return x.Latency.P99 }), "%.1f")
	row("publish max (ms)", true, pr(func(x *ProducersResult) float64 { return x.Latency.Max }), "%.1f")
	row("produces timed out", false, pr(func(x *ProducersResult) float64 { return float64(x.TimedOut) }), "%.0f")
	after := func(t *Result) *Gauges {
		if t.Producers == nil {
			return nil
		}
		return t.Producers.After
	}
	row("gateway resident memory (MiB)", false, gauge(after, func(g *Gauges) float64 { return g.RSS / (1 << 20) }), "%.1f")
	kinds(func(t *Result) map[string]int {
		if t.Producers == nil {
			return nil
		}
		return t.Producers.Kinds
	})

	header(fmt.Sprintf("Topics: %s in the namespace", count(s.Topics)),
		fmt.Sprintf("Created through the target's CreateTopics, %d a request, %d requests at a time (bound %s); "+
			"then, once all-topics Metadata lists them all, %d all-topics Metadata one after another, and %d at once on as many connections.",
			s.TopicBatch, s.TopicParallel, s.TopicTime, s.MetadataSamples, s.MetadataBurst))
	tp := func(f func(*TopicsResult) float64) func(*Result) (float64, bool) {
		return func(t *Result) (float64, bool) {
			if t.Topics == nil {
				return 0, false
			}
			return f(t.Topics), true
		}
	}
	row("topics made", false, tp(func(x *TopicsResult) float64 { return float64(x.Created) }), "%.0f")
	row("making them (s)", true, tp(func(x *TopicsResult) float64 { return x.CreateSeconds }), "%.1f")
	row("then until all are listed (s)", true, tp(func(x *TopicsResult) float64 { return x.VisibleSeconds }), "%.1f")
	row("topics listed", false, tp(func(x *TopicsResult) float64 { return float64(x.Listed) }), "%.0f")
	row("all-topics Metadata size (KiB)", true, tp(func(x *TopicsResult) float64 { return float64(x.ResponseBytes) / 1024 }), "%.1f")
	row("all-topics Metadata p50 (ms)", true, tp(func(x *TopicsResult) float64 { return x.Metadata.P50 }), "%.1f")
	row("all-topics Metadata p99 (ms)", true, tp(func(x *TopicsResult) float64 { return x.Metadata.P99 }), "%.1f")
	row(fmt.Sprintf("%d at once: p50 (ms)", s.MetadataBurst), true, tp(func(x *TopicsResult) float64 { return x.Burst.P50 }), "%.1f")
	row(fmt.Sprintf("%d at once: p99 (ms)", s.MetadataBurst), true, tp(func(x *TopicsResult) float64 { return x.Burst.P99 }), "%.1f")
	tafter := func(t *Result) *Gauges {
		if t.Topics == nil {
			return nil
		}
		return t.Topics.After
	}
	row("gateway resident memory (MiB)", false, gauge(tafter, func(g *Gauges) float64 { return g.RSS / (1 << 20) }), "%.1f")
	kinds(func(t *Result) map[string]int {
		if t.Topics == nil {
			return nil
		}
		return t.Topics.Kinds
	})

	var failures []string
	for _, t := range targets {
		for _, f := range t.Failures {
			failures = append(failures, t.Target+": "+f)
		}
	}
	if len(failures) > 0 {
		p("## Did not run to the end\n\n")
		for _, f := range failures {
			p("- %s\n", f)
		}
		p("\n")
	}
	if len(r.Notes) > 0 {
		p("## Set-up\n\n")
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
	}
	return b.String()
}

// topKinds lists the n most frequent error kinds, "kind ×count".
func topKinds(kinds map[string]int, n int) string {
	type kc struct {
		kind  string
		count int
	}
	var all []kc
	for k, c := range kinds {
		all = append(all, kc{k, c})
	}
	slices.SortFunc(all, func(a, b kc) int {
		return cmp.Or(cmp.Compare(b.count, a.count), strings.Compare(a.kind, b.kind))
	})
	var parts []string
	for i, e := range all {
		if i == n {
			parts = append(parts, fmt.Sprintf("%d more kinds", len(all)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", e.kind, e.count))
	}
	return strings.Join(parts, ", ")
}

// cell keeps a table cell on its row.
func cell(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }
