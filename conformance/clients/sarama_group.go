package clients

import (
	"context"
	"errors"
	"fmt"
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

// saramaConsumer runs a sarama ConsumerGroup on its own goroutine; its claims feed Poll. Errors
// of the group are noted, not reported: sarama retries, and Poll names the last one only when
// it times out. Closing the group leaves it.
type saramaConsumer struct {
	*member
	*feed
	session sarama.ConsumerGroupSession // guarded by mu
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
	c := &saramaConsumer{member: newMember(cut), feed: newFeed()}
	c.leave = func() { cg.Close() }
	c.start(func(ctx context.Context) {
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, gc.Topics, c); err != nil {
				if errors.Is(err, sarama.ErrClosedConsumerGroup) {
					return
				}
				c.note(err)
				select { // back off before rejoining
				case <-time.After(100 * time.Millisecond):
				case <-ctx.Done():
				}
			}
		}
	})
	go func() {
		for err := range cg.Errors() {
			c.note(err)
		}
	}()
	return c, nil
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

func (c *saramaConsumer) Cleanup(sarama.ConsumerGroupSession) error {
	c.mu.Lock()
	c.session, c.assigned = nil, map[string][]int32{}
	c.mu.Unlock()
	return nil
}

func (c *saramaConsumer) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	claimed := map[string][]int32{claim.Topic(): {claim.Partition()}}
	c.assign(claimed, true)
	defer c.assign(claimed, false)
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok || !c.deliver(s.Context(), fromSarama(m)) {
				return nil
			}
		case <-s.Context().Done():
			return nil
		}
	}
}

func (c *saramaConsumer) Commit(_ context.Context, offsets []Offset) error {
	c.mu.Lock()
	s := c.session
	c.mu.Unlock()
	c.note(nil)
	if s == nil {
		return errors.New("sarama: no active group session to commit in")
	}
	for _, o := range offsets {
		s.MarkOffset(o.Topic, o.Partition, o.Offset, o.Metadata)
	}
	s.Commit()
	return c.lastErr()
}
