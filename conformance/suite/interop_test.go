package suite

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// Kafka <-> Pulsar interop: the premise of Kafka-on-Pulsar is one log that both kinds of
// client use. The documented mapping (README, storage mapping): key <-> message key, value <->
// payload, headers <-> properties, timestamp <-> event time, offset <-> the broker entry index;
// a null value travels as an empty payload with the property __kafka.null-value, an empty key
// as key "" with __kafka.empty-key.

// pulsarSide is the suite's own Pulsar client and admin, one per suite process: a client per
// spec would open and look up connections again each time.
type pulsarSide struct {
	client pulsar.Client
	admin  admin.Client
	p      *clients.Pulsar
}

var sharedPulsar *pulsarSide

func openPulsar() *pulsarSide {
	GinkgoHelper()
	if sharedPulsar != nil {
		return sharedPulsar
	}
	p := target.Pulsar
	Expect(p).NotTo(BeNil(), "the target has no Pulsar the suite can reach")
	opts := pulsar.ClientOptions{URL: p.ServiceURL, ListenerName: clients.PulsarListener, OperationTimeout: 30 * time.Second}
	if p.Token != "" {
		opts.Authentication = pulsar.NewAuthenticationToken(p.Token)
	}
	cl, err := pulsar.NewClient(opts)
	Expect(err).NotTo(HaveOccurred())
	adm, err := admin.New(&config.Config{WebServiceURL: p.AdminURL, Token: p.Token})
	Expect(err).NotTo(HaveOccurred())
	sharedPulsar = &pulsarSide{client: cl, admin: adm, p: p}
	return sharedPulsar
}

// created returns what create makes, retrying for a bounded time: creating a producer, reader or
// consumer looks the topic up and may meet a connection being (re)made.
func created[T any](ctx context.Context, what string, create func() (T, error)) T {
	GinkgoHelper()
	var out T
	Eventually(ctx, func() (err error) {
		out, err = create()
		return err
	}).WithTimeout(30*time.Second).WithPolling(200*time.Millisecond).Should(Succeed(), what)
	return out
}

// closePulsar closes the process's Pulsar client, if it opened one.
func closePulsar() {
	if sharedPulsar != nil {
		sharedPulsar.client.Close()
		sharedPulsar = nil
	}
}

// topic is the full Pulsar name of a Kafka topic; partition -1 names the partitioned topic.
func (ps *pulsarSide) topic(kafkaTopic string, partition int) string {
	name := fmt.Sprintf("persistent://%s/%s/%s", ps.p.Tenant, ps.p.Namespace, kafkaTopic)
	if partition >= 0 {
		name += fmt.Sprintf("-partition-%d", partition)
	}
	return name
}

// read reads n messages of a topic from its start with a reader.
func (ps *pulsarSide) read(ctx context.Context, topic string, n int) []pulsar.Message {
	GinkgoHelper()
	r := created(ctx, "a Pulsar reader on "+topic, func() (pulsar.Reader, error) {
		return ps.client.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	})
	defer r.Close()
	return receive(ctx, n, func(ctx context.Context) (pulsar.Message, error) { return r.Next(ctx) })
}

// receive calls next n times, each bounded.
func receive(ctx context.Context, n int, next func(context.Context) (pulsar.Message, error)) []pulsar.Message {
	GinkgoHelper()
	var out []pulsar.Message
	for len(out) < n {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		msg, err := next(rctx)
		cancel()
		Expect(err).NotTo(HaveOccurred(), "receiving message %d of %d", len(out)+1, n)
		out = append(out, msg)
	}
	return out
}

// interopRecords are Kafka records whose every field has a Pulsar counterpart: keys (one
// empty), a null value, unique header keys with values, distinct event times.
func interopRecords(topic string, n int) []clients.Record {
	base := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	out := make([]clients.Record, n)
	for i := range out {
		r := clients.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%d", i)), Value: []byte(fmt.Sprintf("value-%d", i)),
			Timestamp: base.Add(time.Duration(i) * time.Second),
			Headers:   []clients.Header{{Key: "trace", Value: []byte(fmt.Sprintf("t-%d", i))}, {Key: "seq", Value: []byte(fmt.Sprint(i))}}}
		switch i % 4 {
		case 1:
			r.Value = nil
		case 2:
			r.Key = []byte{}
		case 3:
			r.Headers = nil
		}
		out[i] = r
	}
	return out
}

