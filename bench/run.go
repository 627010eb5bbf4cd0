package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kop-conformance/kop-conformance/bench/report"
	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// Endpoints are what the run's containers offer it.
type Endpoints struct {
	Gateway    string            // the reference gateway's bootstrap (host:port)
	Kafka      string            // Apache Kafka's bootstrap
	Pulsar     *clients.Pulsar   // the Pulsar behind the gateway
	MetricsURL string            // the gateway's Prometheus endpoint
	Containers map[string]string // container name (reference, pulsar, kafka) -> Docker id
	Docker     StatsClient
}

// Bounds of what surrounds a round, whatever its estimate.
const (
	topicTimeout    = 2 * time.Minute // creating or deleting a topic, priming it
	idlePause       = time.Second     // idle partitions settle before the gateway is read again
	senderParallel  = 16              // producer clients made at once
	roundSlack      = time.Minute     // a round may overrun its estimate twice, plus this
	cleanupDeadline = 3 * time.Minute // deleting what a cut-short run left
)

const progressPrefix = "==> [bench] "

// Runner runs a plan's rounds on the paths' targets.
type Runner struct {
	cfg      Config
	targets  map[string]target
	probe    *probe
	progress io.Writer
	runID    string

	created map[string]bool // workload/path -> its topic exists
	notes   []string
	noted   map[string]bool
}

// NewRunner connects to the endpoints of the configured paths.
func NewRunner(cfg Config, ep Endpoints, progress io.Writer) (*Runner, error) {
	r := &Runner{cfg: cfg, targets: map[string]target{}, progress: progress, created: map[string]bool{}, noted: map[string]bool{},
		runID: strconv.FormatInt(time.Now().Unix()%1e6, 36),
		probe: &probe{docker: ep.Docker, containers: ep.Containers, metricsURL: ep.MetricsURL, http: &http.Client{}}}
	for _, p := range cfg.Paths {
		var t target
		var err error
		switch p {
		case report.Gateway:
			t, err = newKafkaTarget(ep.Gateway)
		case report.Kafka:
			t, err = newKafkaTarget(ep.Kafka)
		case report.Pulsar:
			if ep.Pulsar == nil {
				err = fmt.Errorf("no Pulsar endpoint")
			} else {
				t, err = newPulsarTarget(ep.Pulsar)
			}
		}
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		r.targets[p] = t
	}
	return r, nil
}

// Close closes the targets' clients.
func (r *Runner) Close() {
	for _, t := range r.targets {
		t.close()
	}
}

func (r *Runner) say(format string, args ...any) {
	if r.progress != nil {
		fmt.Fprintf(r.progress, progressPrefix+format+"\n", args...)
	}
}

// note keeps a line for the report's notes, once.
func (r *Runner) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !r.noted[n] {
		r.noted[n] = true
		r.notes = append(r.notes, n)
	}
}

// Notes are what the run noted besides its rounds.
func (r *Runner) Notes() []string { return r.notes }

// Run runs the warm-up, then every workload's rounds in Schedule's order, within the budget;
// it returns each workload with its rounds. Topics left by a cut-short run are deleted.
func (r *Runner) Run(ctx context.Context, warm Workload, ws []Workload) []report.Workload {
	b := newBudget(r.cfg)
	for _, s := range Schedule([]Workload{warm}) {
		if rd := r.step(ctx, warm, s, b); !rd.OK() {
			r.note("warm-up on %s: %s%s", s.Path, rd.Error, rd.Skipped)
		}
	}
	out := make([]report.Workload, len(ws))
	for i, w := range ws {
		out[i].Spec = w.Spec
	}
	for _, s := range Schedule(ws) {
		out[s.W].Rounds = append(out[s.W].Rounds, r.step(ctx, ws[s.W], s, b))
	}
	r.cleanup(ctx, append([]Workload{warm}, ws...))
	return out
}

func (r *Runner) key(w Workload, path string) string { return w.Name + "/" + path }

// topic names the workload's topic on a path: the gateway's topics and the pulsar path's
// share a namespace, so their names differ.
func (r *Runner) topic(w Workload, path string) string {
	if path == report.Pulsar {
		return "benchp-" + r.runID + "-" + w.Name
	}
	return "bench-" + r.runID + "-" + w.Name
}

