package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

func kafkaGoBalancer(name string) (kafka.GroupBalancer, error) {
	switch name {
	case "", "range":
		return kafka.RangeGroupBalancer{}, nil
	case "roundrobin":
		return kafka.RoundRobinGroupBalancer{}, nil
	}
	return nil, fmt.Errorf("kafka-go has no %q balancer", name)
}

func (k *kafkaGo) CommitOffsets(ctx context.Context, group string, offsets []Offset) error {
	topics := map[string][]kafka.OffsetCommit{}
	for _, o := range offsets {
		topics[o.Topic] = append(topics[o.Topic], kafka.OffsetCommit{Partition: int(o.Partition), Offset: o.Offset, Metadata: o.Metadata})
	}
	resp, err := k.client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: topics})
	if err != nil {
		return err
	}
	for _, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return p.Error
			}
		}
	}
	return nil
}

func (k *kafkaGo) FetchOffsets(ctx context.Context, group, topic string, n int32) ([]Offset, error) {
	ps := make([]int, n)
	for i := range ps {
		ps[i] = i
	}
	resp, err := k.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ps}})
	if err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	out := make([]Offset, n)
	for p := range out {
		out[p] = Offset{Topic: topic, Partition: int32(p), Offset: -1}
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, p.Error
		}
		if p.Partition >= 0 && p.Partition < int(n) {
			out[p.Partition].Offset, out[p.Partition].Metadata = p.CommittedOffset, p.Metadata
		}
	}
	return out, nil
}

// The kafka-go group members report what kafka-go would otherwise retry forever without a
// word (its ConsumerGroup rejoins after any error; its Readers reconnect after any error):
//
//   - Retried quietly, then reported: errors that say "try again". Errors that are not Kafka
//     errors (connection refused, reset or closed, timeouts) and the Kafka codes of a group in
//     motion (REBALANCE_IN_PROGRESS, NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
//     COORDINATOR_LOAD_IN_PROGRESS, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION) or that
//     kafka.Error.Temporary names (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, ...).
//     One is reported once kafkaGoQuietRetries attempts failed in a row, or kafkaGoQuietWindow
//     passed since the first, without a new generation (group loop) or a record (Reader) in
//     between. An error from a Reader counts as kafkaGoReaderAttempts attempts: a Reader
//     reports a failure to join or to reach a partition's leader only after that many.
//   - Reported at once: every other Kafka code, such as GROUP_AUTHORIZATION_FAILED,
//     TOPIC_AUTHORIZATION_FAILED, OFFSET_OUT_OF_RANGE, INVALID_SESSION_TIMEOUT or
//     INCONSISTENT_GROUP_PROTOCOL.
//
// Poll returns a reported error (records fetched before it go out first); the code stays
// reachable through ErrorCode. kafka-go goes on trying after a report, so a condition that
// persists is reported again, except OFFSET_OUT_OF_RANGE: kafka-go has no reset policy, so the
// partition is not read again before the next generation.
const (
	kafkaGoQuietRetries = 10
	kafkaGoQuietWindow  = 15 * time.Second
)

// kafkaGoTransient tells the errors that say "try again" from the others (see above).
func kafkaGoTransient(err error) bool {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return true
	}
	switch ke {
	case kafka.RebalanceInProgress, kafka.NotCoordinatorForGroup, kafka.GroupCoordinatorNotAvailable,
		kafka.GroupLoadInProgress, kafka.UnknownMemberId, kafka.IllegalGeneration:
		return true
	}
	return ke.Temporary()
}

// quietRetries counts a run of transient errors.
type quietRetries struct {
	n     int
	since time.Time
}

// failed records err, which stands for attempts failed attempts, and says whether to report
// it now.
func (q *quietRetries) failed(err error, attempts int) bool {
	if !kafkaGoTransient(err) {
		q.reset()
		return true
	}
	if q.n == 0 {
		q.since = time.Now()
	}
	q.n += attempts
	if q.n >= kafkaGoQuietRetries || time.Since(q.since) >= kafkaGoQuietWindow {
		q.reset()
		return true
	}
	return false
}

// reset ends a run: the group got a generation, or the partition a record.
func (q *quietRetries) reset() { q.n = 0 }

// kafkaGoPump moves r's messages to f until ctx ends or r is closed, and reports r's errors as
// described above. After OFFSET_OUT_OF_RANGE the Reader no longer reads the partition
// (readerConfig), so FetchMessage waits for another partition's message or for ctx.
func kafkaGoPump(ctx context.Context, f *feed, r *kafka.Reader, what string) {
	var quiet quietRetries
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) { // io.EOF: the Reader is closed
				return
			}
			if quiet.failed(err, kafkaGoReaderAttempts) {
				f.report(fmt.Errorf("%s: %w", what, err))
			}
			continue
		}
		quiet.reset()
		if !f.deliver(ctx, fromKafkaGo(m)) {
			return
		}
	}
}

