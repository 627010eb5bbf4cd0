package clients

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// saramaVersion is sarama's Config.Version for a level: the level's Kafka release.
func saramaVersion(level string) (sarama.KafkaVersion, error) {
	lv, ok := dims.LevelNamed(level)
	if !ok {
		return sarama.KafkaVersion{}, fmt.Errorf("sarama: unknown level %q", level)
	}
	return sarama.ParseKafkaVersion(lv.Release)
}

type saramaClient struct {
	addrs  []string
	cfg    *sarama.Config
	client sarama.Client
}

func newSarama(t Target, level string) (Client, error) {
	v, err := saramaVersion(level)
	if err != nil {
		return nil, err
	}
	addr, err := levelAddr(t, level)
	if err != nil {
		return nil, err
	}
	cfg := sarama.NewConfig()
	cfg.Version = v
	cfg.ClientID = t.ClientIDFor(dims.Sarama)
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	if t.TLS != nil {
		cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, t.TLS
	}
	if t.SASL != nil {
		if err := saramaSASL(cfg, *t.SASL); err != nil {
			return nil, err
		}
	}
	if t.FailFast {
		cfg.Metadata.Retry.Max = 0
	}
	cl, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		return nil, err
	}
	return &saramaClient{addrs: []string{addr}, cfg: cfg, client: cl}, nil
}

func (s *saramaClient) Close() { s.client.Close() }

func (s *saramaClient) CreateTopic(_ context.Context, topic string, partitions int32) error {
	adm, err := sarama.NewClusterAdminFromClient(s.client)
	if err != nil {
		return err
	}
	// Closing the admin would close the shared client; it holds no other resources.
	return adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false)
}

func saramaCodec(name string) (sarama.CompressionCodec, error) {
	switch name {
	case "", "none":
		return sarama.CompressionNone, nil
	case "gzip":
		return sarama.CompressionGZIP, nil
	case "snappy":
		return sarama.CompressionSnappy, nil
	case "lz4":
		return sarama.CompressionLZ4, nil
	case "zstd":
		return sarama.CompressionZSTD, nil
	}
	return 0, fmt.Errorf("sarama: unknown codec %q", name)
}

func (s *saramaClient) Produce(_ context.Context, pc ProduceConfig, recs []Record) ([]Record, error) {
	msgs, err := s.produce(pc, recs)
	if err != nil {
		return nil, err
	}
	out := make([]Record, len(recs))
	for i, m := range msgs {
		out[i] = recs[i]
		out[i].Partition, out[i].Offset = m.Partition, m.Offset
		if pc.Acks == AcksNone {
			out[i].Offset = -1
		}
	}
	return out, nil
}

// produce sends recs with a SyncProducer of its own set up as pc says, in one request, and
// returns the messages as sarama filled them in from the response.
func (s *saramaClient) produce(pc ProduceConfig, recs []Record) ([]*sarama.ProducerMessage, error) {
	codec, err := saramaCodec(pc.Compression)
	if err != nil {
		return nil, err
	}
	cfg := *s.cfg
	cfg.Producer.Compression = codec
	cfg.Producer.MaxMessageBytes = ClientMaxMessageBytes
	if pc.Idempotent {
		// sarama's requirements for idempotence: acks=all and one request in flight.
		cfg.Producer.Idempotent, cfg.Net.MaxOpenRequests = true, 1
		cfg.Producer.Retry.Max, cfg.Producer.Retry.Backoff = 5, 100*time.Millisecond
	}
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.RequiredAcks = sarama.RequiredAcks(pc.Acks)
	cfg.Producer.Flush.Messages = len(recs) // one request for the whole slice
	cfg.Producer.Flush.Frequency = 50 * time.Millisecond
	p, err := sarama.NewSyncProducer(s.addrs, &cfg)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return saramaSend(p, recs)
}

// Consume reads n records of one partition from offset with a partition consumer of its own,
// in the order sarama delivers them.
func (s *saramaClient) Consume(ctx context.Context, cc ConsumeConfig, topic string, partition int32, offset int64, n int) ([]Record, error) {
	cfg := *s.cfg
	// sarama has one size knob per partition; the response limit stays its MaxResponseSize.
	if cc.PartitionMaxBytes > 0 {
		cfg.Consumer.Fetch.Default, cfg.Consumer.Fetch.Max = cc.PartitionMaxBytes, cc.PartitionMaxBytes
	}
	cfg.Consumer.MaxWaitTime = 500 * time.Millisecond
	if cc.MaxWait > 0 {
		cfg.Consumer.MaxWaitTime = cc.MaxWait
	}
	if cc.MinBytes > 0 {
		cfg.Consumer.Fetch.Min = cc.MinBytes
	}
	// Fetch v4+, which every level here has, carries the isolation level.
	cfg.Consumer.IsolationLevel = sarama.ReadUncommitted
	if cc.Isolation == ReadCommitted {
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	cfg.Consumer.Return.Errors = true
	c, err := sarama.NewConsumer(s.addrs, &cfg)
	if err != nil {
		return nil, err
	}
	pc, err := c.ConsumePartition(topic, partition, offset)
	if err != nil {
		c.Close()
		return nil, err
	}
	// Closing waits for the fetch in flight, a long poll of up to MaxWait: close in the
	// background so the records are returned when they arrive, not a long poll later.
	defer func() {
		go func() {
			pc.Close()
			c.Close()
		}()
	}()
	var out []Record
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			rec := fromSarama(m)
			// sarama keeps the last fetch's high watermark on the consumer, not on the message:
			// this is the one of the fetch the record came in or of a later one.
			rec.HighWatermark = pc.HighWaterMarkOffset()
			out = append(out, rec)
		case err := <-pc.Errors():
			return out, err
		case <-ctx.Done():
			return out, fmt.Errorf("consumed %d of %d records: %w", len(out), n, ctx.Err())
		}
	}
	return out, nil
}

// fromSarama converts a consumed message.
func fromSarama(m *sarama.ConsumerMessage) Record {
	rec := Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Timestamp: m.Timestamp}
	for _, h := range m.Headers {
		rec.Headers = append(rec.Headers, Header{Key: string(h.Key), Value: h.Value})
	}
	return rec
}

// saramaMessage is a record as a sarama producer message to its topic and partition; nil key
// and value stay null.
func saramaMessage(r Record) *sarama.ProducerMessage {
	m := &sarama.ProducerMessage{Topic: r.Topic, Partition: r.Partition, Timestamp: r.Timestamp}
	if r.Key != nil {
		m.Key = sarama.ByteEncoder(r.Key)
	}
	if r.Value != nil {
		m.Value = sarama.ByteEncoder(r.Value)
	}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
	}
	return m
}

// saramaSend sends recs, each to its own topic and partition, in one SendMessages call and
// returns the messages with the offsets (and, for LogAppendTime, timestamps) sarama filled in.
func saramaSend(p sarama.SyncProducer, recs []Record) ([]*sarama.ProducerMessage, error) {
	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, r := range recs {
		msgs[i] = saramaMessage(r)
	}
	if err := p.SendMessages(msgs); err != nil {
		var pe sarama.ProducerErrors
		if errors.As(err, &pe) && len(pe) > 0 {
			return nil, pe[0].Err
		}
		return nil, err
	}
	return msgs, nil
}

func (s *saramaClient) ListOffset(_ context.Context, topic string, partition int32, query int64) (int64, error) {
	if err := s.client.RefreshMetadata(topic); err != nil {
		return 0, err
	}
	return s.client.GetOffset(topic, partition, query)
}