// step runs one round when the budget allows, then deletes the topic after its last.
func (r *Runner) step(ctx context.Context, w Workload, s Step, b budget) report.Round {
	s.First = !r.created[r.key(w, s.Path)]
	need := Estimate(w, s, r.cfg)
	label := fmt.Sprintf("%s round %d/%d %s", w.Name, s.Round, w.Rounds, s.Path)
	if w.Warmup {
		label = "warm-up " + s.Path
	}
	skip := func(why string) report.Round {
		r.say("%s: skipped (%s)", label, why)
		return report.Round{Round: s.Round, Path: s.Path, Started: time.Now().UTC(), Skipped: why}
	}
	switch {
	case ctx.Err() != nil:
		return skip("interrupted")
	case !b.allows(time.Now(), need):
		return skip(fmt.Sprintf("time budget: needs about %s, %s left", need.Round(time.Second), time.Until(b.deadline).Round(time.Second)))
	}
	rctx, cancel := context.WithTimeout(ctx, 2*need+roundSlack)
	began := time.Now()
	rd := r.round(rctx, w, s)
	cancel()
	took := time.Since(began).Round(100 * time.Millisecond)
	if rd.Error != "" {
		r.say("%s: FAILED after %s: %s", label, took, rd.Error)
	} else {
		r.say("%s: %s (%s)", label, summary(rd), took)
	}
	if s.Last {
		r.drop(ctx, w, s.Path)
	}
	return rd
}

// summary is a round's line of progress.
func summary(rd report.Round) string {
	line := fmt.Sprintf("%s MB/s, %s records/s", report.Num(rd.MBps), report.Num(rd.RecordsPerSec))
	if rd.Publish != nil {
		line += fmt.Sprintf(", publish p50 %s / p99 %s ms", report.Num(rd.Publish.P50), report.Num(rd.Publish.P99))
	}
	if rd.E2E != nil {
		line += fmt.Sprintf(", end-to-end p99 %s ms", report.Num(rd.E2E.P99))
	}
	if rd.CatchUp != nil {
		line += fmt.Sprintf(", catch-up %s MB/s", report.Num(rd.CatchUp.MBps))
	}
	if rd.Failed > 0 || rd.Behind > 0 {
		line += fmt.Sprintf(", %d failed, %d behind schedule", rd.Failed, rd.Behind)
	}
	if rss := rd.Resources.GatewayRSS; rss != nil {
		line += fmt.Sprintf(", gateway RSS %s MiB", report.Num(*rss/(1<<20)))
	}
	return line
}

// round is one round on one path: open the topic if it is the first, make and prime the
// producers, mark the topic's end, produce (with a tailing consumer at a fixed rate), read
// back (catch-up), and read what the servers spent.
func (r *Runner) round(ctx context.Context, w Workload, s Step) report.Round {
	rd := report.Round{Round: s.Round, Path: s.Path, Started: time.Now().UTC()}
	fail := func(what string, err error) report.Round {
		rd.Error = what + ": " + err.Error()
		return rd
	}
	t := r.targets[s.Path]
	topic := r.topic(w, s.Path)
	values := newPayloads(w.RecordBytes, min(r.cfg.WindowRecords, r.cfg.WindowBytes/w.RecordBytes+1))
	var idle *report.IdlePartitions
	if !r.created[r.key(w, s.Path)] {
		var err error
		if idle, err = r.open(ctx, t, w, s.Path, topic, values); err != nil {
			return fail("opening the topic", err)
		}
	}
	senders, err := r.senders(ctx, t, w, topic, values)
	if err != nil {
		return fail("producers", err)
	}
	defer func() {
		for _, snd := range senders {
			snd.close()
		}
	}()
	// Only a round that reads back needs the topic's end (on Pulsar a subscription on every
	// partition, which costs seconds at 1,000).
	var mark any
	if w.CatchUp || w.Kind == report.FixedRate {
		if mark, err = t.mark(ctx, topic); err != nil {
			return fail("marking the topic's end", err)
		}
	}
	var tl *tail
	var recv receiver
	if w.Kind == report.FixedRate {
		if recv, err = t.newReceiver(ctx, topic, mark); err != nil {
			return fail("the tailing consumer", err)
		}
	}
	before := r.probe.snapshot(ctx, s.Path)
	// A short round keeps at least three quarters of its records timed.
	settle := min(r.cfg.Settle, w.Duration/4)
	p := &producer{senders: senders, window: newWindow(r.cfg.WindowRecords, r.cfg.WindowBytes), values: values,
		start: time.Now(), duration: w.Duration, settle: settle, rate: w.Rate}
	if recv != nil {
		tl = startTail(ctx, recv, p.start.Add(p.settle))
	}
	res := p.run(ctx)
	res.fill(&rd)
	moved := res.bytes
	if tl != nil {
		e2e, consumed, err := tl.stop(res.records)
		rd.E2E, moved = e2e, moved+consumed
		if err != nil {
			return fail("end-to-end", err)
		}
	}
	if res.records == 0 {
		return fail("no record acknowledged", fmt.Errorf("%v", res.err))
	}
	if res.err != nil {
		r.note("%s round %d on %s: %d sends failed; %v", w.Name, s.Round, s.Path, res.failed, res.err)
	}
	if w.CatchUp {
		recv, err := t.newReceiver(ctx, topic, mark)
		if err != nil {
			return fail("the catch-up consumer", err)
		}
		if rd.CatchUp, err = catchUp(ctx, recv, res.records, r.cfg.CatchUp); err != nil {
			return fail("catch-up", err)
		}
		moved += rd.CatchUp.Bytes
	}
	after := r.probe.snapshot(ctx, s.Path)
	for _, e := range append(before.errs, after.errs...) {
		r.note("%s on %s: %s", w.Name, s.Path, e)
	}
	rd.Resources = spent(before, after, moved)
	rd.Resources.Idle = idle
	return rd
}

