package clients

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func (f *franz) TopicPartitions(ctx context.Context, topic string) (int32, error) {
	resp, err := kadm.NewClient(f.admin).ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	td, ok := resp[topic]
	if !ok {
		return 0, kerr.UnknownTopicOrPartition
	}
	if td.Err != nil {
		return 0, td.Err
	}
	return int32(len(td.Partitions)), nil
}

func (f *franz) DeleteTopic(ctx context.Context, topic string) error {
	resp, err := kadm.NewClient(f.admin).DeleteTopics(ctx, topic)
	if err != nil {
		return err
	}
	return resp[topic].Err
}

func (f *franz) CreatePartitions(ctx context.Context, topic string, count int32) error {
	resp, err := kadm.NewClient(f.admin).UpdatePartitions(ctx, int(count), topic)
	if err != nil {
		return err
	}
	return resp[topic].Err
}

func (f *franz) TopicConfigs(ctx context.Context, topic string, names []string) (map[string]string, error) {
	resp, err := kadm.NewClient(f.admin).DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return nil, err
	}
	rc, err := resp.On(topic, nil)
	if err != nil {
		return nil, err
	}
	if rc.Err != nil {
		return nil, rc.Err
	}
	return pick(names, func(yield func(string, string)) {
		for _, c := range rc.Configs {
			yield(c.Key, c.MaybeValue())
		}
	}), nil
}

// pick keeps the named entries of a config listing.
func pick(names []string, each func(yield func(k, v string))) map[string]string {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]string{}
	each(func(k, v string) {
		if want[k] {
			out[k] = v
		}
	})
	return out
}
