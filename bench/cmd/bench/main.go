// Command bench is make bench: it starts Pulsar with the reference gateway and Apache Kafka
// in containers, runs the workloads through the gateway, pulsar-client-go and Kafka in
// alternating rounds, and writes reports/bench.md, bench.json, bench.html and bench/*.svg.
//
//	bench [-out reports] [-logs conformance/out/logs/bench] [-plan]
//
// The BENCH* environment variables configure the run (bench -h lists them); the images come
// from KOP_PULSAR_IMAGE, KOP_REFERENCE_IMAGE and KOP_KAFKA_IMAGE, which
// fixtures/scripts/bench.sh sets. It exits 1 when a round failed or the run could not start,
// 2 on a bad configuration; goals not met are results, not failures.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kop-conformance/kop-conformance/bench"
	"github.com/kop-conformance/kop-conformance/bench/report"
)

// Bounds of starting and stopping the containers.
const (
	startTimeout = 5 * time.Minute
	stopTimeout  = 2 * time.Minute
)

func main() { os.Exit(run()) }

func say(format string, args ...any) { fmt.Printf("==> [bench] "+format+"\n", args...) }

func run() int {
	out := flag.String("out", "reports", "directory for bench.md, bench.json, bench.html and bench/*.svg")
	logs := flag.String("logs", "conformance/out/logs/bench", "directory for the containers' logs")
	planOnly := flag.Bool("plan", false, "check the configuration, print the plan and exit (starts nothing)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: bench [-out DIR] [-logs DIR] [-plan]\n\nflags:\n")
		flag.PrintDefaults()
		fmt.Fprintf(flag.CommandLine.Output(), "\nenvironment:\n")
		for _, v := range bench.Variables {
			fmt.Fprintf(flag.CommandLine.Output(), "  %-22s %s\n", v[0], v[1])
		}
	}
	flag.Parse()
	cfg, err := bench.FromEnv(os.Getenv, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ws, series, err := bench.Plan(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	warm := bench.Warmup(cfg, cfg.Paths)
	planned := bench.PlanTime(warm, ws, cfg)
	rounds := len(bench.Schedule(ws))
	var names []string
	for _, w := range ws {
		names = append(names, w.Name)
	}
	say("mode %s: %d workloads (%s), %d rounds on %s; planned %s, budget %s from %s",
		cfg.Mode, len(ws), strings.Join(names, " "), rounds, strings.Join(cfg.Paths, ", "),
		planned.Round(time.Second), cfg.Budget, cfg.StartedFrom)
	if *planOnly {
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	img := bench.Images{Pulsar: os.Getenv("KOP_PULSAR_IMAGE"), Reference: os.Getenv("KOP_REFERENCE_IMAGE"), Kafka: os.Getenv("KOP_KAFKA_IMAGE")}
	say("starting the containers")
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	environment, err := bench.Start(startCtx, cfg, img, *logs, os.Stdout)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: starting the containers:", err)
		return 1
	}
	results, notes, code := measure(ctx, cfg, environment, warm, ws)
	say("stopping the containers")
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	environment.Stop(stopCtx)
	cancel()

	rep := bench.Report(cfg, img, results, series, notes, planned, time.Now())
	if err := rep.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "bench: writing the report:", err)
		return 1
	}
	for _, g := range rep.Goals {
		result := "not measured"
		if g.Met != nil {
			result = map[bool]string{true: "met", false: "NOT MET"}[*g.Met]
		}
		value := "–"
		if g.Value != nil {
			value = report.Num(*g.Value) + " " + g.Unit
		}
		say("goal %s: %s (%s, target %s)", g.ID, result, value, g.Target)
	}
	if n := bench.Failed(results); n > 0 {
		say("%d rounds failed (see the notes in %s/bench.md)", n, *out)
		code = 1
	}
	say("wrote bench.md, bench.json, bench.html and bench/*.svg in %s after %.1f minutes", *out, rep.WallSeconds/60)
	return code
}

// measure runs the rounds on the started environment.
func measure(ctx context.Context, cfg bench.Config, e *bench.Environment, warm bench.Workload, ws []bench.Workload) ([]report.Workload, []string, int) {
	ep, err := e.Endpoints()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return nil, nil, 1
	}
	runner, err := bench.NewRunner(cfg, ep, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return nil, nil, 1
	}
	defer runner.Close()
	results := runner.Run(ctx, warm, ws)
	return results, runner.Notes(), 0
}
