package suite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kop-conformance/kop-conformance/conformance/checker"
	"github.com/kop-conformance/kop-conformance/conformance/evidence"
	"github.com/kop-conformance/kop-conformance/conformance/rules"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// The fault run: franz-go at the top protocol level writes and reads a 4-partition topic
// while the faults conformance/rules declares for the target are injected and healed in turn
// (the gateway killed, Pulsar or the broker paused, Pulsar restarted, the gateway cut from
// Pulsar, the topic's bundles unloaded); then the history is checked (conformance/checker).
// Serial, because every fault disturbs every connection; Ordered with ContinueOnFailure so
// the gate run and the nightly run follow each other and a red one does not skip the other.
// The spec records its evidence before it asserts, so the report shows a failed run's counts.

// faultRun is one length of the run.
type faultRun struct {
	name          string // gate or nightly
	rounds        int    // each applicable fault once per round
	pauseFor      time.Duration
	disconnectFor time.Duration
	recoverWithin time.Duration // after each heal: producers and the group must get through
	timeout       time.Duration // the whole spec, a last resort above the inner bounds
}

// The paused container outlasts the clients' produce deadline (faultProduceTimeout +
// faultRequestOverhead = 5 s) by 3 s; Kafka's broker session (9 s) is not exceeded.
var (
	gateFaultRun = faultRun{name: "gate", rounds: 1, pauseFor: 8 * time.Second, disconnectFor: 5 * time.Second,
		recoverWithin: 90 * time.Second, timeout: 10 * time.Minute}
	nightlyFaultRun = func() faultRun {
		r := gateFaultRun
		r.name, r.rounds = "nightly", envInt("KOP_FAULT_ROUNDS", 3)
		r.timeout = 10*time.Minute + time.Duration(r.rounds)*8*time.Minute
		return r
	}()
)

// envInt is the positive integer in the environment variable, else def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

const (
	faultPartitions = 4
	faultProducers  = 3
	faultMembers    = 2
)

var _ = Describe("faults", Ordered, Serial, ContinueOnFailure, func() {
	if ok, _ := rules.FaultRunApplies(matrixTarget); !ok {
		return // no spec: the report shows the run N/A from the same rule
	}
	levels := dims.Levels()
	level := levels[len(levels)-1]
	for _, run := range []faultRun{gateFaultRun, nightlyFaultRun} {
		labels := Label(dims.Spec{Clients: []string{dims.FranzGo}, Level: level, Faults: true, Nightly: run.name == "nightly"}.Labels()...)
		It(fmt.Sprintf("%s: %d round(s) of %s; no acknowledged value lost, none written twice, order and commits kept, the group resumes",
			run.name, run.rounds, strings.Join(rules.FaultsOn(matrixTarget), ", ")),
			// Its own progress lines say where it is; Ginkgo's stack dumps would come every 2 minutes.
			labels, SpecTimeout(run.timeout), PollProgressAfter(run.timeout/2), func(ctx SpecContext) { runFaults(ctx, run, level) })
	}
})

func runFaults(ctx SpecContext, run faultRun, level string) {
	start := time.Now()
	kinds := rules.FaultsOn(matrixTarget)
	topic := fmt.Sprintf("ct-faults-%s-%d", run.name, time.Now().UnixNano()%1e9)
	group := fmt.Sprintf("cg-faults-%s-%d", run.name, time.Now().UnixNano()%1e9)
	w, err := startFaultWorkload(ctx, level, topic, group)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.close)
	// Whatever happens, nothing stays paused, disconnected or stopped for the specs after this
	// one (cleanups run last-in first-out: this heal comes before the workload's clients close).
	DeferCleanup(healFaults, NodeTimeout(5*time.Minute))

	By("waiting until every producer is acknowledged, both members poll and a commit is seen")
	Expect(waitFor(ctx, time.Minute, w.warmedUp)).To(BeTrue(), "before the first fault: %s", w.status())

	var faults []checker.Fault
	problem := ""
	total, n := run.rounds*len(kinds), 0
