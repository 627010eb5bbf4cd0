package bench

import (
	"time"

	"github.com/kop-conformance/kop-conformance/bench/report"
)

// Step is one round of one workload on one path.
type Step struct {
	W     int // index of the workload
	Round int // 1-based
	Path  string
	First bool // the workload's first round on the path: its topic is created before it
	Last  bool // its last round there: its topic is deleted after it
}

// Schedule orders the rounds workload by workload (so only one workload's topics exist at a
// time), and within a workload round by round, each round visiting its paths in order:
// gateway, pulsar, kafka, gateway, pulsar, kafka, ... Alternating keeps slow drifts of the
// machine (page cache, JIT, the other containers' background work) from favouring a path.
func Schedule(ws []Workload) []Step {
	var out []Step
	for i, w := range ws {
		for r := 1; r <= w.Rounds; r++ {
			for _, p := range w.Paths {
				out = append(out, Step{W: i, Round: r, Path: p, First: r == 1, Last: r == w.Rounds})
			}
		}
	}
	return out
}

// Guesses of what surrounds a round's sending time, from the two-core machine; the budget
// check uses them, so a wrong guess costs skipped rounds, never an overrun.
const (
	roundOverhead     = 700 * time.Millisecond // clients made, primed and closed; stats read
	perClient         = 30 * time.Millisecond  // each further producer client
	perPartitionRound = 2 * time.Millisecond   // a Pulsar producer opens and closes one per partition
	tailDrain         = time.Second            // a fixed-rate round waits for its consumer
	topicSetup        = time.Second            // create a topic and prime it...
	perPartitionSetup = 12 * time.Millisecond  // ...one record to each partition
	topicDelete       = 500 * time.Millisecond
	perPartitionDel   = 2 * time.Millisecond
	idleMeasure       = 2 * time.Second // two forced GCs and a second of idleness
	// StartupGuess is starting Pulsar, the gateway and Kafka side by side and stopping them.
	StartupGuess = 90 * time.Second
	// teardownReserve is kept from the budget for stopping the containers and the reports.
	teardownReserve = 45 * time.Second
)

// Estimate is how long a step should take.
func Estimate(w Workload, s Step, c Config) time.Duration {
	d := w.Duration + roundOverhead + time.Duration(w.Connections-1)*perClient + time.Duration(w.Partitions)*perPartitionRound
	if w.CatchUp {
		d += c.CatchUp
	}
	if w.Kind == report.FixedRate {
		d += tailDrain
	}
	if s.First {
		d += topicSetup + time.Duration(w.Partitions)*perPartitionSetup
		if measuresIdle(w, s.Path) {
			d += idleMeasure
		}
	}
	if s.Last {
		d += topicDelete + time.Duration(w.Partitions)*perPartitionDel
	}
	return d
}

// PlanTime is the estimated time of a whole run: start-up, warm-up and every step.
func PlanTime(warm Workload, ws []Workload, c Config) time.Duration {
	total := StartupGuess
	for _, group := range [][]Workload{{warm}, ws} {
		for _, s := range Schedule(group) {
			total += Estimate(group[s.W], s, c)
		}
	}
	return total
}

// budget skips what would end past its deadline.
type budget struct{ deadline time.Time }

func newBudget(c Config) budget {
	return budget{deadline: c.Started.Add(c.Budget - teardownReserve)}
}

// allows says whether something taking need, started now, ends within the budget.
func (b budget) allows(now time.Time, need time.Duration) bool {
	return !now.Add(need).After(b.deadline)
}
