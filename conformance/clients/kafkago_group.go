package clients

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// kafkaGoConsumer runs kafka-go's ConsumerGroup and fetches each generation's partitions with
// the low-level client.
type kafkaGoConsumer struct {
	k       *kafkaGo
	cg      *kafka.ConsumerGroup
	cancel  context.CancelFunc
	done    chan struct{}
	records chan Record

	mu       sync.Mutex
	gen      *kafka.Generation
	assigned map[string][]int32
	err      error

	closeOnce sync.Once
	cut       *cutter
}

func (k *kafkaGo) Consumer(_ context.Context, gc GroupConfig) (GroupConsumer, error) {
	bal, err := kafkaGoBalancer(gc.Balancer)
	if err != nil {
		return nil, err
	}
	if gc.InstanceID != "" {
		return nil, errors.New("kafka-go has no static group membership")
	}
	cut := newCutter(k.tls)
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		Dialer: &kafka.Dialer{ClientID: "kop-conformance-kafka-go", DialFunc: cut.DialContext, SASLMechanism: k.sasl},
		ID:     gc.Group, Brokers: []string{k.addr}, Topics: gc.Topics, GroupBalancers: []kafka.GroupBalancer{bal},
		SessionTimeout: gc.session(), HeartbeatInterval: HeartbeatInterval, RebalanceTimeout: 30 * time.Second,
		JoinGroupBackoff: 200 * time.Millisecond, StartOffset: kafka.FirstOffset,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &kafkaGoConsumer{cut: cut, k: k, cg: cg, cancel: cancel, done: make(chan struct{}), records: make(chan Record, 4096), assigned: map[string][]int32{}}
	go c.run(ctx)
	return c, nil
}

func (c *kafkaGoConsumer) run(ctx context.Context) {
	defer close(c.done)
	for {
		gen, err := c.cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return
			}
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			continue
		}
		assigned := map[string][]int32{}
		for topic, pas := range gen.Assignments {
			for _, pa := range pas {
				assigned[topic] = append(assigned[topic], int32(pa.ID))
				topic, pa := topic, pa
				gen.Start(func(ctx context.Context) { c.fetchLoop(ctx, topic, pa) })
			}
		}
		c.mu.Lock()
		c.gen, c.assigned = gen, assignedCopy(assigned)
		c.mu.Unlock()
	}
}

func (c *kafkaGoConsumer) fetchLoop(ctx context.Context, topic string, pa kafka.PartitionAssignment) {
	offset := pa.Offset
	if offset < 0 {
		off, err := c.k.ListOffset(ctx, topic, int32(pa.ID), offset)
		if err != nil {
			return
		}
		offset = off
	}
	for ctx.Err() == nil {
		recs, err := c.k.Consume(ctx, topic, int32(pa.ID), offset, 1)
		if err != nil {
			select { // the generation ends or the error passes; do not spin
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		for _, r := range recs {
			select {
			case c.records <- r:
			case <-ctx.Done():
				return
			}
			offset = r.Offset + 1
		}
	}
}

func (c *kafkaGoConsumer) Assigned() map[string][]int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return assignedCopy(c.assigned)
}

func (c *kafkaGoConsumer) Poll(ctx context.Context) ([]Record, error) {
	out, ok := drain(ctx, c.records)
	if !ok {
		return nil, ctx.Err()
	}
	return out, nil
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

func (c *kafkaGoConsumer) Vanish() { c.cut.Cut() }

func (c *kafkaGoConsumer) Close() {
	c.closeOnce.Do(func() {
		c.cancel()
		c.cg.Close() // leaves the group
		<-c.done
	})
}
