// Command load runs the load suite (package load) against the reference gateway on Pulsar and
// against Apache Kafka, started in containers as the conformance suite starts them
// (conformance/env) and loaded one after the other, and writes reports/load.md and
// reports/load.json.
//
//	LOAD=full|quick          the sizes (default) or a quick smoke run
//	LOAD_CLIENTS, LOAD_GROUPS, LOAD_PRODUCERS, LOAD_PRODUCE_RATE, LOAD_TOPICS,
//	LOAD_GROUP_SECONDS, LOAD_HEARTBEAT_SECONDS, LOAD_PRODUCE_SECONDS, LOAD_TOPIC_SECONDS
//	                         override one size (see load.FromEnv)
//	LOAD_TARGETS             "reference kafka" (default), or one of them
//	LOAD_OUT                 where the reports go (default reports)
//	LOAD_LOG_DIR             where container logs go (default conformance/out/logs/load)
//	KOP_PULSAR_IMAGE, KOP_REFERENCE_IMAGE, KOP_KAFKA_IMAGE   (fixtures/scripts/images.sh)
//
// It exits 1 when a target could not start or a scenario did not run to the end; goals not
// met are results, reported, not failures of the run.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kop-conformance/kop-conformance/conformance/env"
	"github.com/kop-conformance/kop-conformance/load"
)

func say(format string, args ...any) { fmt.Printf("==> [load] "+format+"\n", args...) }

// startTime bounds starting one target's containers, and stopTime removing them.
// initialRebalanceDelay is how long both targets hold a new group's first join back for more
// members (the reference's default; Kafka's image sets 0 for the conformance suite).
const (
	startTime             = 5 * time.Minute
	stopTime              = 2 * time.Minute
	initialRebalanceDelay = 100 * time.Millisecond
)

func main() {
	sizes, err := load.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	targets := strings.Fields(strings.ReplaceAll(envOr("LOAD_TARGETS", "reference kafka"), ",", " "))
	for _, t := range targets {
		if t != "reference" && t != "kafka" {
			fmt.Fprintf(os.Stderr, "load: unknown target %q in LOAD_TARGETS (reference, kafka)\n", t)
			os.Exit(2)
		}
	}
	out, logs := envOr("LOAD_OUT", "reports"), envOr("LOAD_LOG_DIR", filepath.Join("conformance", "out", "logs", "load"))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(len(targets))*(startTime+sizes.Budget()+stopTime))
	defer cancel()

	report := &load.Report{Mode: sizes.Mode, Started: time.Now(), CPUs: runtime.NumCPU(), Sizes: sizes}
	perIP := max(sizes.Clients, 2*sizes.Groups, sizes.Producers, sizes.MetadataBurst) + 100
	refEnv := map[string]string{
		"KOP_MAX_CONNECTIONS_PER_IP": strconv.Itoa(max(perIP, 1000)),
		"KOP_MAX_CONNECTIONS":        strconv.Itoa(max(perIP, 10000)),
		// Both targets hold a new group's first join back alike (the reference's default).
		"KOP_GROUP_INITIAL_REBALANCE_DELAY": initialRebalanceDelay.String(),
	}
	say("mode %s: %d clients, %d groups, %d producers at %d/s, %d topics; targets %s; at most %s per target",
		sizes.Mode, sizes.Clients, sizes.Groups, sizes.Producers, sizes.ProduceRate, sizes.Topics, strings.Join(targets, ", "),
		(startTime + sizes.Budget() + stopTime).Round(time.Minute))
	// Every target starts at once (the JVMs' start is most of a quick run), then each is
	// loaded alone: the one measured is the only one with load, and each target's containers
	// go as soon as it is done.
	started := make([]chan startedEnv, len(targets))
	for i, name := range targets {
		started[i] = make(chan startedEnv, 1)
		go func() { started[i] <- start(ctx, name, refEnv, filepath.Join(logs, name)) }()
	}
	failed := false
	for i, name := range targets {
		res := runTarget(ctx, name, <-started[i], sizes, filepath.Join(logs, name))
		failed = failed || len(res.Failures) > 0
		report.Targets = append(report.Targets, res)
	}
	report.WallSeconds = time.Since(report.Started).Seconds()
	report.Notes = notes(targets, refEnv)
	report.Goals = load.Evaluate(report)
	if err := load.Write(report, out); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	for _, g := range report.Goals {
		say("goal %-55s %-12s %s", g.Goal, g.Status, g.Detail)
	}
	say("done in %.1f minutes; %s and %s", report.WallSeconds/60, filepath.Join(out, "load.md"), filepath.Join(out, "load.json"))
	if failed {
		os.Exit(1)
	}
}

