package clients

import (
	"context"
	"time"

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

// ProduceAppendTime produces with a SyncProducer. sarama copies a produce response's
// LogAppendTime into each acknowledged ProducerMessage's Timestamp (leaving the producer's own
// when the response has none), and that is the Timestamp returned.
func (s *saramaClient) ProduceAppendTime(_ context.Context, recs []Record) ([]Record, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	cfg := *s.cfg
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Flush.Messages = len(recs) // one request for the whole slice
	cfg.Producer.Flush.Frequency = 50 * time.Millisecond
	p, err := sarama.NewSyncProducer(s.addrs, &cfg)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	msgs, err := saramaSend(p, recs)
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
	recs, err := s.Consume(ctx, ConsumeConfig{}, topic, partition, offset, n)
	if err != nil {
		return nil, nil, err
	}
	return recs, unknownTypes(len(recs)), nil
}

func unknownTypes(n int) []int8 {
	out := make([]int8, n)
	for i := range out {
		out[i] = TimestampUnknown
	}
	return out
}
