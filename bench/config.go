package bench

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kop-conformance/kop-conformance/bench/report"
)

// Config is what a run does, read from the environment (see FromEnv).
type Config struct {
	Mode          string        // full or quick
	Rounds        int           // rounds per path of every workload
	Duration      time.Duration // sending time of a maximum-throughput round
	RateDuration  time.Duration // sending time of a fixed-rate round
	ScaleDuration time.Duration // sending time of a cost-growth round
	CatchUp       time.Duration // the most a catch-up read may take
	Warmup        time.Duration // one discarded round per path before the workloads
	Settle        time.Duration // records sent in a round's first Settle are not timed
	Rate          int           // records/s of the fixed-rate workloads
	Partitions    []int         // cost-growth points beyond 1 partition
	Connections   []int         // cost-growth points beyond 1 producer client
	WindowRecords int           // records in flight per path at most
	WindowBytes   int           // record bytes in flight per path at most
	Budget        time.Duration // from Started: a round that would end later is skipped
	Started       time.Time     // make bench's start (BENCH_STARTED_AT), else the harness's
	StartedFrom   string        // which start Started is
	Workloads     []string      // name patterns (path.Match) selecting workloads; empty: all
	Paths         []string      // the paths to run
}

// defaults per mode: full fits make bench in 15 minutes on two cores, quick is a smoke run.
func defaults(mode string) Config {
	c := Config{Mode: mode, Rounds: 3, Rate: 5000, WindowRecords: 10_000, WindowBytes: 16 << 20,
		Settle: 500 * time.Millisecond, Paths: report.Paths}
	switch mode {
	case "quick":
		c.Duration, c.RateDuration, c.ScaleDuration = 1500*time.Millisecond, 1500*time.Millisecond, time.Second
		c.CatchUp, c.Warmup, c.Budget = time.Second, time.Second, 5*time.Minute
		c.Partitions, c.Connections = []int{10}, nil
		c.Workloads = []string{"max-1KiB-p1", "rate-1KiB-p1", "scale-p*"}
	default:
		c.Duration, c.RateDuration, c.ScaleDuration = 4*time.Second, 4*time.Second, 2*time.Second
		c.CatchUp, c.Warmup, c.Budget = 2*time.Second, 2*time.Second, 14*time.Minute
		c.Partitions, c.Connections = []int{10, 100, 1000}, []int{10, 100}
	}
	return c
}

// Variables are the environment variables FromEnv reads, with what they mean (the README's
// table and `bench -h` show them).
var Variables = [][2]string{
	{"BENCH", "full (default, about 13 minutes) or quick (a smoke run of 2-3 minutes)"},
	{"BENCH_WORKLOADS", "workloads to run, names or patterns, e.g. 'max-* rate-*' (default: the mode's)"},
	{"BENCH_PATHS", "paths to run: gateway pulsar kafka (default: all three)"},
	{"BENCH_ROUNDS", "rounds per path of each workload (default 3)"},
	{"BENCH_DURATION", "sending time of a maximum-throughput round (full 4s, quick 1.5s)"},
	{"BENCH_RATE_DURATION", "sending time of a fixed-rate round (full 4s, quick 1.5s)"},
	{"BENCH_SCALE_DURATION", "sending time of a cost-growth round (full 2s, quick 1s)"},
	{"BENCH_CATCHUP", "the longest a catch-up read may take (full 2s, quick 1s)"},
	{"BENCH_WARMUP", "sending time of the discarded warm-up round per path (full 2s, quick 1s)"},
	{"BENCH_RATE", "records/s of the fixed-rate workload (default 5000)"},
	{"BENCH_PARTITIONS", "cost-growth partition counts beyond 1 (full '10 100 1000', quick '10'; 'none' for no series)"},
	{"BENCH_CONNECTIONS", "cost-growth producer clients beyond 1 (full '10 100', quick none; 'none' for no series)"},
	{"BENCH_WINDOW_RECORDS", "records in flight per path at most (default 10000)"},
	{"BENCH_WINDOW_BYTES", "record bytes in flight per path at most (default 16777216)"},
	{"BENCH_BUDGET", "time budget from make bench's start; rounds that would end later are skipped (full 14m, quick 5m)"},
	{"BENCH_STARTED_AT", "make bench's start in Unix seconds (set by fixtures/scripts/bench.sh)"},
}