rounds:
	for round := 1; round <= run.rounds; round++ {
		for _, kind := range kinds {
			n++
			f := checker.Fault{Kind: kind, Start: time.Now()}
			err := injectFault(ctx, kind, run, topic)
			f.Healed = time.Now()
			faults = append(faults, f)
			if err != nil {
				problem = fmt.Sprintf("%s (round %d): %v", kind, round, err)
				fmt.Fprintf(GinkgoWriter, "faults %s [%d/%d] %s: %v\n", run.name, n, total, kind, err)
				break rounds
			}
			ok := waitFor(ctx, run.recoverWithin, func() bool { return w.recoveredSince(f.Healed) })
			recovery := fmt.Sprintf("recovered after %s", time.Since(f.Healed).Round(100*time.Millisecond))
			if !ok {
				recovery = fmt.Sprintf("NOT recovered within %s", run.recoverWithin)
			}
			fmt.Fprintf(GinkgoWriter, "faults %s [%d/%d] %s: injected and healed in %s, %s; %s\n", run.name, n, total, kind,
				f.Healed.Sub(f.Start).Round(100*time.Millisecond), recovery, w.status())
			if !ok {
				problem = fmt.Sprintf("%s (round %d): not recovered within %s: %s", kind, round, run.recoverWithin, w.status())
				break rounds
			}
		}
	}

	By("stopping the producers, reading every partition back, letting the group catch up")
	final, logs := w.finish(ctx, &problem)
	res, err := checker.Check(checker.History{Sends: w.sends(), Polls: w.obs.polls, Commits: w.obs.commits, Final: final, Logs: logs, Faults: faults})
	Expect(err).NotTo(HaveOccurred(), "the run recorded a malformed history")
	s := res.Summary
	AddReportEntry(evidence.FaultsEntry, evidence.FaultRun{Target: target.Name, Run: run.name, Rounds: run.rounds, Summary: s,
		Violations: res.Lines(20), Error: problem, DurationSec: time.Since(start).Seconds()}, ReportEntryVisibilityNever)
	fmt.Fprintf(GinkgoWriter, "faults %s on %s in %s: %+v\n%s\n", run.name, target.Name, time.Since(start).Round(time.Second), s,
		strings.Join(res.Lines(0), "\n"))

	detail := strings.Join(res.Lines(20), "\n")
	Expect(s.Acknowledged).To(BeNumerically(">", 0), "nothing was acknowledged")
	Expect(s.Lost).To(BeZero(), "%d of %d acknowledged values lost:\n%s", s.Lost, s.Acknowledged, detail)
	Expect(s.Duplicated).To(BeZero(), "%d values written more than once:\n%s", s.Duplicated, detail)
	Expect(s.Misplaced).To(BeZero(), "%d values not at the offset their acknowledgement gave:\n%s", s.Misplaced, detail)
	Expect(s.OrderViolations).To(BeZero(), "%d pairs of a producer's values out of order:\n%s", s.OrderViolations, detail)
	Expect(s.OffsetConflicts).To(BeZero(), "%d offsets seen with two values:\n%s", s.OffsetConflicts, detail)
	Expect(s.CommitRegressions).To(BeZero(), "%d committed offsets went backwards:\n%s", s.CommitRegressions, detail)
	Expect(s.Unknown+s.FailedPresent).To(BeZero(), "values in the log that nobody sent, or whose send failed:\n%s", detail)
	Expect(problem).To(BeEmpty(), "the fault run was cut short")
	Expect(s.Unconsumed).To(BeZero(), "%d records the group never polled:\n%s", s.Unconsumed, detail)
	Expect(s.Resumed).To(BeTrue(), "the group did not resume after the last fault:\n%s", detail)
	Expect(s.Faults).To(HaveLen(len(kinds)), "every applicable fault was injected")
}

