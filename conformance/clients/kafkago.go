package clients

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// kafkaGo cannot pin its request versions: it negotiates from ApiVersions. A level is reached
// by connecting to a listener that advertises only that level's versions.
//
// Records go through what kafka-go applications run: kafka.Writer to produce and kafka.Reader
// to consume. The low-level kafka.Client only serves admin calls and offsets.
type kafkaGo struct {
	tls       *tls.Config
	sasl      sasl.Mechanism
	addr      string
	clientID  string
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
		if mech, err = kafkaGoMechanism(*t.SASL); err != nil {
			return nil, err
		}
	}
	id := t.ClientIDFor(dims.KafkaGo)
	tr := &kafka.Transport{TLS: t.TLS, SASL: mech, ClientID: id}
	return &kafkaGo{tls: t.TLS, sasl: mech, addr: addr, clientID: id, client: &kafka.Client{Addr: kafka.TCP(addr), Timeout: 30 * time.Second, Transport: tr}, transport: tr}, nil
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

// Writer settings. A Writer retries a batch only on errors kafka-go deems temporary (kafka
// Error.Temporary, connection refused/reset, unexpected EOF); a non-idempotent retry after a
// lost response writes the batch twice, so attempts stay few and failures name how many retries
// there were.
const (
	writerAttempts   = 3
	writerBackoffMin = 100 * time.Millisecond
	writerBackoffMax = 500 * time.Millisecond
	// A batch is sent when it holds all of a call's records (BatchSize) or after this long. A
	// call to several partitions leaves each partition's batch short of BatchSize, so this is
	// what such a call waits; the Writer adds all of a partition's records under one lock before
	// its timer can take the batch, so a short timeout never splits a partition's records.
	writerBatchTimeout = 5 * time.Millisecond
	// The Writer's default 10 s per attempt would, on timing out, retry (a deadline is
	// temporary to kafka-go) and may write the batch twice; allow as long as the admin client.
	writerTimeout = 30 * time.Second
)

// Produce writes recs with one kafka.Writer per call, so that every call is one batch per
// partition: Produce requests carry exactly the call's records, and offsets come from the
// responses through the Writer's Completion callback.
func (k *kafkaGo) Produce(ctx context.Context, pc ProduceConfig, recs []Record) ([]Record, error) {
	if pc.Idempotent {
		return nil, errors.New("kafka-go has no idempotent producer")
	}
	codec, err := kafkaGoCodec(pc.Compression)
	if err != nil {
		return nil, err
	}
	out := make([]Record, len(recs))
	copy(out, recs)
	if len(recs) == 0 {
		return out, nil
	}
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		// Partition is read by the balancer only (the Writer ignores it otherwise); WriterData
		// carries the record's index to Completion.
		m := kafka.Message{Topic: r.Topic, Partition: int(r.Partition), Key: r.Key, Value: r.Value, Time: r.Timestamp, WriterData: i}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: h.Value})
		}
		msgs[i] = m
	}
	var mu sync.Mutex // Completion runs on one goroutine per partition
	w := &kafka.Writer{
		Addr:      kafka.TCP(k.addr),
		Transport: k.transport, // carries the client id, TLS and SASL
		// WriteMessages asks the balancer once per message, in order, with a copy of it: send
		// each record to the partition it names.
		Balancer:     kafka.BalancerFunc(func(m kafka.Message, _ ...int) int { return m.Partition }),
		RequiredAcks: kafka.RequiredAcks(pc.Acks), // the Writer's zero value is RequireNone
		Compression:  codec,
		BatchSize:    len(recs),
		// The Writer refuses a message over BatchBytes itself; the server under test must be
		// the one that refuses a large record, so the limit is the producers' own.
		BatchBytes:      ClientMaxMessageBytes,
		BatchTimeout:    writerBatchTimeout,
		MaxAttempts:     writerAttempts,
		WriteBackoffMin: writerBackoffMin,
		WriteBackoffMax: writerBackoffMax,
		ReadTimeout:     writerTimeout,
		WriteTimeout:    writerTimeout,
		Completion: func(done []kafka.Message, err error) {
			if err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range done {
				// Offset is BaseOffset+i of the batch's response; acks=0 has no response.
				i := m.WriterData.(int)
				out[i].Offset = m.Offset
				if pc.Acks == AcksNone {
					out[i].Offset = -1
				}
			}
		},
	}
	err = w.WriteMessages(ctx, msgs...)
	if ctx.Err() != nil {
		// WriteMessages returned early; Close would wait for the batches in flight, which keep
		// their own timeouts. Let them finish in the background.
		go w.Close()
	} else {
		w.Close()
	}
	if err != nil {
		return nil, kafkaGoWriteError(err, w.Stats().Retries)
	}
	return out, nil
}

// kafkaGoWriteError makes a Writer's error one whose Kafka code ErrorCode reaches: WriteErrors
// (one error per message) does not unwrap, so the first failed message's error is wrapped.
// Errors that are not WriteErrors (a bare kafka.Error from the Writer's metadata lookup, a
// MessageTooLargeError, a context error) unwrap already.
func kafkaGoWriteError(err error, retries int64) error {
	var werrs kafka.WriteErrors
	if !errors.As(err, &werrs) {
		return fmt.Errorf("kafka-go writer: %w", err)
	}
	for i, e := range werrs {
		if e != nil {
			return fmt.Errorf("kafka-go writer: %d of %d messages failed after %d retries, message %d: %w", werrs.Count(), len(werrs), retries, i, e)
		}
	}
	return err
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