// FromEnv reads the configuration; getenv is os.Getenv outside tests. A value that does not
// parse is an error, never silently the default.
func FromEnv(getenv func(string) string, now time.Time) (Config, error) {
	mode := getenv("BENCH")
	switch mode {
	case "", "full":
		mode = "full"
	case "quick":
	default:
		return Config{}, fmt.Errorf("BENCH=%q: want full or quick", mode)
	}
	c := defaults(mode)
	c.Started, c.StartedFrom = now, "the harness's start"
	var errs []string
	dur := func(name string, into *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: want a positive duration such as 5s", name, v))
				return
			}
			*into = d
		}
	}
	num := func(name string, into *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: want a positive integer", name, v))
				return
			}
			*into = n
		}
	}
	nums := func(name string, into *[]int) {
		v := getenv(name)
		if v == "" {
			return
		}
		var out []int // "none" leaves the series with its first point only
		for _, f := range fields(v) {
			if f == "none" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil || n <= 1 {
				errs = append(errs, fmt.Sprintf("%s: %q is not a count above 1", name, f))
				return
			}
			out = append(out, n)
		}
		*into = out
	}
	num("BENCH_ROUNDS", &c.Rounds)
	dur("BENCH_DURATION", &c.Duration)
	dur("BENCH_RATE_DURATION", &c.RateDuration)
	dur("BENCH_SCALE_DURATION", &c.ScaleDuration)
	dur("BENCH_CATCHUP", &c.CatchUp)
	dur("BENCH_WARMUP", &c.Warmup)
	dur("BENCH_BUDGET", &c.Budget)
	num("BENCH_RATE", &c.Rate)
	num("BENCH_WINDOW_RECORDS", &c.WindowRecords)
	num("BENCH_WINDOW_BYTES", &c.WindowBytes)
	nums("BENCH_PARTITIONS", &c.Partitions)
	nums("BENCH_CONNECTIONS", &c.Connections)
	for _, n := range c.Partitions {
		if n > maxPartitions {
			errs = append(errs, fmt.Sprintf("BENCH_PARTITIONS: %d is above the %d partitions a topic may have", n, maxPartitions))
		}
	}
	if v := getenv("BENCH_WORKLOADS"); v != "" {
		c.Workloads = fields(v)
		for _, p := range c.Workloads {
			if _, err := path.Match(p, ""); err != nil {
				errs = append(errs, fmt.Sprintf("BENCH_WORKLOADS: bad pattern %q", p))
			}
		}
	}
	if v := getenv("BENCH_PATHS"); v != "" {
		c.Paths = nil
		for _, p := range fields(v) {
			if !slices.Contains(report.Paths, p) {
				errs = append(errs, fmt.Sprintf("BENCH_PATHS: unknown path %q (gateway, pulsar or kafka)", p))
				continue
			}
			if !slices.Contains(c.Paths, p) {
				c.Paths = append(c.Paths, p)
			}
		}
	}
	if v := getenv("BENCH_STARTED_AT"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil || sec <= 0 || time.Unix(sec, 0).After(now.Add(time.Minute)) {
			errs = append(errs, fmt.Sprintf("BENCH_STARTED_AT=%q: want the Unix second make bench started", v))
		} else {
			c.Started, c.StartedFrom = time.Unix(sec, 0), "make bench's start"
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("bench: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// maxPartitions is the gateway's (and the suite's Pulsar's) partition limit per topic.
const maxPartitions = 1000

// fields splits on spaces and commas.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}