// injectFault injects one fault and heals it, returning once the target is whole again (not
// yet recovered: that is the caller's wait). The heals use a context of their own, so an
// ending spec still heals what it broke.
func injectFault(ctx context.Context, kind string, run faultRun, topic string) error {
	heal := func(f func(context.Context) error) error {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		return f(hctx)
	}
	switch kind {
	case rules.KillServer:
		return environment.KillServer(ctx)
	case rules.PauseStorage:
		if err := environment.PauseStorage(ctx); err != nil {
			return err
		}
		return errors.Join(pause(ctx, run.pauseFor), heal(environment.UnpauseStorage))
	case rules.RestartPulsar:
		err := environment.RestartPulsar(ctx)
		refreshPulsar() // the admin port may have moved even if the start then failed
		return err
	case rules.DisconnectPulsar:
		if err := environment.DisconnectServer(ctx); err != nil {
			return err
		}
		return errors.Join(pause(ctx, run.disconnectFor), heal(environment.ReconnectServer))
	case rules.UnloadBundle:
		bundles, err := environment.UnloadTopic(ctx, topic)
		fmt.Fprintf(GinkgoWriter, "unloaded bundles %v\n", bundles)
		return err
	}
	return fmt.Errorf("no way to inject %q", kind)
}

// healFaults undoes what an interrupted fault may have left: a paused container, a
// disconnected gateway, a container that did not come back.
func healFaults(ctx SpecContext) {
	done, err := environment.Heal(ctx)
	for _, d := range done {
		fmt.Fprintf(GinkgoWriter, "healing: %s\n", d)
	}
	if err != nil {
		fmt.Fprintf(GinkgoWriter, "healing: %v\n", err)
	}
	refreshPulsar()
}

// refreshPulsar takes the environment's Pulsar endpoints after a Pulsar restart (its admin
// port is Docker's pick) and drops this process's Pulsar clients, opened on the old ones.
func refreshPulsar() {
	if environment.Target.Pulsar != nil {
		target.Pulsar = environment.Target.Pulsar
		closePulsar()
	}
}

// faultWorkload is the run's clients: producers, group members and the commit sampler.
type faultWorkload struct {
	level, topic string
	producers    []*faultProducer
	members      []*faultMember
	sampler      *kgo.Client
	obs          *faultObserver

	stopProducing, stopGroup context.CancelFunc
	producing, grouping      sync.WaitGroup
	closed                   sync.Once
}

// startFaultWorkload creates the topic and starts the group members, the sampler and the
// producers. On error it has stopped whatever it started.
func startFaultWorkload(ctx context.Context, level, topic, group string) (w *faultWorkload, err error) {
	groupCtx, stopGroup := context.WithCancel(context.WithoutCancel(ctx))
	produceCtx, stopProducing := context.WithCancel(context.WithoutCancel(ctx))
	w = &faultWorkload{level: level, topic: topic, obs: &faultObserver{members: map[string]int{}},
		stopGroup: stopGroup, stopProducing: stopProducing}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if w.sampler, err = kgo.NewClient(faultClientOpts(level)...); err != nil {
		return nil, err
	}
	adm := kadm.NewClient(w.sampler)
	resp, err := adm.CreateTopic(ctx, faultPartitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", topic, err)
	}
	// Kafka creates a topic's partitions asynchronously: wait until each answers.
	var last error
	ready := waitFor(ctx, 30*time.Second, func() bool {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err == nil && len(ends[topic]) != faultPartitions {
			err = fmt.Errorf("%d partitions answer", len(ends[topic]))
		}
		last = err
		return err == nil
	})
	if !ready {
		return nil, fmt.Errorf("the partitions of %s did not become ready within 30s: %v", topic, last)
	}
	for i := 1; i <= faultMembers; i++ {
		m, err := newFaultMember(fmt.Sprintf("m%d", i), group, topic, level)
		if err != nil {
			return nil, err
		}
		w.members = append(w.members, m)
		w.grouping.Go(func() { m.run(groupCtx, w.obs) })
	}
	w.grouping.Go(func() { sampleCommits(groupCtx, adm, group, topic, w.obs) })
	for i := 1; i <= faultProducers; i++ {
		p, err := newFaultProducer(fmt.Sprintf("p%d", i), level)
		if err != nil {
			return nil, err
		}
		w.producers = append(w.producers, p)
		w.producing.Go(func() { p.run(produceCtx, topic, faultPartitions) })
	}
	return w, nil
}

