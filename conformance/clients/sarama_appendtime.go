package clients

import (
	"context"

	"github.com/IBM/sarama"
)

var _ AppendTimes = (*saramaClient)(nil)

func (s *saramaClient) CreateTopicWithConfigs(_ context.Context, topic string, partitions int32, configs map[string]string) error {
	adm, err := sarama.NewClusterAdminFromClient(s.client)
	if err != nil {
		return err
	}
	entries := make(map[string]*string, len(configs))
	for k, v := range configs {
		entries[k] = &v
	}
	// Closing the admin would close the shared client; it holds no other resources.
	return adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1, ConfigEntries: entries}, false)
}

// ProduceAppendTime produces as Produce does with acks=all. sarama copies a produce response's
// LogAppendTime into each acknowledged ProducerMessage's Timestamp (leaving the producer's own
// when the response has none), and that is the Timestamp returned.
func (s *saramaClient) ProduceAppendTime(_ context.Context, recs []Record) ([]Record, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	msgs, err := s.produce(ProduceConfig{Acks: AcksAll}, recs)
	if err != nil {
		return nil, err
	}
	out := make([]Record, len(recs))
	for i, m := range msgs {
		out[i] = recs[i]
		out[i].Partition, out[i].Offset, out[i].Timestamp = m.Partition, m.Offset, m.Timestamp
	}
	return out, nil
}

// ConsumeTimestampTypes reads with sarama's partition consumer, which stamps a record of a
// LogAppendTime batch with the batch's MaxTimestamp; it does not expose the type.
func (s *saramaClient) ConsumeTimestampTypes(ctx context.Context, topic string, partition int32, offset int64, n int) ([]Record, []int8, error) {
	return withUnknownTypes(s.Consume(ctx, ConsumeConfig{}, topic, partition, offset, n))
}

// withUnknownTypes is what a client that does not expose timestamp types consumed.
func withUnknownTypes(recs []Record, err error) ([]Record, []int8, error) {
	if err != nil {
		return nil, nil, err
	}
	types := make([]int8, len(recs))
	for i := range types {
		types[i] = TimestampUnknown
	}
	return recs, types, nil
}