// expectPulsarMessage checks a message against the Kafka record it must be.
func expectPulsarMessage(msg pulsar.Message, want clients.Record, offset int64) {
	GinkgoHelper()
	Expect(msg.Key()).To(Equal(string(want.Key)), "key of offset %d", offset)
	props := map[string]string{}
	for k, v := range msg.Properties() {
		if !strings.HasPrefix(k, "__kafka.") {
			props[k] = v
		}
	}
	wantProps := map[string]string{}
	for _, h := range want.Headers {
		wantProps[h.Key] = string(h.Value)
	}
	Expect(props).To(Equal(wantProps), "headers as properties at offset %d", offset)
	switch {
	case want.Value == nil:
		Expect(msg.Payload()).To(BeEmpty())
		Expect(msg.Properties()).To(HaveKeyWithValue("__kafka.null-value", "1"), "a null value is marked")
	default:
		Expect(msg.Payload()).To(Equal(want.Value), "payload of offset %d", offset)
	}
	if want.Key != nil && len(want.Key) == 0 {
		Expect(msg.Properties()).To(HaveKeyWithValue("__kafka.empty-key", "1"), "an empty key is marked")
	}
	Expect(msg.EventTime().UnixMilli()).To(Equal(want.Timestamp.UnixMilli()), "event time of offset %d", offset)
	Expect(msg.Index()).NotTo(BeNil(), "broker entry index")
	Expect(int64(*msg.Index())).To(Equal(offset), "the message's index is its Kafka offset")
}

// send publishes messages with a Pulsar producer to one partition's topic.
func (ps *pulsarSide) send(ctx context.Context, topic string, batched bool, msgs []*pulsar.ProducerMessage) {
	GinkgoHelper()
	opts := pulsar.ProducerOptions{Topic: topic, DisableBatching: !batched}
	if batched {
		opts.BatchingMaxMessages, opts.BatchingMaxPublishDelay = uint(len(msgs)), time.Second
	}
	// Sends are not retried: a lost send shows in the log the spec checks.
	p := created(ctx, "a Pulsar producer on "+topic, func() (pulsar.Producer, error) { return ps.client.CreateProducer(opts) })
	defer p.Close()
	if !batched {
		for _, m := range msgs {
			_, err := p.Send(ctx, m)
			Expect(err).NotTo(HaveOccurred())
		}
		return
	}
	errs := make(chan error, len(msgs))
	for _, m := range msgs {
		p.SendAsync(ctx, m, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { errs <- err })
	}
	Expect(p.FlushWithCtx(ctx)).To(Succeed())
	for range msgs {
		Expect(<-errs).NotTo(HaveOccurred())
	}
}

// asKafka is the Kafka record a Pulsar message must read as.
func asKafka(topic string, m *pulsar.ProducerMessage) clients.Record {
	r := clients.Record{Topic: topic, Value: m.Payload, Timestamp: m.EventTime}
	if m.Key != "" {
		r.Key = []byte(m.Key)
	}
	keys := make([]string, 0, len(m.Properties))
	for k := range m.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.Headers = append(r.Headers, clients.Header{Key: k, Value: []byte(m.Properties[k])})
	}
	return r
}

// sortedHeaders orders headers by key: Pulsar properties are a map, so their order is not kept.
func sortedHeaders(r clients.Record) clients.Record {
	hs := append([]clients.Header(nil), r.Headers...)
	sort.Slice(hs, func(i, j int) bool { return hs[i].Key < hs[j].Key })
	r.Headers = hs
	return r
}