// warmedUp: every producer has 20 values acknowledged, every member polled, and the sampler
// saw a commit. The first fault must hit a workload that is running, not one starting.
func (w *faultWorkload) warmedUp() bool {
	for _, p := range w.producers {
		if n, _ := p.progress(); n < 20 {
			return false
		}
	}
	w.obs.mu.Lock()
	defer w.obs.mu.Unlock()
	if len(w.obs.members) < faultMembers {
		return false
	}
	return slices.ContainsFunc(w.obs.commits, func(c checker.Commit) bool { return c.Source == "sampler" })
}

// recoveredSince: every producer got a value sent after the heal acknowledged, and the group
// polled a value sent after the heal.
func (w *faultWorkload) recoveredSince(healed time.Time) bool {
	for _, p := range w.producers {
		if _, last := p.progress(); !last.After(healed) {
			return false
		}
	}
	w.obs.mu.Lock()
	recent := slices.Clone(w.obs.polls[max(0, len(w.obs.polls)-200):])
	w.obs.mu.Unlock()
	for i := len(recent) - 1; i >= 0 && recent[i].At.After(healed); i-- {
		if at, ok := issuedAt(w.producers, recent[i].Value); ok && at.After(healed) {
			return true
		}
	}
	return false
}

// status is one line on the workload's progress, for progress lines and failures.
func (w *faultWorkload) status() string {
	acked := make([]string, len(w.producers))
	for i, p := range w.producers {
		n, _ := p.progress()
		acked[i] = fmt.Sprintf("%s %d", p.name, n)
	}
	w.obs.mu.Lock()
	defer w.obs.mu.Unlock()
	return fmt.Sprintf("acknowledged: %s; polled: %v; commits seen: %d", strings.Join(acked, ", "), w.obs.members, len(w.obs.commits))
}

// finish stops the producers (flushing what they hold), reads every partition back, waits
// for the group to poll and commit up to the ends, and stops the group. What goes wrong is
// added to problem; the history is judged either way.
func (w *faultWorkload) finish(ctx context.Context, problem *string) ([]checker.Record, map[int32]checker.Range) {
	note := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		fmt.Fprintln(GinkgoWriter, msg)
		if *problem == "" {
			*problem = msg
		}
	}
	w.stopProducing()
	w.producing.Wait()
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	for _, p := range w.producers {
		if err := p.stop(fctx); err != nil {
			// Not a violation by itself: what was left unanswered is indeterminate.
			fmt.Fprintf(GinkgoWriter, "flushing %s: %v\n", p.name, err)
		}
	}
	cancel()
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	final, logs, err := readAll(rctx, w.level, w.topic)
	cancel()
	if err != nil {
		note("final read: %v", err)
	}
	if !waitFor(ctx, time.Minute, func() bool { return w.caughtUp(logs) }) {
		note("the group did not poll and commit up to the log ends %v within a minute: %s", logs, w.status())
	}
	w.close()
	return final, logs
}

// caughtUp: for every partition with records, the group polled its last offset and the
// sampler saw the end committed.
func (w *faultWorkload) caughtUp(logs map[int32]checker.Range) bool {
	w.obs.mu.Lock()
	defer w.obs.mu.Unlock()
	polled := map[int32]int64{}
	for _, p := range w.obs.polls {
		polled[p.Partition] = max(polled[p.Partition], p.Offset+1)
	}
	committed := map[int32]checker.Commit{}
	for _, c := range w.obs.commits {
		if l, ok := committed[c.Partition]; c.Source == "sampler" && (!ok || c.End.After(l.End)) {
			committed[c.Partition] = c
		}
	}
	for p, r := range logs {
		if r.End > r.Start && (polled[p] < r.End || committed[p].Offset != r.End) {
			return false
		}
	}
	return true
}

// close stops every client once: the producers first, then the group and the sampler.
func (w *faultWorkload) close() {
	w.closed.Do(func() {
		w.stopProducing()
		w.producing.Wait()
		for _, p := range w.producers {
			p.cl.Close() // after a stop, closing again does nothing
		}
		w.stopGroup()
		w.grouping.Wait()
		for _, m := range w.members {
			m.cl.Close()
		}
		if w.sampler != nil {
			w.sampler.Close()
		}
	})
}

func (w *faultWorkload) sends() []checker.Send {
	var out []checker.Send
	for _, p := range w.producers {
		out = append(out, p.history()...)
	}
	return out
}
