package report

import (
	"fmt"
	"strings"
)

// The goals and their thresholds.
const (
	MinProduceRatio     = 0.8 // gateway produce MB/s over pulsar-client-go's
	MinCatchUpRatio     = 0.8 // gateway catch-up read MB/s over pulsar-client-go's
	MaxP99Ratio         = 1.5 // gateway fixed-rate p99 publish latency over direct Pulsar's
	MaxIdlePartitionKiB = 32  // gateway memory per idle open partition
	MaxRSSAt1000MiB     = 256 // gateway RSS with 1,000 partitions open
	MaxWallMinutes      = 15  // make bench's wall time
)

const (
	manyPartitions = 1000 // the partition count the RSS goal is about
	kib            = 1 << 10
	mib            = 1 << 20
)

// evaluate judges every goal from the run; a goal the run did not measure is neither met
// nor failed.
func evaluate(r *Report) []Goal {
	return []Goal{
		// Only where the gateway is the sole difference from the pulsar path: franz-go with
		// acks=all, Pulsar's own durability; the other clients and acks=1 show their ratios in
		// their tables.
		ratioGoal(r, "produce-vs-pulsar", "gateway produce throughput >= 0.8x pulsar-client-go", "mb_per_s",
			func(s Spec) bool {
				return s.Kind == MaxThroughput && !s.Scale && s.PulsarFrom == "" && s.Producer == "franz-go" && s.Acks == "all"
			}, MinProduceRatio, false),
		ratioGoal(r, "catch-up-vs-pulsar", "gateway catch-up consume throughput >= 0.8x pulsar-client-go", "catch_up_mb_per_s",
			func(s Spec) bool { return s.CatchUp }, MinCatchUpRatio, false),
		ratioGoal(r, "p99-vs-pulsar", "fixed-rate p99 publish latency <= 1.5x direct Pulsar", "publish_p99_ms",
			func(s Spec) bool { return s.Kind == FixedRate }, MaxP99Ratio, true),
		idleGoal(r),
		rssGoal(r),
		wallGoal(r),
	}
}

// ratioGoal holds the gateway's ratio over pulsar of figure, in every workload that counts,
// to the threshold: the worst workload decides (the largest ratio when lower is better).
func ratioGoal(r *Report, id, text, figure string, counts func(Spec) bool, threshold float64, lowerIsBetter bool) Goal {
	g := Goal{ID: id, Text: text, Unit: "x"}
	if lowerIsBetter {
		g.Target = fmt.Sprintf("<= %.1fx", threshold)
	} else {
		g.Target = fmt.Sprintf(">= %.1fx", threshold)
	}
	var parts []string
	worstName := ""
	for _, w := range r.Workloads {
		if !counts(w.Spec) {
			continue
		}
		v := w.RatioOf(figure, Pulsar)
		if v == nil {
			parts = append(parts, w.Spec.Name+" not measured")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2fx", w.Spec.Name, *v))
		if g.Value == nil || (lowerIsBetter && *v > *g.Value) || (!lowerIsBetter && *v < *g.Value) {
			val := *v
			g.Value, worstName = &val, w.Spec.Name
		}
	}
	if g.Value == nil {
		g.Detail = "not measured in this run"
		if len(parts) > 0 {
			g.Detail += ": " + strings.Join(parts, ", ")
		}
		return g
	}
	met := *g.Value >= threshold
	if lowerIsBetter {
		met = *g.Value <= threshold
	}
	g.Met = &met
	g.Detail = "worst: " + worstName + "; " + strings.Join(parts, ", ")
	return g
}

// idleGoal takes the idle measurement with the most partitions (the per-partition cost is
// least blurred by the gateway's other memory there).
func idleGoal(r *Report) Goal {
	g := Goal{ID: "idle-partition-memory", Text: "an idle open partition costs <= 32 KiB of gateway memory", Target: "<= 32 KiB", Unit: "KiB"}
	var best *IdlePartitions
	from := ""
	for _, w := range r.Workloads {
		for _, rd := range w.Rounds {
			idle := rd.Resources.Idle
			if idle == nil || idle.Partitions == 0 {
				continue
			}
			if best == nil || idle.Partitions > best.Partitions || (idle.Partitions == best.Partitions && idle.PerPartition > best.PerPartition) {
				best, from = idle, w.Spec.Name
			}
		}
	}
	if best == nil {
		g.Detail = "not measured in this run"
		return g
	}
	v := best.PerPartition / kib
	met := v <= MaxIdlePartitionKiB
	g.Value, g.Met = &v, &met
	g.Detail = fmt.Sprintf("%s: %d partitions opened; RSS %+.1f MiB, heap after GC %+.1f MiB; the larger over the partitions",
		from, best.Partitions, best.RSSDelta/mib, best.HeapDelta/mib)
	return g
}

// rssGoal takes the gateway's largest RSS in any round of a workload with 1,000 or more
// partitions.
func rssGoal(r *Report) Goal {
	g := Goal{ID: "rss-1000-partitions", Text: "1,000 open partitions <= 256 MiB gateway RSS", Target: "<= 256 MiB", Unit: "MiB"}
	from := ""
	for _, w := range r.Workloads {
		if w.Spec.Partitions < manyPartitions {
			continue
		}
		for _, rd := range w.Rounds {
			if rd.Path != Gateway || !rd.OK() || rd.Resources.GatewayRSS == nil {
				continue
			}
			if v := *rd.Resources.GatewayRSS / mib; g.Value == nil || v > *g.Value {
				g.Value, from = &v, w.Spec.Name
			}
		}
	}
	if g.Value == nil {
		g.Detail = "not measured in this run (no workload with 1,000 partitions ran on the gateway)"
		return g
	}
	met := *g.Value <= MaxRSSAt1000MiB
	g.Met = &met
	g.Detail = "the largest RSS at the end of a gateway round of " + from + " (while loaded, not idle)"
	return g
}

func wallGoal(r *Report) Goal {
	g := Goal{ID: "wall-time", Text: "make bench runs in under 15 minutes", Target: "< 15 min", Unit: "min"}
	if r.WallSeconds <= 0 {
		g.Detail = "not measured"
		return g
	}
	v := r.WallSeconds / 60
	met := v < MaxWallMinutes
	g.Value, g.Met = &v, &met
	g.Detail = "from " + r.WallFrom
	return g
}
