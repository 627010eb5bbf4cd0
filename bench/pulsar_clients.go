package bench

import (
	"context"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// pulsarOptions reach the run's Pulsar on its loopback listener.
func pulsarOptions(p *clients.Pulsar) pulsar.ClientOptions {
	opts := pulsar.ClientOptions{URL: p.ServiceURL, ListenerName: clients.PulsarListener, OperationTimeout: 30 * time.Second}
	if p.Token != "" {
		opts.Authentication = pulsar.NewAuthenticationToken(p.Token)
	}
	return opts
}

// pulsarSender is a pulsar-client-go client of its own (one connection) with one producer
// on the partitioned topic. It batches as the Kafka clients do (1 ms, 1 MiB). Its queue is
// per partition: on one partition it holds the whole window, on many its share of it (at
// least the client's default of 1,000), so 1,000 partitions do not queue 10 million.
type pulsarSender struct {
	client   pulsar.Client
	producer pulsar.Producer
}

func newPulsarSender(ctx context.Context, p *clients.Pulsar, topic string, w Workload, windowRecords int) (sender, error) {
	cl, err := pulsar.NewClient(pulsarOptions(p))
	if err != nil {
		return nil, err
	}
	opts := pulsar.ProducerOptions{
		Topic:                   topic,
		BatchingMaxPublishDelay: linger,
		BatchingMaxSize:         batchBytes,
		BatchingMaxMessages:     uint(windowRecords),
		MaxPendingMessages:      max(windowRecords/max(w.Partitions, 1), 1000),
		SendTimeout:             deliveryLimit,
	}
	if w.Compression == "lz4" {
		opts.CompressionType = pulsar.LZ4
	}
	pr, err := createProducer(ctx, cl, opts)
	if err != nil {
		cl.Close()
		return nil, err
	}
	return &pulsarSender{client: cl, producer: pr}, nil
}

// createProducer is CreateProducer bounded by ctx (it has no context of its own).
func createProducer(ctx context.Context, cl pulsar.Client, opts pulsar.ProducerOptions) (pulsar.Producer, error) {
	type made struct {
		p   pulsar.Producer
		err error
	}
	ch := make(chan made, 1)
	go func() {
		p, err := cl.CreateProducer(opts)
		ch <- made{p, err}
	}()
	select {
	case m := <-ch:
		return m.p, m.err
	case <-ctx.Done():
		go func() { // closed when it comes, if ever
			if m := <-ch; m.p != nil {
				m.p.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

func (s *pulsarSender) send(ctx context.Context, v []byte, done func(error)) {
	s.producer.SendAsync(ctx, &pulsar.ProducerMessage{Payload: v}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { done(err) })
}

func (s *pulsarSender) close() {
	s.producer.Close()
	s.client.Close()
}

// pulsarReceiver reads a subscription the mark created at the topic's end.
type pulsarReceiver struct{ consumer pulsar.Consumer }

func (r *pulsarReceiver) next(ctx context.Context, fn func([]byte)) error {
	msg, err := r.consumer.Receive(ctx)
	if err != nil {
		return err
	}
	fn(msg.Payload())
	// What has already arrived, without waiting: one call per message would cost a select
	// each on a fast consumer.
	for range 1024 {
		select {
		case cm, ok := <-r.consumer.Chan():
			if !ok {
				return nil
			}
			fn(cm.Payload())
		default:
			return nil
		}
	}
	return nil
}

func (r *pulsarReceiver) close() { r.consumer.Close() }
