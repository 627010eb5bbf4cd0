package suite

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/conformance/checker"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// The fault run's workload, in the spirit of Jepsen's Kafka test: idempotent producers send
// unique values and note what each acknowledgement said, a consumer group polls and commits,
// a sampler reads the committed offsets, and at the end every partition is read back. Every
// observation goes into a checker.History; the checker judges it (faults_test.go runs it).

// Client timeouts, shorter than the faults: a paused container must outlast a request.
const (
	faultProduceTimeout  = 2 * time.Second // the produce request's own timeout (acks=all)
	faultRequestOverhead = 3 * time.Second // what the client adds to every request's deadline
	faultDeliveryTimeout = 20 * time.Second
	faultSendEvery       = 20 * time.Millisecond // per producer: 50 values a second
	faultSampleEvery     = 200 * time.Millisecond
)

// faultClientOpts are every fault-run client's options: the top level's listener and version
// table, the spec's client id (the wire check), and short timeouts.
func faultClientOpts(level string, extra ...kgo.Opt) []kgo.Opt {
	lv, _ := dims.LevelNamed(level)
	return append([]kgo.Opt{
		kgo.SeedBrokers(target.Levels[level]),
		kgo.MaxVersions(lv.Versions()),
		kgo.ClientID(target.ClientIDFor(dims.FranzGo)),
		kgo.RequestTimeoutOverhead(faultRequestOverhead),
		kgo.DialTimeout(3 * time.Second),
	}, extra...)
}

// faultProducer is one idempotent producer (acks=all, retries unlimited, a bounded delivery
// timeout) writing "<name>-<index>" values round-robin over the partitions.
type faultProducer struct {
	name string
	cl   *kgo.Client

	mu     sync.Mutex
	sends  []checker.Send // by Index
	issued []time.Time    // when each send was handed to the client
	acked  int
	// lastIssuedAcked is the latest issue time among acknowledged sends: once it is after a
	// heal, the producer got through after the fault.
	lastIssuedAcked time.Time
}

func newFaultProducer(name, level string) (*faultProducer, error) {
	cl, err := kgo.NewClient(faultClientOpts(level,
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProduceRequestTimeout(faultProduceTimeout),
		kgo.RecordDeliveryTimeout(faultDeliveryTimeout),
		kgo.MaxBufferedRecords(2000),
		// A restarted server may not know the topic for a moment; it exists.
		kgo.UnknownTopicRetries(-1),
	)...)
	if err != nil {
		return nil, err
	}
	return &faultProducer{name: name, cl: cl}, nil
}

// run sends a value every faultSendEvery until ctx ends. Sends never block: a full buffer
// fails the value at once (kgo.ErrMaxBuffered), which the history records as failed.
func (p *faultProducer) run(ctx context.Context, topic string, partitions int32) {
	tick := time.NewTicker(faultSendEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.mu.Lock()
		i := len(p.sends)
		s := checker.Send{Producer: p.name, Index: i, Partition: int32(i) % partitions, Value: fmt.Sprintf("%s-%06d", p.name, i)}
		p.sends = append(p.sends, s)
		p.issued = append(p.issued, time.Now())
		p.mu.Unlock()
		// Not ctx: records buffered under a cancelled context are failed, and stopping the
		// producers must not fail what is in flight (the end of the run flushes it).
		p.cl.TryProduce(context.Background(), &kgo.Record{Topic: topic, Partition: s.Partition, Value: []byte(s.Value)},
			func(r *kgo.Record, err error) { p.done(i, r, err) })
	}
}

// done records a send's outcome. Only a value that never entered the client's buffer is
// known not to be written; any other error (a timeout, a closed connection or client) may
// come after the server wrote it.
func (p *faultProducer) done(i int, r *kgo.Record, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.sends[i]
	switch {
	case err == nil:
		s.Outcome, s.Offset = checker.OK, r.Offset
		p.acked++
		if p.issued[i].After(p.lastIssuedAcked) {
			p.lastIssuedAcked = p.issued[i]
		}
		return
	case errors.Is(err, kgo.ErrMaxBuffered):
		s.Outcome = checker.Failed
	default:
		s.Outcome = checker.Indeterminate
	}
	s.Err = err.Error()
}

// stop flushes what is buffered (bounded by ctx) and closes the client; a value still
// unanswered then is failed by the client as closed, an indeterminate outcome.
func (p *faultProducer) stop(ctx context.Context) error {
	err := p.cl.Flush(ctx)
	p.cl.Close()
	return err
}

// progress is how many values were acknowledged, and the latest issue time among them.
func (p *faultProducer) progress() (int, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked, p.lastIssuedAcked
}

// history returns the sends; one the client never answered (it cannot happen once the client
// is closed) counts as indeterminate.
func (p *faultProducer) history() []checker.Send {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]checker.Send, len(p.sends))
	for i, s := range p.sends {
		if s.Outcome == 0 {
			s.Outcome, s.Err = checker.Indeterminate, "never answered"
		}
		out[i] = s
	}
	return out
}

