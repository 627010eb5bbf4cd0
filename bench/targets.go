package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// receiver reads values from where a mark was taken: next calls fn for what arrived, waiting
// at most until ctx ends.
type receiver interface {
	next(ctx context.Context, fn func([]byte)) error
	close()
}

// target is a path's side of the benchmark: where its topics live and how its clients are
// made. Every address comes from the containers the run started.
type target interface {
	createTopic(ctx context.Context, topic string, partitions int) error
	deleteTopic(ctx context.Context, topic string) error
	// prime writes one record to every partition: what a partition's first write opens (the
	// gateway's Pulsar producer and tail reader, Kafka's leader and log) is open before any
	// round's clock starts.
	prime(ctx context.Context, topic string, partitions int, values *payloads) error
	// mark is the topic's current end, for a receiver that reads what comes after it.
	mark(ctx context.Context, topic string) (any, error)
	newSender(ctx context.Context, w Workload, topic string, windowRecords int) (sender, error)
	newReceiver(ctx context.Context, topic string, mark any) (receiver, error)
	close()
}

// kafkaTarget is a Kafka-protocol endpoint: the gateway, or Apache Kafka.
type kafkaTarget struct {
	bootstrap string
	cl        *kgo.Client
	adm       *kadm.Client
}

func newKafkaTarget(bootstrap string) (*kafkaTarget, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ClientID(clientID))
	if err != nil {
		return nil, err
	}
	return &kafkaTarget{bootstrap: bootstrap, cl: cl, adm: kadm.NewClient(cl)}, nil
}

func (t *kafkaTarget) createTopic(ctx context.Context, topic string, partitions int) error {
	resp, err := t.adm.CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err != nil {
		return err
	}
	return resp.Err
}

func (t *kafkaTarget) deleteTopic(ctx context.Context, topic string) error {
	resp, err := t.adm.DeleteTopic(ctx, topic)
	if err != nil {
		return err
	}
	return resp.Err
}

func (t *kafkaTarget) prime(ctx context.Context, topic string, partitions int, values *payloads) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(t.bootstrap), kgo.ClientID(clientID), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(primeTimeout))
	if err != nil {
		return err
	}
	defer cl.Close()
	// A hundred partitions a request: the gateway opens a Pulsar producer and tail reader for
	// each partition it first writes to, and one request opening a thousand could outlast
	// the client's request timeout.
	for first := 0; first < partitions; first += primeChunk {
		var recs []*kgo.Record
		for p := first; p < min(first+primeChunk, partitions); p++ {
			recs = append(recs, &kgo.Record{Partition: int32(p), Value: values.get(time.Now())})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return fmt.Errorf("partitions %d-%d: %w", first, first+len(recs)-1, err)
		}
	}
	return nil
}

const primeChunk = 100

func (t *kafkaTarget) mark(ctx context.Context, topic string) (any, error) {
	ends, err := t.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, err
	}
	return ends.KOffsets(), nil
}

func (t *kafkaTarget) newSender(_ context.Context, w Workload, topic string, windowRecords int) (sender, error) {
	return newKafkaSender(t.bootstrap, topic, w, windowRecords)
}

func (t *kafkaTarget) newReceiver(_ context.Context, _ string, mark any) (receiver, error) {
	from, ok := mark.(map[string]map[int32]kgo.Offset)
	if !ok {
		return nil, errors.New("not a Kafka mark")
	}
	return newFranzReceiver(t.bootstrap, from)
}

func (t *kafkaTarget) close() { t.cl.Close() }

// pulsarTarget is the run's Pulsar, reached straight with pulsar-client-go: the workload's
// topic is a partitioned topic of the same partitions the gateway would make for Kafka.
type pulsarTarget struct {
	p      *clients.Pulsar
	client pulsar.Client // for priming and consumers; producers have clients of their own
	admin  admin.Client
	subs   atomic.Int64
}

func newPulsarTarget(p *clients.Pulsar) (*pulsarTarget, error) {
	cl, err := pulsar.NewClient(pulsarOptions(p))
	if err != nil {
		return nil, err
	}
	adm, err := admin.New(&config.Config{WebServiceURL: p.AdminURL, Token: p.Token})
	if err != nil {
		cl.Close()
		return nil, err
	}
	return &pulsarTarget{p: p, client: cl, admin: adm}, nil
}

func (t *pulsarTarget) name(topic string) string {
	return fmt.Sprintf("persistent://%s/%s/%s", t.p.Tenant, t.p.Namespace, topic)
}

func (t *pulsarTarget) topicName(topic string) (*utils.TopicName, error) {
	return utils.GetTopicName(t.name(topic))
}

func (t *pulsarTarget) createTopic(ctx context.Context, topic string, partitions int) error {
	tn, err := t.topicName(topic)
	if err != nil {
		return err
	}
	return t.admin.Topics().CreateWithContext(ctx, *tn, partitions)
}

func (t *pulsarTarget) deleteTopic(ctx context.Context, topic string) error {
	tn, err := t.topicName(topic)
	if err != nil {
		return err
	}
	return t.admin.Topics().DeleteWithContext(ctx, *tn, true, false)
}

func (t *pulsarTarget) prime(ctx context.Context, topic string, partitions int, values *payloads) error {
	var next atomic.Int64
	pr, err := createProducer(ctx, t.client, pulsar.ProducerOptions{Topic: t.name(topic), SendTimeout: primeTimeout,
		MessageRouter: func(_ *pulsar.ProducerMessage, md pulsar.TopicMetadata) int {
			return int(next.Add(1)-1) % int(md.NumPartitions())
		}})
	if err != nil {
		return err
	}
	defer pr.Close()
	errs := make(chan error, partitions)
	for range partitions {
		pr.SendAsync(ctx, &pulsar.ProducerMessage{Payload: values.get(time.Now())}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { errs <- err })
	}
	for range partitions {
		select {
		case err := <-errs:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// mark creates a durable subscription at the topic's end (on every partition); a consumer of
// it later reads exactly what was written after.
func (t *pulsarTarget) mark(ctx context.Context, topic string) (any, error) {
	tn, err := t.topicName(topic)
	if err != nil {
		return nil, err
	}
	sub := fmt.Sprintf("bench-%d", t.subs.Add(1))
	if err := t.admin.Subscriptions().CreateWithContext(ctx, *tn, sub, utils.Latest); err != nil {
		return nil, err
	}
	return sub, nil
}

func (t *pulsarTarget) newSender(ctx context.Context, w Workload, topic string, windowRecords int) (sender, error) {
	return newPulsarSender(ctx, t.p, t.name(topic), w, windowRecords)
}

func (t *pulsarTarget) newReceiver(ctx context.Context, topic string, mark any) (receiver, error) {
	sub, ok := mark.(string)
	if !ok {
		return nil, errors.New("not a Pulsar mark")
	}
	type made struct {
		c   pulsar.Consumer
		err error
	}
	ch := make(chan made, 1)
	go func() {
		c, err := t.client.Subscribe(pulsar.ConsumerOptions{Topic: t.name(topic), SubscriptionName: sub, Type: pulsar.Exclusive})
		ch <- made{c, err}
	}()
	select {
	case m := <-ch:
		if m.err != nil {
			return nil, m.err
		}
		return &pulsarReceiver{consumer: m.c}, nil
	case <-ctx.Done():
		go func() {
			if m := <-ch; m.c != nil {
				m.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

func (t *pulsarTarget) close() { t.client.Close() }