// startedEnv is a target's containers, or why they did not start.
type startedEnv struct {
	e   *env.Env
	err error
}

// start starts a target's containers.
func start(ctx context.Context, name string, refEnv map[string]string, logDir string) startedEnv {
	opts := []env.Option{
		env.WithPulsarImage(os.Getenv("KOP_PULSAR_IMAGE")),
		env.WithReferenceImage(os.Getenv("KOP_REFERENCE_IMAGE")),
		env.WithKafkaImage(os.Getenv("KOP_KAFKA_IMAGE")),
		env.WithLogDir(logDir),
		env.WithProgress(os.Stdout),
		env.WithReferenceEnv(refEnv),
		env.WithKafkaConfig(map[string]string{"group.initial.rebalance.delay.ms": strconv.FormatInt(initialRebalanceDelay.Milliseconds(), 10)}),
	}
	say("%s: starting", name)
	sctx, cancel := context.WithTimeout(ctx, startTime)
	defer cancel()
	var s startedEnv
	if name == "reference" {
		s.e, s.err = env.Start(sctx, opts...)
	} else {
		s.e, s.err = env.StartKafka(sctx, opts...)
	}
	return s
}

// runTarget loads a started target and removes its containers.
func runTarget(ctx context.Context, name string, s startedEnv, sizes load.Sizes, logDir string) *load.Result {
	if s.err != nil {
		say("%s: could not start: %v", name, s.err)
		return &load.Result{Target: name, Failures: []string{"start: " + s.err.Error()}}
	}
	defer func() {
		say("%s: removing its containers (logs in %s)", name, logDir)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTime)
		defer cancel()
		s.e.Stop(sctx)
	}()
	t := load.Target{Name: name, Bootstrap: s.e.Target.Bootstrap, MetricsURL: s.e.Target.MetricsURL}
	began := time.Now()
	res := load.Run(ctx, t, sizes, say)
	say("%s: scenarios done in %.1f minutes", name, time.Since(began).Minutes())
	return res
}

func notes(targets []string, refEnv map[string]string) []string {
	n := []string{
		fmt.Sprintf("Targets were started together on this machine, then loaded one after the other: %s. "+
			"While one is loaded the targets after it sit idle, those before it are removed. "+
			"The reference is Pulsar standalone and the gateway; Kafka is one KRaft node. "+
			"Both hold a new group's first join back for "+initialRebalanceDelay.String()+" (group.initial.rebalance.delay.ms; the gateway's --group-initial-rebalance-delay). "+
			"Clients connect over loopback to the containers' published ports.", strings.Join(targets, ", ")),
		fmt.Sprintf("The reference ran with KOP_MAX_CONNECTIONS_PER_IP=%s (default 1000) and KOP_MAX_CONNECTIONS=%s (default 10000): "+
			"every client of the suite connects from one address, and the default per-IP limit would refuse all but 1,000 of them. "+
			"Kafka's max.connections.per.ip is unlimited by default.", refEnv["KOP_MAX_CONNECTIONS_PER_IP"], refEnv["KOP_MAX_CONNECTIONS"]),
		"The gateway's memory, file descriptors, connections and groups are its Prometheus metrics (process_resident_memory_bytes, " +
			"process_open_fds, kop_connections, kop_groups); Kafka's are JMX and not collected (—). Memory per idle connection and per group " +
			"is the growth of resident memory over the scenario, garbage not yet collected included.",
		"Images: " + strings.Join([]string{os.Getenv("KOP_PULSAR_IMAGE"), os.Getenv("KOP_REFERENCE_IMAGE"), os.Getenv("KOP_KAFKA_IMAGE")}, ", ") + ".",
	}
	return n
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