// issuedAt is when a value ("<producer>-<index>") was handed to its producer's client.
func issuedAt(producers []*faultProducer, value string) (time.Time, bool) {
	name, idx, ok := strings.Cut(value, "-")
	i, err := strconv.Atoi(idx)
	if !ok || err != nil {
		return time.Time{}, false
	}
	for _, p := range producers {
		if p.name != name {
			continue
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if i < len(p.issued) {
			return p.issued[i], true
		}
		break
	}
	return time.Time{}, false
}

// faultObserver collects the group's polls and every committed offset seen.
type faultObserver struct {
	mu      sync.Mutex
	polls   []checker.Poll
	commits []checker.Commit
	members map[string]int // polls per member
}

func (o *faultObserver) polled(ps []checker.Poll) {
	if len(ps) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.polls = append(o.polls, ps...)
	o.members[ps[0].Consumer] += len(ps)
}

func (o *faultObserver) committed(cs []checker.Commit) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commits = append(o.commits, cs...)
}

// faultMember is one member of the consumer group. It commits what it polled after every
// poll, synchronously, and notes each commit the coordinator accepted.
type faultMember struct {
	name, group string
	cl          *kgo.Client
}

func newFaultMember(name, group, topic, level string) (*faultMember, error) {
	cl, err := kgo.NewClient(faultClientOpts(level,
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(500*time.Millisecond),
	)...)
	if err != nil {
		return nil, err
	}
	return &faultMember{name: name, group: group, cl: cl}, nil
}

func (m *faultMember) run(ctx context.Context, obs *faultObserver) {
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := m.cl.PollFetches(pctx)
		cancel()
		at := time.Now()
		var ps []checker.Poll
		fs.EachRecord(func(r *kgo.Record) {
			ps = append(ps, checker.Poll{Consumer: m.name, Partition: r.Partition, Offset: r.Offset, Value: string(r.Value), At: at})
		})
		obs.polled(ps)
		if len(ps) > 0 {
			m.commit(ctx, obs)
		}
	}
}

func (m *faultMember) commit(ctx context.Context, obs *faultObserver) {
	offsets := m.cl.UncommittedOffsets()
	if len(offsets) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	m.cl.CommitOffsetsSync(cctx, offsets, func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			return
		}
		end := time.Now()
		asked := map[int32]int64{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				asked[p.Partition] = p.Offset
			}
		}
		var cs []checker.Commit
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if o, ok := asked[p.Partition]; ok && p.ErrorCode == 0 {
					cs = append(cs, checker.Commit{Group: m.group, Partition: p.Partition, Offset: o, Start: start, End: end, Source: m.name})
				}
			}
		}
		obs.committed(cs)
	})
}

// sampleCommits reads the group's committed offsets every faultSampleEvery until ctx ends.
func sampleCommits(ctx context.Context, adm *kadm.Client, group, topic string, obs *faultObserver) {
	tick := time.NewTicker(faultSampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		start := time.Now()
		resps, err := adm.FetchOffsets(sctx, group)
		end := time.Now()
		cancel()
		if err != nil {
			continue // the coordinator is down or moving: nothing was observed
		}
		var cs []checker.Commit
		for p, r := range resps[topic] {
			if r.Err == nil && r.At >= 0 {
				cs = append(cs, checker.Commit{Group: group, Partition: p, Offset: r.At, Start: start, End: end, Source: "sampler"})
			}
		}
		obs.committed(cs)
	}
}

// readAll reads every partition of topic from its log start to its end with a fresh client
// outside any group, and returns the records and each partition's range.
func readAll(ctx context.Context, level, topic string) ([]checker.Record, map[int32]checker.Range, error) {
	cl, err := kgo.NewClient(faultClientOpts(level)...)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := listOffsets(ctx, adm.ListStartOffsets, topic)
	if err != nil {
		return nil, nil, fmt.Errorf("log starts: %w", err)
	}
	ends, err := listOffsets(ctx, adm.ListEndOffsets, topic)
	if err != nil {
		return nil, nil, fmt.Errorf("log ends: %w", err)
	}
	logs := map[int32]checker.Range{}
	from := map[int32]kgo.Offset{}
	next := map[int32]int64{}
	for p, s := range starts[topic] {
		logs[p] = checker.Range{Start: s.Offset, End: ends[topic][p].Offset}
		from[p] = kgo.NewOffset().At(s.Offset)
		next[p] = s.Offset
	}
	rd, err := kgo.NewClient(faultClientOpts(level, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchMaxWait(500*time.Millisecond))...)
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	var out []checker.Record
	done := func() bool {
		for p, r := range logs {
			if next[p] < r.End {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := rd.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return out, logs, fmt.Errorf("reading to the log ends %v, got to %v: %w", logs, next, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < logs[r.Partition].End {
				out = append(out, checker.Record{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
			}
			next[r.Partition] = max(next[r.Partition], r.Offset+1)
		})
	}
	return out, logs, nil
}

// listOffsets lists topic's offsets with list, asking again while the answer is an error
// Kafka calls retriable (LEADER_NOT_AVAILABLE while a restarted broker elects its leaders,
// say), every 250 ms until ctx ends.
func listOffsets(ctx context.Context, list func(context.Context, ...string) (kadm.ListedOffsets, error), topic string) (kadm.ListedOffsets, error) {
	for {
		o, err := list(ctx, topic)
		if err == nil {
			err = o.Error()
		}
		if err == nil || !kerr.IsRetriable(err) {
			return o, err
		}
		select {
		case <-ctx.Done():
			return o, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitFor polls cond every 100 ms until it holds (true) or within passes or ctx ends (false).
func waitFor(ctx context.Context, within time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pause holds the fault for d (the fault's duration, not a synchronisation).
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
