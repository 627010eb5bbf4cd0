package load

import (
	"fmt"
	"strings"
)

// Goal is one of the goals and whether the run met it.
type Goal struct {
	Goal   string `json:"goal"`
	Status string `json:"status"` // met, not met, not measured
	Detail string `json:"detail"`
}

// Goal statuses.
const (
	Met         = "met"
	NotMet      = "not met"
	NotMeasured = "not measured"
)

// MaxIdleBytesPerConnection is the goal for the gateway's memory per idle connection.
const MaxIdleBytesPerConnection = 64 << 10

// Evaluate computes the goals from the run, for the reference against Kafka:
// every client answered with no error; the clients' p99 first response at most twice
// Kafka's; every group Stable within twice Kafka's time; no live member evicted; at most 64
// KiB of gateway memory per idle connection. A goal whose figures are missing (a target or a
// scenario that did not run, a gateway without metrics) is not measured, never met.
func Evaluate(r *Report) []Goal {
	ref, kafka := r.Target("reference"), r.Target("kafka")
	s := r.Sizes
	var goals []Goal
	add := func(goal, status, detail string, args ...any) {
		goals = append(goals, Goal{goal, status, fmt.Sprintf(detail, args...)})
	}

	goal := fmt.Sprintf("%s clients connecting at once: 0 errors", count(s.Clients))
	switch c := clientsOf(ref); {
	case c == nil:
		add(goal, NotMeasured, "the connections scenario did not run on the reference")
	case c.Errors == 0 && c.Answered == c.Clients:
		add(goal, Met, "%d of %d answered", c.Answered, c.Clients)
	default:
		add(goal, NotMet, "%d of %d answered, %d errors: %s", c.Answered, c.Clients, c.Errors, topKinds(c.Kinds, 3))
	}

	goal = "p99 connect-to-first-response at most 2× Kafka's"
	switch rc, kc := clientsOf(ref), clientsOf(kafka); {
	case rc == nil || kc == nil || rc.FirstResponse.Count == 0 || kc.FirstResponse.Count == 0:
		add(goal, NotMeasured, "needs answered clients on both targets")
	default:
		ratio := rc.FirstResponse.P99 / max(kc.FirstResponse.P99, 0.01)
		status := Met
		if ratio > 2 {
			status = NotMet
		}
		add(goal, status, "reference %.1f ms, Kafka %.1f ms (%.2f×)", rc.FirstResponse.P99, kc.FirstResponse.P99, ratio)
	}

	goal = fmt.Sprintf("%s groups of 2 Stable within 2× Kafka's time", count(s.Groups))
	switch rg, kg := groupsOf(ref), groupsOf(kafka); {
	case rg == nil || kg == nil:
		add(goal, NotMeasured, "needs the groups scenario on both targets")
	case !kg.Stable:
		add(goal, NotMeasured, "Kafka's groups were not all Stable within %.0f s (%d of %d)", kg.StableSeconds, kg.StableGroups, kg.Groups)
	case !rg.Stable:
		add(goal, NotMet, "%d of %d groups Stable within the bound of %.0f s (Kafka: %.1f s)", rg.StableGroups, rg.Groups, rg.StableSeconds, kg.StableSeconds)
	default:
		ratio := rg.StableSeconds / max(kg.StableSeconds, 0.001)
		status := Met
		if ratio > 2 {
			status = NotMet
		}
		add(goal, status, "reference %.1f s, Kafka %.1f s (%.2f×)", rg.StableSeconds, kg.StableSeconds, ratio)
	}

	goal = "no heartbeat miss evicts a live member"
	switch g := groupsOf(ref); {
	case g == nil:
		add(goal, NotMeasured, "the groups scenario did not run on the reference")
	case g.Evictions == 0:
		add(goal, Met, "0 evictions of %d members; %d rebalances once Stable", g.Members, g.Rebalances)
	default:
		add(goal, NotMet, "%d live members evicted (UNKNOWN_MEMBER_ID)", g.Evictions)
	}

	goal = "gateway memory per idle connection at most 64 KiB"
	switch c := clientsOf(ref); {
	case c == nil || c.Before == nil || c.Idle == nil:
		add(goal, NotMeasured, "needs the gateway's metrics before and with the clients connected")
	case c.IdlePerConnection <= MaxIdleBytesPerConnection:
		add(goal, Met, "%.1f KiB (resident memory %s → %s with %.0f connections)", c.IdlePerConnection/1024, mib(c.Before.RSS), mib(c.Idle.RSS), c.Idle.Connections)
	default:
		add(goal, NotMet, "%.1f KiB (resident memory %s → %s with %.0f connections)", c.IdlePerConnection/1024, mib(c.Before.RSS), mib(c.Idle.RSS), c.Idle.Connections)
	}
	return goals
}

func clientsOf(r *Result) *ClientsResult {
	if r == nil {
		return nil
	}
	return r.Clients
}

func groupsOf(r *Result) *GroupsResult {
	if r == nil {
		return nil
	}
	return r.Groups
}

// count writes n with thousands separated, as the issue does (2,000).
func count(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

func mib(bytes float64) string { return fmt.Sprintf("%.1f MiB", bytes/(1<<20)) }
