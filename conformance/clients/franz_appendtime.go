package clients

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var _ AppendTimes = (*franz)(nil)

func (f *franz) CreateTopicWithConfigs(ctx context.Context, topic string, partitions int32, configs map[string]string) error {
	cfg := make(map[string]*string, len(configs))
	for k, v := range configs {
		cfg[k] = &v
	}
	resp, err := kadm.NewClient(f.admin).CreateTopic(ctx, partitions, 1, cfg, topic)
	if err != nil {
		return err
	}
	return resp.Err
}

// ProduceAppendTime sends recs as one record batch in a ProduceRequest of the client's own
// protocol API (kmsg, through the pinned client), because kgo's producer does not hand the
// response's LogAppendTime to the application: this is the one way franz-go exposes it.
func (f *franz) ProduceAppendTime(ctx context.Context, recs []Record) ([]Record, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	topic, partition := recs[0].Topic, recs[0].Partition
	for _, r := range recs {
		if r.Topic != topic || r.Partition != partition {
			return nil, errors.New("franz-go: ProduceAppendTime takes records of one partition")
		}
	}
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 30000 // the admin client's acks (kgo's default, all)
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, recordBatch(recs)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, f.admin)
	if err != nil {
		return nil, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return nil, fmt.Errorf("franz-go: produce response for %d topics, asked for 1", len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		return nil, err
	}
	var at time.Time
	if p.LogAppendTime >= 0 {
		at = time.UnixMilli(p.LogAppendTime)
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = r
		out[i].Offset, out[i].Timestamp = p.BaseOffset+int64(i), at
	}
	return out, nil
}

// recordBatch encodes recs as one uncompressed magic-2 record batch without a producer id,
// stamped CreateTime with the records' own timestamps (what the broker then overrides).
func recordBatch(recs []Record) []byte {
	first, last := recs[0].Timestamp.UnixMilli(), recs[0].Timestamp.UnixMilli()
	var records []byte
	for i, r := range recs {
		ts := r.Timestamp.UnixMilli()
		last = max(last, ts)
		kr := kmsg.Record{TimestampDelta64: ts - first, OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		// Length is everything after itself: encode once with a one-byte zero length to measure.
		kr.Length = int32(len(kr.AppendTo(nil)) - 1)
		records = kr.AppendTo(records)
	}
	b := kmsg.RecordBatch{
		FirstOffset: 0, PartitionLeaderEpoch: -1, Magic: 2, Attributes: 0,
		LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: first, MaxTimestamp: last,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(recs)), Records: records,
	}
	raw := b.AppendTo(nil)
	b.Length = int32(len(raw) - 12) // after FirstOffset and Length
	// The CRC-32C covers everything from the attributes on (after the CRC field, byte 21).
	b.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b.AppendTo(nil)
}

// ConsumeTimestampTypes reads with kgo's consumer, which stamps a record of a LogAppendTime
// batch with the batch's MaxTimestamp and reports the type in its attributes.
func (f *franz) ConsumeTimestampTypes(ctx context.Context, topic string, partition int32, offset int64, n int) ([]Record, []int8, error) {
	got, err := f.consume(ctx, ConsumeConfig{}, topic, partition, offset, n)
	if err != nil {
		return nil, nil, err
	}
	recs, types := make([]Record, n), make([]int8, n)
	for i, r := range got {
		recs[i], types[i] = fromKgo(r.Record), r.Attrs.TimestampType()
	}
	return recs, types, nil
}