var _ = Describe("interop", func() {
	DescribeTable("records from a Kafka client are read by a Pulsar reader and a Pulsar consumer, field by field and in order",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			ps := openPulsar()
			topic := newTopic(ctx, cl, c, "interop", 1)
			want := interopRecords(topic, 8)
			_, err := cl.Produce(ctx, acksAll, want)
			Expect(err).NotTo(HaveOccurred())

			By("reading the partition's Pulsar topic with a reader")
			for i, msg := range ps.read(ctx, ps.topic(topic, 0), len(want)) {
				expectPulsarMessage(msg, want[i], int64(i))
			}
			By("consuming the partitioned topic with a Pulsar subscription")
			cons := created(ctx, "a Pulsar subscription", func() (pulsar.Consumer, error) {
				return ps.client.Subscribe(pulsar.ConsumerOptions{Topic: ps.topic(topic, -1), SubscriptionName: "interop",
					SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
			})
			defer cons.Close()
			for i, msg := range receive(ctx, len(want), cons.Receive) {
				expectPulsarMessage(msg, want[i], int64(i))
				Expect(cons.Ack(msg)).To(Succeed())
			}
		}, entries("interop"))

	DescribeTable("messages from Pulsar producers, batched or not, are read by a Kafka client with continuous offsets and exact content",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			ps := openPulsar()
			topic := newTopic(ctx, cl, c, "interop", 1)
			base := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
			single := []*pulsar.ProducerMessage{
				{Key: "k0", Payload: []byte("unbatched with key"), EventTime: base, Properties: map[string]string{"a": "1", "b": "2"}},
				{Payload: []byte("unbatched without key"), EventTime: base.Add(time.Second)},
				{Key: "k2", Payload: []byte("unbatched, one property"), EventTime: base.Add(2 * time.Second), Properties: map[string]string{"only": "x"}},
			}
			ps.send(ctx, ps.topic(topic, 0), false, single)
			batch := make([]*pulsar.ProducerMessage, 5)
			for i := range batch {
				batch[i] = &pulsar.ProducerMessage{Payload: []byte(fmt.Sprintf("batched %d", i)), EventTime: base.Add(time.Duration(3+i) * time.Second),
					Properties: map[string]string{"i": fmt.Sprint(i)}}
				if i%2 == 0 {
					batch[i].Key = fmt.Sprintf("bk%d", i)
				}
			}
			ps.send(ctx, ps.topic(topic, 0), true, batch)
			all := append(append([]*pulsar.ProducerMessage{}, single...), batch...)

			// A write made straight to Pulsar reaches Kafka clients once the gateway has seen it.
			Eventually(ctx, func() (int64, error) { return cl.ListOffset(ctx, topic, 0, clients.Latest) }).
				WithTimeout(10*time.Second).Should(Equal(int64(len(all))), "one offset per Pulsar message, batched ones too")
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 0, len(all))
			Expect(err).NotTo(HaveOccurred())
			for i, m := range all {
				Expect(sortedHeaders(got[i])).To(matchRecord(asKafka(topic, m), int64(i)), "Pulsar message %d", i)
			}
			By("reading from inside the Pulsar batch")
			mid, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 5, 2)
			Expect(err).NotTo(HaveOccurred())
			Expect(sortedHeaders(mid[0])).To(matchRecord(asKafka(topic, all[5]), 5))
			Expect(sortedHeaders(mid[1])).To(matchRecord(asKafka(topic, all[6]), 6))
		}, entries("interop"))

	DescribeTable("Kafka and Pulsar producers interleaved on one partition share one log and one order",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			ps := openPulsar()
			topic := newTopic(ctx, cl, c, "interop", 1)
			var want []clients.Record
			for round := 0; round < 3; round++ {
				recs := interopRecords(topic, 2)
				for i := range recs {
					recs[i].Value = []byte(fmt.Sprintf("kafka round %d record %d", round, i))
				}
				_, err := cl.Produce(ctx, acksAll, recs)
				Expect(err).NotTo(HaveOccurred())
				want = append(want, recs...)
				msg := &pulsar.ProducerMessage{Key: fmt.Sprintf("pulsar-%d", round), Payload: []byte(fmt.Sprintf("pulsar round %d", round)),
					EventTime: time.UnixMilli(time.Now().UnixMilli())}
				ps.send(ctx, ps.topic(topic, 0), false, []*pulsar.ProducerMessage{msg})
				want = append(want, asKafka(topic, msg))
			}
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 0, len(want))
			Expect(err).NotTo(HaveOccurred())
			for i := range want {
				Expect(sortedHeaders(got[i])).To(matchRecord(sortedHeaders(want[i]), int64(i)), "offset %d", i)
			}
			for i, msg := range ps.read(ctx, ps.topic(topic, 0), len(want)) {
				Expect(int64(*msg.Index())).To(Equal(int64(i)), "Pulsar sees the same order")
				Expect(msg.Payload()).To(Equal(want[i].Value))
			}
		}, entries("interop"))

	DescribeTable("a Pulsar subscription and a Kafka consumer group consume the same topic independently",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			ps := openPulsar()
			topic := newTopic(ctx, cl, c, "interop", 1)
			first := interopRecords(topic, 4)
			_, err := cl.Produce(ctx, acksAll, first)
			Expect(err).NotTo(HaveOccurred())
			group := groupName(c, "interop")
			m, err := cl.Join(ctx, clients.GroupConfig{Group: group, Topics: []string{topic}, Balancer: "range"})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(m.Close)
			cons := created(ctx, "a Pulsar subscription", func() (pulsar.Consumer, error) {
				return ps.client.Subscribe(pulsar.ConsumerOptions{Topic: ps.topic(topic, -1), SubscriptionName: group,
					SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
			})
			defer cons.Close()

			got := pollUntil(ctx, m, len(first))
			for i := range first {
				Expect(got[i]).To(matchRecord(first[i], int64(i)))
			}
			Expect(m.Commit(ctx, []clients.Offset{{Topic: topic, Partition: 0, Offset: int64(len(first))}})).To(Succeed())
			for i, msg := range receive(ctx, len(first), cons.Receive) {
				expectPulsarMessage(msg, first[i], int64(i))
				Expect(cons.Ack(msg)).To(Succeed())
			}
			second := interopRecords(topic, 2)
			_, err = cl.Produce(ctx, acksAll, second)
			Expect(err).NotTo(HaveOccurred())
			got = pollUntil(ctx, m, len(second))
			for i := range second {
				Expect(got[i]).To(matchRecord(second[i], int64(len(first)+i)), "the Kafka group goes on after its commit")
			}
			for i, msg := range receive(ctx, len(second), cons.Receive) {
				expectPulsarMessage(msg, second[i], int64(len(first)+i))
				Expect(cons.Ack(msg)).To(Succeed())
			}
			Expect(cl.FetchOffsets(ctx, group, topic, 1)).To(ConsistOf(HaveField("Offset", int64(len(first)))),
				"the Pulsar subscription's acknowledgements do not touch the Kafka group's commit")
		}, entries("interop"))

	DescribeTable("topics created on either side are seen by the other with their partition count",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			ps := openPulsar()
			By("creating a partitioned topic through Pulsar's admin API")
			fromPulsar := topicName(c, "interop-admin")
			tn, err := utils.GetTopicName(ps.topic(fromPulsar, -1))
			Expect(err).NotTo(HaveOccurred())
			Expect(ps.admin.Topics().CreateWithContext(ctx, *tn, 3)).To(Succeed())
			Eventually(ctx, func() (int32, error) { return cl.TopicPartitions(ctx, fromPulsar) }).
				WithTimeout(30 * time.Second).Should(Equal(int32(3)))
			rec := interopRecords(fromPulsar, 1)
			rec[0].Partition = 2
			_, err = cl.Produce(ctx, acksAll, rec)
			Expect(err).NotTo(HaveOccurred())
			msgs := ps.read(ctx, ps.topic(fromPulsar, 2), 1)
			expectPulsarMessage(msgs[0], rec[0], 0)

			By("creating a topic through Kafka")
			fromKafka := newTopic(ctx, cl, c, "interop", 2)
			ktn, err := utils.GetTopicName(ps.topic(fromKafka, -1))
			Expect(err).NotTo(HaveOccurred())
			md, err := ps.admin.Topics().GetMetadataWithContext(ctx, *ktn)
			Expect(err).NotTo(HaveOccurred())
			Expect(md.Partitions).To(Equal(2), "a Kafka topic is a partitioned Pulsar topic")
		}, entries("interop"))
})
