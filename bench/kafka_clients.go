package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The Kafka producers, configured alike where their options allow: batches of up to 1 MiB
// lingering 1 ms, acks as the workload says, lz4 or nothing, and bounded retries so a broken
// path fails a round instead of hanging it. Anything else is the client's default (franz-go
// and Kafka 3's Java producer are idempotent with acks=all; sarama and kafka-go are not).
const (
	clientID      = "kop-bench"
	batchBytes    = 1 << 20
	linger        = time.Millisecond
	deliveryLimit = 30 * time.Second
)

// franzSender is a franz-go client.
type franzSender struct{ cl *kgo.Client }

func newFranzSender(bootstrap, topic string, w Workload, windowRecords int) (sender, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(bootstrap), kgo.ClientID(clientID), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(linger), kgo.ProducerBatchMaxBytes(batchBytes),
		kgo.MaxBufferedRecords(windowRecords + 1), // the window bounds it, never the client
		kgo.RecordDeliveryTimeout(deliveryLimit),
	}
	if w.Compression == "lz4" {
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	} else {
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression())) // franz-go's default is snappy
	}
	if w.Acks == "1" {
		// Idempotence needs acks=all; without it, Kafka's default of 5 requests in flight.
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(5))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &franzSender{cl: cl}, nil
}

func (s *franzSender) send(ctx context.Context, v []byte, done func(error)) {
	s.cl.Produce(ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) { done(err) })
}

func (s *franzSender) close() { s.cl.Close() }

// saramaSender is an IBM/sarama asynchronous producer; its outcomes come back on two channels,
// each record's done riding in its Metadata.
type saramaSender struct {
	p     sarama.AsyncProducer
	topic string
	done  chan struct{}
}

func newSaramaSender(bootstrap, topic string, w Workload) (sender, error) {
	cfg := sarama.NewConfig()
	cfg.ClientID = clientID
	cfg.Version = sarama.V2_6_0_0 // the newest protocol level the gateway serves
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	if w.Acks == "1" {
		cfg.Producer.RequiredAcks = sarama.WaitForLocal
	}
	cfg.Producer.Return.Successes, cfg.Producer.Return.Errors = true, true
	cfg.Producer.Flush.Frequency, cfg.Producer.Flush.Bytes = linger, batchBytes
	cfg.Producer.MaxMessageBytes = batchBytes
	cfg.Producer.Timeout = 10 * time.Second
	cfg.Producer.Retry.Max = 3
	if w.Compression == "lz4" {
		cfg.Producer.Compression = sarama.CompressionLZ4
	}
	p, err := sarama.NewAsyncProducer([]string{bootstrap}, cfg)
	if err != nil {
		return nil, err
	}
	s := &saramaSender{p: p, topic: topic, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		succ, errs := p.Successes(), p.Errors()
		for succ != nil || errs != nil {
			select {
			case m, ok := <-succ:
				if !ok {
					succ = nil
					continue
				}
				m.Metadata.(func(error))(nil)
			case e, ok := <-errs:
				if !ok {
					errs = nil
					continue
				}
				e.Msg.Metadata.(func(error))(e.Err)
			}
		}
	}()
	return s, nil
}

func (s *saramaSender) send(ctx context.Context, v []byte, done func(error)) {
	m := &sarama.ProducerMessage{Topic: s.topic, Value: sarama.ByteEncoder(v), Metadata: done}
	select {
	case s.p.Input() <- m:
	case <-ctx.Done():
		done(ctx.Err())
	}
}

func (s *saramaSender) close() {
	s.p.AsyncClose()
	<-s.done
}

// kafkaGoSender is a segmentio/kafka-go Writer in asynchronous mode, each record's done
// riding in its WriterData to the Completion callback.
type kafkaGoSender struct{ w *kafka.Writer }

func newKafkaGoSender(bootstrap, topic string, wl Workload, windowRecords int) (sender, error) {
	w := &kafka.Writer{
		Addr: kafka.TCP(bootstrap), Topic: topic, Balancer: &kafka.RoundRobin{},
		BatchSize: windowRecords, BatchBytes: batchBytes, BatchTimeout: linger,
		RequiredAcks: kafka.RequireAll, Async: true, MaxAttempts: 3,
		WriteTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		Completion: func(msgs []kafka.Message, err error) {
			for _, m := range msgs {
				m.WriterData.(func(error))(err)
			}
		},
	}
	if wl.Acks == "1" {
		w.RequiredAcks = kafka.RequireOne
	}
	if wl.Compression == "lz4" {
		w.Compression = kafka.Lz4
	}
	return &kafkaGoSender{w: w}, nil
}

func (s *kafkaGoSender) send(ctx context.Context, v []byte, done func(error)) {
	if err := s.w.WriteMessages(ctx, kafka.Message{Value: v, WriterData: done}); err != nil {
		done(err) // refused before it was queued (closed writer, bad message): no completion comes
	}
}

func (s *kafkaGoSender) close() { s.w.Close() }

// newKafkaSender makes the workload's Kafka producer.
func newKafkaSender(bootstrap, topic string, w Workload, windowRecords int) (sender, error) {
	switch w.Producer {
	case FranzGo:
		return newFranzSender(bootstrap, topic, w, windowRecords)
	case Sarama:
		return newSaramaSender(bootstrap, topic, w)
	case KafkaGo:
		return newKafkaGoSender(bootstrap, topic, w, windowRecords)
	}
	return nil, fmt.Errorf("unknown Kafka producer %q", w.Producer)
}

// franzReceiver reads partitions from given offsets with a franz-go consumer (no group: the
// benchmark measures reading, not group coordination).
type franzReceiver struct{ cl *kgo.Client }

func newFranzReceiver(bootstrap string, from map[string]map[int32]kgo.Offset) (receiver, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ClientID(clientID), kgo.ConsumePartitions(from))
	if err != nil {
		return nil, err
	}
	return &franzReceiver{cl: cl}, nil
}

func (r *franzReceiver) next(ctx context.Context, fn func([]byte)) error {
	fetches := r.cl.PollFetches(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	fetches.EachRecord(func(rec *kgo.Record) { fn(rec.Value) })
	if errs := fetches.Errors(); len(errs) > 0 {
		return fmt.Errorf("fetching %s/%d: %w", errs[0].Topic, errs[0].Partition, errs[0].Err)
	}
	return nil
}

func (r *franzReceiver) close() { r.cl.Close() }
