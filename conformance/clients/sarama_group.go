package clients

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

func saramaBalancer(name string) (sarama.BalanceStrategy, error) {
	switch name {
	case "", "range":
		return sarama.NewBalanceStrategyRange(), nil
	case "roundrobin":
		return sarama.NewBalanceStrategyRoundRobin(), nil
	case "sticky":
		return sarama.NewBalanceStrategySticky(), nil
	case "cooperative-sticky":
		return sarama.NewBalanceStrategyCooperativeSticky(), nil
	}
	return nil, fmt.Errorf("sarama has no %q balancer", name)
}

func (s *saramaClient) CommitOffsets(_ context.Context, group string, offsets []Offset) error {
	cfg := *s.cfg
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cl, err := sarama.NewClient(s.addrs, &cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	om, err := sarama.NewOffsetManagerFromClient(group, cl)
	if err != nil {
		return err
	}
	var poms []sarama.PartitionOffsetManager
	for _, o := range offsets {
		pom, err := om.ManagePartition(o.Topic, o.Partition)
		if err != nil {
			return err
		}
		// MarkOffset only moves forward and ResetOffset only backward from the committed one.
		if next, _ := pom.NextOffset(); o.Offset > next {
			pom.MarkOffset(o.Offset, o.Metadata)
		} else {
			pom.ResetOffset(o.Offset, o.Metadata)
		}
		poms = append(poms, pom)
	}
	om.Commit()
	// Close releases the partition managers, which closes their error channels; commit errors
	// are already buffered in them by then.
	om.Close()
	var first error
	for _, pom := range poms {
		for e := range pom.Errors() {
			if first == nil {
				first = e.Err
			}
		}
	}
	return first
}

func (s *saramaClient) FetchOffsets(_ context.Context, group, topic string, n int32) ([]Offset, error) {
	adm, err := sarama.NewClusterAdminFromClient(s.client)
	if err != nil {
		return nil, err
	}
	ps := make([]int32, n)
	for i := range ps {
		ps[i] = int32(i)
	}
	resp, err := adm.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		return nil, err
	}
	if resp.Err != sarama.ErrNoError {
		return nil, resp.Err
	}
	out := make([]Offset, n)
	for p := int32(0); p < n; p++ {
		out[p] = Offset{Topic: topic, Partition: p, Offset: -1}
		if b := resp.GetBlock(topic, p); b != nil {
			if b.Err != sarama.ErrNoError {
				return nil, b.Err
			}
			out[p].Offset, out[p].Metadata = b.Offset, b.Metadata
		}
	}
	return out, nil
}

type saramaConsumer struct {
	cg      sarama.ConsumerGroup
	cancel  context.CancelFunc
	done    chan struct{}
	records chan Record

	mu       sync.Mutex
	assigned map[string][]int32
	session  sarama.ConsumerGroupSession
	err      error

	closeOnce sync.Once
	cut       *cutter
}

func (s *saramaClient) Join(_ context.Context, gc GroupConfig) (GroupConsumer, error) {
	bal, err := saramaBalancer(gc.Balancer)
	if err != nil {
		return nil, err
	}
	cfg := *s.cfg
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	if gc.ResetLatest {
		cfg.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	cfg.Consumer.Group.ResetInvalidOffsets = true // the default, spelled out: out of range resets to Initial
	cfg.Consumer.MaxWaitTime = 500 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{bal}
	cfg.Consumer.Group.Session.Timeout = gc.session()
	cfg.Consumer.Group.Heartbeat.Interval = HeartbeatInterval
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 200 * time.Millisecond
	if gc.InstanceID != "" {
		cfg.Consumer.Group.InstanceId = gc.InstanceID
	}
	cut := newCutter(nil) // sarama wraps the dialled connection in TLS itself
	cfg.Net.Proxy.Enable, cfg.Net.Proxy.Dialer = true, cut
	cg, err := sarama.NewConsumerGroup(s.addrs, gc.Group, &cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &saramaConsumer{cut: cut, cg: cg, cancel: cancel, done: make(chan struct{}), records: make(chan Record, 4096), assigned: map[string][]int32{}}
	go func() {
		defer close(c.done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, gc.Topics, c); err != nil {
				if errors.Is(err, sarama.ErrClosedConsumerGroup) {
					return
				}
				c.setErr(err)
				select { // back off before rejoining
				case <-time.After(100 * time.Millisecond):
				case <-ctx.Done():
				}
			}
		}
	}()
	go func() {
		for err := range cg.Errors() {
			c.setErr(err)
		}
	}()
	return c, nil
}

func (c *saramaConsumer) setErr(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

// Setup, Cleanup and ConsumeClaim implement sarama.ConsumerGroupHandler. The assignment is
// the claims being consumed: with a cooperative strategy sarama keeps one session across
// rebalances, starting a ConsumeClaim for each partition gained and ending the ones revoked.
func (c *saramaConsumer) Setup(s sarama.ConsumerGroupSession) error {
	c.mu.Lock()
	c.session = s
	c.mu.Unlock()
	return nil
}

// claim adds or removes one claimed partition.
func (c *saramaConsumer) claim(topic string, partition int32, add bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := c.assigned[topic][:0:0]
	for _, p := range c.assigned[topic] {
		if p != partition {
			ps = append(ps, p)
		}
	}
	if add {
		ps = append(ps, partition)
	}
	c.assigned[topic] = ps
}

func (c *saramaConsumer) Cleanup(sarama.ConsumerGroupSession) error {
	c.mu.Lock()
	c.session, c.assigned = nil, map[string][]int32{}
	c.mu.Unlock()
	return nil
}

func (c *saramaConsumer) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	c.claim(claim.Topic(), claim.Partition(), true)
	defer c.claim(claim.Topic(), claim.Partition(), false)
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			select {
			case c.records <- fromSarama(m):
			case <-s.Context().Done():
				return nil
			}
		case <-s.Context().Done():
			return nil
		}
	}
}

func (c *saramaConsumer) Assigned() map[string][]int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return assignedCopy(c.assigned)
}

func (c *saramaConsumer) Poll(ctx context.Context) ([]Record, error) {
	if out, ok := drain(ctx, c.records); ok {
		return out, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		// Both wrapped: the Kafka code of the group's error stays reachable (ErrorCode).
		return nil, fmt.Errorf("%w (last consumer group error: %w)", ctx.Err(), c.err)
	}
	return nil, ctx.Err()
}

func (c *saramaConsumer) Commit(_ context.Context, offsets []Offset) error {
	c.mu.Lock()
	s := c.session
	c.err = nil
	c.mu.Unlock()
	if s == nil {
		return errors.New("sarama: no active group session to commit in")
	}
	for _, o := range offsets {
		s.MarkOffset(o.Topic, o.Partition, o.Offset, o.Metadata)
	}
	s.Commit()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *saramaConsumer) Vanish() { c.cut.Cut() }

func (c *saramaConsumer) Close() {
	c.closeOnce.Do(func() {
		c.cancel()
		c.cg.Close() // leaves the group
		<-c.done
	})
}