// Join joins gc.Group with kafka-go's ConsumerGroup (gc.API "") or a kafka.Reader with a
// GroupID (gc.API "reader").
func (k *kafkaGo) Join(_ context.Context, gc GroupConfig) (GroupConsumer, error) {
	cut := newCutter(k.tls)
	// Every connection of the member, the group's and the fetching Readers', is dialled through
	// the cutter (which does TLS), so that Vanish severs them all.
	dialer := &kafka.Dialer{ClientID: k.clientID, DialFunc: cut.DialContext, SASLMechanism: k.sasl, Timeout: 10 * time.Second}
	cfg, err := k.groupConfig(gc, dialer)
	if err != nil {
		return nil, err
	}
	switch gc.API {
	case "":
		return k.groupConsumer(cfg, cut)
	case "reader":
		return k.readerMember(cfg, cut)
	}
	return nil, fmt.Errorf("kafka-go has no group API %q", gc.API)
}

// groupConfig is the membership both kinds of member have.
func (k *kafkaGo) groupConfig(gc GroupConfig, dialer *kafka.Dialer) (kafka.ConsumerGroupConfig, error) {
	bal, err := kafkaGoBalancer(gc.Balancer)
	if err != nil {
		return kafka.ConsumerGroupConfig{}, err
	}
	if gc.InstanceID != "" {
		return kafka.ConsumerGroupConfig{}, errors.New("kafka-go has no static group membership")
	}
	// Where the group has no committed offset; kafka-go applies it to nothing else.
	start := kafka.FirstOffset
	if gc.ResetLatest {
		start = kafka.LastOffset
	}
	return kafka.ConsumerGroupConfig{
		ID: gc.Group, Brokers: []string{k.addr}, Dialer: dialer, Topics: gc.Topics,
		GroupBalancers: []kafka.GroupBalancer{bal},
		SessionTimeout: gc.session(), HeartbeatInterval: HeartbeatInterval, RebalanceTimeout: 30 * time.Second,
		JoinGroupBackoff: 200 * time.Millisecond, StartOffset: start,
	}, nil
}

// kafkaGoConsumer runs kafka-go's ConsumerGroup for membership and assignments, and reads each
// partition of a generation with a kafka.Reader in partition mode from the generation's offset,
// as applications that use ConsumerGroup do.
// Closing the ConsumerGroup ends the generation, waits for its Readers, and leaves the group.
type kafkaGoConsumer struct {
	*member
	*feed
	k      *kafkaGo
	cg     *kafka.ConsumerGroup
	dialer *kafka.Dialer
	gen    *kafka.Generation // guarded by mu; nil between generations
}

func (k *kafkaGo) groupConsumer(cfg kafka.ConsumerGroupConfig, cut *cutter) (GroupConsumer, error) {
	cg, err := kafka.NewConsumerGroup(cfg)
	if err != nil {
		return nil, err
	}
	c := &kafkaGoConsumer{member: newMember(cut), feed: newFeed(), k: k, cg: cg, dialer: cfg.Dialer}
	c.leave = func() { cg.Close() }
	c.start(func(ctx context.Context) { c.run(ctx, cfg.ID) })
	return c, nil
}

func (c *kafkaGoConsumer) run(ctx context.Context, group string) {
	var quiet quietRetries
	for {
		gen, err := c.cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return
			}
			if quiet.failed(err, 1) {
				c.report(fmt.Errorf("kafka-go consumer group %s: %w", group, err))
			}
			continue
		}
		quiet.reset()
		assigned := map[string][]int32{}
		for topic, pas := range gen.Assignments {
			for _, pa := range pas {
				assigned[topic] = append(assigned[topic], int32(pa.ID))
				gen.Start(func(ctx context.Context) { c.readPartition(ctx, topic, pa) })
			}
		}
		c.mu.Lock()
		c.gen, c.assigned = gen, assignedCopy(assigned)
		c.mu.Unlock()
		gen.Start(func(ctx context.Context) {
			<-ctx.Done() // the generation ended: nothing is assigned until the next one
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.gen == gen {
				c.gen, c.assigned = nil, map[string][]int32{}
			}
		})
	}
}

// readPartition reads one assigned partition until the generation ends. A function started on
// a generation ends the generation when it returns, so it returns only when the generation does.
func (c *kafkaGoConsumer) readPartition(ctx context.Context, topic string, pa kafka.PartitionAssignment) {
	cfg := c.k.readerConfig(ConsumeConfig{}, c.dialer)
	cfg.Topic, cfg.Partition = topic, pa.ID
	r, err := newKafkaGoReader(cfg)
	if err == nil {
		// Close waits for the Reader's fetch in flight, so the next generation does not start
		// while this one still reads the partition.
		defer r.Close()
		// The committed offset, or the group's StartOffset (FirstOffset or LastOffset) where none.
		err = r.SetOffset(pa.Offset)
	}
	if err != nil {
		c.report(err)
		<-ctx.Done()
		return
	}
	kafkaGoPump(ctx, c.feed, r, fmt.Sprintf("kafka-go reader of %s/%d", topic, pa.ID))
}

func (c *kafkaGoConsumer) Commit(_ context.Context, offsets []Offset) error {
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	if gen == nil {
		return errors.New("kafka-go: no generation to commit in")
	}
	m := map[string]map[int]int64{}
	for _, o := range offsets {
		if m[o.Topic] == nil {
			m[o.Topic] = map[int]int64{}
		}
		m[o.Topic][int(o.Partition)] = o.Offset
	}
	return gen.CommitOffsets(m)
}