// open creates the workload's topic on a path and primes every partition. On the gateway,
// for the partition series, it measures what the idle open partitions cost: read after a
// forced GC before the topic exists, and again a second after the priming.
func (r *Runner) open(ctx context.Context, t target, w Workload, path, topic string, values *payloads) (*report.IdlePartitions, error) {
	ctx, cancel := context.WithTimeout(ctx, topicTimeout)
	defer cancel()
	measure := measuresIdle(w, path)
	var before map[string]float64
	if measure {
		var err error
		if before, err = r.collected(ctx); err != nil {
			r.note("%s: no idle-partition measurement: %v", w.Name, err)
			measure = false
		}
	}
	if err := t.createTopic(ctx, topic, w.Partitions); err != nil {
		return nil, err
	}
	r.created[r.key(w, path)] = true
	if err := t.prime(ctx, topic, w.Partitions, values); err != nil {
		return nil, fmt.Errorf("priming %d partitions: %w", w.Partitions, err)
	}
	if !measure {
		return nil, nil
	}
	time.Sleep(idlePause)
	after, err := r.collected(ctx)
	if err == nil {
		var i *report.IdlePartitions
		if i, err = idle(before, after, w.Partitions); err == nil {
			return i, nil
		}
	}
	r.note("%s: no idle-partition measurement: %v", w.Name, err)
	return nil, nil
}

// collected is the gateway's figures after a forced garbage collection.
func (r *Runner) collected(ctx context.Context) (map[string]float64, error) {
	if err := r.probe.collectGarbage(ctx); err != nil {
		return nil, err
	}
	return r.probe.scrape(ctx)
}

// senders makes the workload's producer clients and primes each, a few at a time.
func (r *Runner) senders(ctx context.Context, t target, w Workload, topic string, values *payloads) ([]sender, error) {
	out := make([]sender, max(w.Connections, 1))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(senderParallel)
	var mu sync.Mutex
	for i := range out {
		g.Go(func() error {
			s, err := t.newSender(gctx, w, topic, r.cfg.WindowRecords)
			if err != nil {
				return err
			}
			mu.Lock()
			out[i] = s
			mu.Unlock()
			return prime(gctx, s, values)
		})
	}
	if err := g.Wait(); err != nil {
		for _, s := range out {
			if s != nil {
				s.close()
			}
		}
		return nil, err
	}
	return out, nil
}

// drop deletes the workload's topic on a path, if it exists.
func (r *Runner) drop(ctx context.Context, w Workload, path string) {
	key := r.key(w, path)
	if !r.created[key] {
		return
	}
	if ctx.Err() != nil { // interrupted: cleanup deletes it with a context of its own
		return
	}
	ctx, cancel := context.WithTimeout(ctx, topicTimeout)
	defer cancel()
	if err := r.targets[path].deleteTopic(ctx, r.topic(w, path)); err != nil {
		r.note("deleting %s on %s: %v", r.topic(w, path), path, err)
	}
	delete(r.created, key)
}

// cleanup deletes every topic still there (a skipped last round, an interrupted run), on a
// context of its own: an interrupted run still cleans up, within cleanupDeadline.
func (r *Runner) cleanup(parent context.Context, ws []Workload) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), cleanupDeadline)
	defer cancel()
	for _, w := range ws {
		for _, p := range report.Paths {
			if r.created[r.key(w, p)] {
				r.drop(ctx, w, p)
			}
		}
	}
}
