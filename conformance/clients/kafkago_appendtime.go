package clients

import (
	"context"
	"errors"

	kafka "github.com/segmentio/kafka-go"
)

var _ AppendTimes = (*kafkaGo)(nil)

func (k *kafkaGo) CreateTopicWithConfigs(ctx context.Context, topic string, partitions int32, configs map[string]string) error {
	tc := kafka.TopicConfig{Topic: topic, NumPartitions: int(partitions), ReplicationFactor: 1}
	for n, v := range configs {
		tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: n, ConfigValue: v})
	}
	resp, err := k.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{tc}})
	if err != nil {
		return err
	}
	return resp.Errors[topic]
}

// ProduceAppendTime produces with kafka.Client.Produce, whose response carries the
// LogAppendTime (zero when the broker answered -1).
func (k *kafkaGo) ProduceAppendTime(ctx context.Context, recs []Record) ([]Record, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	topic, partition := recs[0].Topic, recs[0].Partition
	krs := make([]kafka.Record, len(recs))
	for i, r := range recs {
		if r.Topic != topic || r.Partition != partition {
			return nil, errors.New("kafka-go: ProduceAppendTime takes records of one partition")
		}
		kr := kafka.Record{Time: r.Timestamp, Key: kafka.NewBytes(r.Key), Value: kafka.NewBytes(r.Value)}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		krs[i] = kr
	}
	resp, err := k.client.Produce(ctx, &kafka.ProduceRequest{
		Topic: topic, Partition: int(partition), RequiredAcks: kafka.RequireAll, Records: kafka.NewRecordReader(krs...),
	})
	if err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = r
		out[i].Offset, out[i].Timestamp = resp.BaseOffset+int64(i), resp.LogAppendTime
	}
	return out, nil
}

// ConsumeTimestampTypes reads with the adapter's Consume. kafka-go's record reader neither
// exposes the timestamp type nor looks at it: a record of a LogAppendTime batch keeps the
// producer's timestamp (protocol/record_v2.go reads the batch's MaxTimestamp and drops it).
func (k *kafkaGo) ConsumeTimestampTypes(ctx context.Context, topic string, partition int32, offset int64, n int) ([]Record, []int8, error) {
	return withUnknownTypes(k.Consume(ctx, ConsumeConfig{}, topic, partition, offset, n))
}
