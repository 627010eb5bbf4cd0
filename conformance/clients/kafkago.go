package clients

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
)

// kafkaGo cannot pin its request versions: it negotiates from ApiVersions. A level is reached
// by connecting to a listener that advertises only that level's versions.
type kafkaGo struct {
	tls       *tls.Config
	sasl      sasl.Mechanism
	addr      string
	client    *kafka.Client
	transport *kafka.Transport
}

func newKafkaGo(t Target, level string) (Client, error) {
	addr, err := levelAddr(t, level)
	if err != nil {
		return nil, err
	}
	// An own transport per client: the package default is shared process-wide and would hand
	// out connections a previous client opened (dead ones, after a server restart).
	var mech sasl.Mechanism
	if t.SASL != nil {
		mech = plain.Mechanism{Username: t.SASL.User, Password: t.SASL.Password}
	}
	tr := &kafka.Transport{TLS: t.TLS, SASL: mech}
	return &kafkaGo{tls: t.TLS, sasl: mech, addr: addr, client: &kafka.Client{Addr: kafka.TCP(addr), Timeout: 30 * time.Second, Transport: tr}, transport: tr}, nil
}

func (k *kafkaGo) Close() { k.transport.CloseIdleConnections() }

func (k *kafkaGo) CreateTopic(ctx context.Context, topic string, partitions int32) error {
	resp, err := k.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: int(partitions), ReplicationFactor: 1}},
	})
	if err != nil {
		return err
	}
	return resp.Errors[topic]
}

func (k *kafkaGo) Produce(ctx context.Context, acks Acks, recs []Record) ([]Record, error) {
	return k.ProduceWith(ctx, ProduceConfig{Acks: acks}, recs)
}

func kafkaGoCodec(name string) (kafka.Compression, error) {
	switch name {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("kafka-go: unknown codec %q", name)
}

func (k *kafkaGo) ProduceWith(ctx context.Context, pc ProduceConfig, recs []Record) ([]Record, error) {
	acks := pc.Acks
	if pc.Idempotent {
		return nil, errors.New("kafka-go has no idempotent producer")
	}
	codec, err := kafkaGoCodec(pc.Compression)
	if err != nil {
		return nil, err
	}
	// The client's Produce call addresses one partition; group consecutive records per partition.
	out := make([]Record, len(recs))
	copy(out, recs)
	byPart := map[string]map[int32][]int{}
	var order [][2]any
	for i, r := range recs {
		if byPart[r.Topic] == nil {
			byPart[r.Topic] = map[int32][]int{}
		}
		if len(byPart[r.Topic][r.Partition]) == 0 {
			order = append(order, [2]any{r.Topic, r.Partition})
		}
		byPart[r.Topic][r.Partition] = append(byPart[r.Topic][r.Partition], i)
	}
	for _, tp := range order {
		topic, part := tp[0].(string), tp[1].(int32)
		idx := byPart[topic][part]
		krs := make([]kafka.Record, len(idx))
		for j, i := range idx {
			r := recs[i]
			kr := kafka.Record{Time: r.Timestamp, Key: kafka.NewBytes(r.Key), Value: kafka.NewBytes(r.Value)}
			for _, h := range r.Headers {
				kr.Headers = append(kr.Headers, kafka.Header{Key: h.Key, Value: h.Value})
			}
			krs[j] = kr
		}
		resp, err := k.client.Produce(ctx, &kafka.ProduceRequest{
			Topic: topic, Partition: int(part), RequiredAcks: kafka.RequiredAcks(acks), Compression: codec,
			Records: kafka.NewRecordReader(krs...),
		})
		if err != nil {
			return nil, err
		}
		if acks == AcksNone { // no response to read
			for _, i := range idx {
				out[i].Offset = -1
			}
			continue
		}
		if resp.Error != nil {
			return nil, resp.Error
		}
		for j, i := range idx {
			out[i].Offset = resp.BaseOffset + int64(j)
		}
	}
	return out, nil
}

func (k *kafkaGo) Consume(ctx context.Context, topic string, partition int32, offset int64, n int) ([]Record, error) {
	return k.ConsumeWith(ctx, ConsumeConfig{}, topic, partition, offset, n)
}

func (k *kafkaGo) ConsumeWith(ctx context.Context, cc ConsumeConfig, topic string, partition int32, offset int64, n int) ([]Record, error) {
	maxBytes := int64(8 << 20)
	if cc.MaxBytes > 0 {
		maxBytes = int64(cc.MaxBytes) // kafka-go uses one limit for the response and the partition
	}
	var out []Record
	next := offset
	for len(out) < n {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("consumed %d of %d records: %w", len(out), n, err)
		}
		resp, err := k.client.Fetch(ctx, &kafka.FetchRequest{
			Topic: topic, Partition: int(partition), Offset: next,
			MinBytes: 1, MaxBytes: maxBytes, MaxWait: 500 * time.Millisecond,
		})
		if err != nil {
			return out, err
		}
		if resp.Error != nil {
			return out, resp.Error
		}
		for {
			r, err := resp.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return out, err
			}
			if r.Offset < next { // a batch may start before the requested offset
				continue
			}
			rec := Record{Topic: topic, Partition: partition, Offset: r.Offset, Timestamp: r.Time}
			if rec.Key, err = readBytes(r.Key); err == nil {
				rec.Value, err = readBytes(r.Value)
			}
			if err != nil {
				return out, err
			}
			for _, h := range r.Headers {
				rec.Headers = append(rec.Headers, Header{Key: h.Key, Value: h.Value})
			}
			out = append(out, rec)
			next = r.Offset + 1
		}
	}
	return out[:n], nil
}

func readBytes(b kafka.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	defer b.Close()
	out, err := io.ReadAll(b)
	if out == nil {
		out = []byte{}
	}
	return out, err
}

func (k *kafkaGo) ListOffset(ctx context.Context, topic string, partition int32, query int64) (int64, error) {
	req := kafka.OffsetRequest{Partition: int(partition), Timestamp: query}
	resp, err := k.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: {req}}})
	if err != nil {
		return 0, err
	}
	for _, po := range resp.Topics[topic] {
		if po.Partition != int(partition) {
			continue
		}
		if po.Error != nil {
			return 0, po.Error
		}
		switch query {
		case Earliest:
			return po.FirstOffset, nil
		case Latest:
			return po.LastOffset, nil
		}
		for off := range po.Offsets {
			return off, nil
		}
		return -1, nil
	}
	return 0, fmt.Errorf("no offset returned for %s/%d", topic, partition)
}
