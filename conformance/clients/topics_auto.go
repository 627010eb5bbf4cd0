package clients

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AutoCreator is a client that can have the broker create a topic by asking for its metadata
// with auto-creation allowed, the way each library does it when an application first uses a
// topic.
type AutoCreator interface {
	// AutoCreateTopic asks for topic's metadata allowing auto-creation and returns its
	// partition count once the broker has created it.
	AutoCreateTopic(ctx context.Context, topic string) (int32, error)
}

var (
	_ AutoCreator = (*franz)(nil)
	_ AutoCreator = (*saramaClient)(nil)
	_ AutoCreator = (*kafkaGo)(nil)
)

// AutoCreateTopic sends Metadata with AllowAutoTopicCreation (always implied below v4), as
// kgo does with its AllowAutoTopicCreation option.
func (f *franz) AutoCreateTopic(ctx context.Context, topic string) (int32, error) {
	for {
		req := kmsg.NewPtrMetadataRequest()
		req.AllowAutoTopicCreation = true
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = []kmsg.MetadataRequestTopic{rt}
		resp, err := req.RequestWith(ctx, f.admin)
		if err != nil {
			return 0, err
		}
		if len(resp.Topics) != 1 {
			return 0, fmt.Errorf("metadata for %s answered %d topics", topic, len(resp.Topics))
		}
		t := resp.Topics[0]
		err = kerr.ErrorForCode(t.ErrorCode)
		if err == nil && len(t.Partitions) > 0 {
			return int32(len(t.Partitions)), nil
		}
		if err != nil && err != kerr.LeaderNotAvailable && err != kerr.UnknownTopicOrPartition {
			return 0, err
		}
		if err := retryPause(ctx); err != nil { // a topic being created: ask again until ctx ends
			return 0, fmt.Errorf("topic %s was not created: %w", topic, err)
		}
	}
}

// retryPause waits before asking again, or returns ctx's error when it ends first.
func retryPause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

// AutoCreateTopic refreshes the topic's metadata; sarama allows auto-creation by default
// (Metadata.AllowAutoTopicCreation).
func (s *saramaClient) AutoCreateTopic(ctx context.Context, topic string) (int32, error) {
	for {
		err := s.client.RefreshMetadata(topic)
		if err == nil {
			ps, perr := s.client.Partitions(topic)
			if perr == nil && len(ps) > 0 {
				return int32(len(ps)), nil
			}
			err = perr
		}
		if retryPause(ctx) != nil {
			return 0, fmt.Errorf("topic %s was not created: %w", topic, err)
		}
	}
}

// AutoCreateTopic looks the topic's partitions up with a Dialer, which is what kafka-go's
// Reader does first; its metadata request always allows auto-creation.
func (k *kafkaGo) AutoCreateTopic(ctx context.Context, topic string) (int32, error) {
	d := &kafka.Dialer{ClientID: k.clientID, TLS: k.tls, SASLMechanism: k.sasl}
	for {
		ps, err := d.LookupPartitions(ctx, "tcp", k.addr, topic)
		if err == nil && len(ps) > 0 {
			return int32(len(ps)), nil
		}
		// While the broker creates the topic it answers UNKNOWN_TOPIC_OR_PARTITION or
		// LEADER_NOT_AVAILABLE; ask again, as the Reader would.
		if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) && !errors.Is(err, kafka.LeaderNotAvailable) {
			return 0, err
		}
		if perr := retryPause(ctx); perr != nil {
			return 0, fmt.Errorf("topic %s was not created: %w (last: %v)", topic, perr, err)
		}
	}
}
