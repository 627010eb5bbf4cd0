package clients

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func franzBalancer(name string) (kgo.GroupBalancer, error) {
	switch name {
	case "", "range":
		return kgo.RangeBalancer(), nil
	case "roundrobin":
		return kgo.RoundRobinBalancer(), nil
	case "sticky":
		return kgo.StickyBalancer(), nil
	case "cooperative-sticky":
		return kgo.CooperativeStickyBalancer(), nil
	}
	return nil, fmt.Errorf("franz-go has no %q balancer", name)
}

func (f *franz) CommitOffsets(ctx context.Context, group string, offsets []Offset) error {
	os := kadm.Offsets{}
	for _, o := range offsets {
		os.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset, LeaderEpoch: -1, Metadata: o.Metadata})
	}
	resp, err := kadm.NewClient(f.admin).CommitOffsets(ctx, group, os)
	if err != nil {
		return err
	}
	return resp.Error()
}

func (f *franz) FetchOffsets(ctx context.Context, group, topic string, n int32) ([]Offset, error) {
	resp, err := kadm.NewClient(f.admin).FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	if err := resp.Error(); err != nil {
		return nil, err
	}
	out := make([]Offset, n)
	for p := int32(0); p < n; p++ {
		out[p] = Offset{Topic: topic, Partition: p, Offset: -1}
		if o, ok := resp.Lookup(topic, p); ok {
			out[p].Offset, out[p].Metadata = o.At, o.Metadata
		}
	}
	return out, nil
}

// franzConsumer is a kgo group client; Poll polls it directly. Closing the client leaves the
// group.
type franzConsumer struct {
	*member
	cl *kgo.Client
}

func (f *franz) Join(_ context.Context, cfg GroupConfig) (GroupConsumer, error) {
	bal, err := franzBalancer(cfg.Balancer)
	if err != nil {
		return nil, err
	}
	reset := kgo.NewOffset().AtStart()
	if cfg.ResetLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	c := &franzConsumer{member: newMember(newCutter(f.tls))}
	opts := []kgo.Opt{
		kgo.Dialer(c.cut.DialContext),
		kgo.ConsumerGroup(cfg.Group), kgo.ConsumeTopics(cfg.Topics...), kgo.Balancers(bal),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.ConsumeResetOffset(reset),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { c.assign(m, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { c.assign(m, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { c.assign(m, false) }),
	}
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	opts = append(opts, kgo.SessionTimeout(cfg.session()), kgo.HeartbeatInterval(HeartbeatInterval))
	if c.cl, err = kgo.NewClient(f.opts(opts...)...); err != nil {
		return nil, err
	}
	c.leave = c.cl.Close
	return c, nil
}

func (c *franzConsumer) Poll(ctx context.Context) ([]Record, error) {
	for {
		fs := c.cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, ferr
		}
		var out []Record
		fs.EachRecord(func(r *kgo.Record) { out = append(out, fromKgo(r)) })
		if len(out) > 0 {
			return out, nil
		}
	}
}

func (c *franzConsumer) Commit(ctx context.Context, offsets []Offset) error {
	m := map[string]map[int32]kgo.EpochOffset{}
	for _, o := range offsets {
		if m[o.Topic] == nil {
			m[o.Topic] = map[int32]kgo.EpochOffset{}
		}
		m[o.Topic][o.Partition] = kgo.EpochOffset{Epoch: -1, Offset: o.Offset}
	}
	var cerr error
	c.cl.CommitOffsetsSync(ctx, m, func(_ *kgo.Client, _ *kmsgOffsetCommitRequest, resp *kmsgOffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if e := kerrFor(p.ErrorCode); e != nil && cerr == nil {
					cerr = e
				}
			}
		}
	})
	return cerr
}
