package suite

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

var _ = Describe("topics", func() {
	DescribeTable("topics are auto-created on first use, follow Kafka's naming rules, and exist once",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			base := topicName(c, "topics")

			By("asking for an unknown topic's metadata with auto-creation allowed")
			auto, ok := cl.(clients.AutoCreator)
			Expect(ok).To(BeTrue(), "%s adapter auto-creates topics", c.kind.Name)
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			n, err := auto.AutoCreateTopic(actx, base+"-auto")
			cancel()
			Expect(err).NotTo(HaveOccurred())
			Expect(n).To(Equal(int32(1)), "an auto-created topic has the default partition count")
			Eventually(ctx, func() error {
				_, err := cl.Produce(ctx, acksAll, sampleRecords(base+"-auto", 1))
				return err
			}).WithTimeout(30 * time.Second).Should(Succeed())

			By("creating a topic that exists")
			topic := newTopic(ctx, cl, c, "topics", 4)
			err = cl.CreateTopic(ctx, topic, 1)
			Expect(clients.ErrorCode(err)).To(Equal(kerr.TopicAlreadyExists.Code), "create twice: %v", err)
			Expect(cl.TopicPartitions(ctx, topic)).To(Equal(int32(4)), "the first creation stands")

			By("creating topics with names Kafka refuses")
			for _, bad := range []string{"..", base + " space", base + "/slash", base + strings.Repeat("x", 250-len(base))} {
				err := cl.CreateTopic(ctx, bad, 1)
				Expect(clients.ErrorCode(err)).To(Equal(kerr.InvalidTopicException.Code), "topic name %q: %v", bad, err)
			}

			By("using a name that looks like one of another topic's partitions")
			twin := topic + "-partition-3"
			Expect(cl.CreateTopic(ctx, twin, 1)).To(Succeed(), "Kafka allows %q", twin)
			Eventually(ctx, func() (int64, error) { return cl.ListOffset(ctx, twin, 0, clients.Latest) }).
				WithTimeout(30 * time.Second).Should(Equal(int64(0)))
			Expect(cl.TopicPartitions(ctx, twin)).To(Equal(int32(1)))
			inTopic := sampleRecords(topic, 1)
			inTopic[0].Partition, inTopic[0].Value = 3, []byte("partition 3 of "+topic)
			inTwin := sampleRecords(twin, 1)
			inTwin[0].Value = []byte("partition 0 of " + twin)
			_, err = cl.Produce(ctx, acksAll, inTopic)
			Expect(err).NotTo(HaveOccurred())
			_, err = cl.Produce(ctx, acksAll, inTwin)
			Expect(err).NotTo(HaveOccurred())
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 3, 0, 1)
			Expect(err).NotTo(HaveOccurred())
			Expect(got[0]).To(matchRecord(inTopic[0], 0))
			got, err = cl.Consume(ctx, clients.ConsumeConfig{}, twin, 0, 0, 1)
			Expect(err).NotTo(HaveOccurred())
			Expect(got[0]).To(matchRecord(inTwin[0], 0))
			Expect(cl.ListOffset(ctx, topic, 3, clients.Latest)).To(Equal(int64(1)), "each topic keeps its own log")

			By("asking for a topic that does not exist, without auto-creation")
			_, err = cl.TopicPartitions(ctx, base+"-missing")
			Expect(clients.ErrorCode(err)).To(Equal(kerr.UnknownTopicOrPartition.Code), "metadata: %v", err)
		}, entries("topics"))

	// Clients check partitions against Metadata before they send, so what the server answers
	// to a missing topic or partition is asked with raw requests (franz-go's kmsg, pinned to
	// the level), which is why this spec exists for franz-go cells only.
	DescribeTable("produce, fetch and ListOffsets to a missing topic or partition get UNKNOWN_TOPIC_OR_PARTITION",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "unknown", 1)
			lv, _ := dims.LevelNamed(c.level)
			raw, err := kgo.NewClient(kgo.SeedBrokers(target.Levels[c.level]), kgo.MaxVersions(lv.Versions()),
				kgo.ClientID(target.ClientIDFor(dims.FranzGo)))
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(raw.Close)
			seed := raw.SeedBrokers()[0]
			for _, tp := range []struct {
				topic     string
				partition int32
			}{{topic + "-missing", 0}, {topic, 5}} {
				Expect(rawProduce(ctx, seed, tp.topic, tp.partition)).To(Equal(kerr.UnknownTopicOrPartition.Code), "produce to %s/%d", tp.topic, tp.partition)
				Expect(rawFetch(ctx, seed, tp.topic, tp.partition)).To(Equal(kerr.UnknownTopicOrPartition.Code), "fetch from %s/%d", tp.topic, tp.partition)
				Expect(rawListOffsets(ctx, seed, tp.topic, tp.partition)).To(Equal(kerr.UnknownTopicOrPartition.Code), "list offsets of %s/%d", tp.topic, tp.partition)
			}
			req := kmsg.NewPtrMetadataRequest()
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr("not a valid name!")
			req.Topics = []kmsg.MetadataRequestTopic{rt}
			resp, err := req.RequestWith(ctx, seed)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Topics).To(HaveLen(1))
			Expect(resp.Topics[0].ErrorCode).To(Equal(kerr.InvalidTopicException.Code), "metadata for an invalid name")
		}, franzEntries("topics"))
})

func rawProduce(ctx context.Context, b *kgo.Broker, topic string, partition int32) (int16, error) {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, oneRecordBatch()
	rt.Partitions = []kmsg.ProduceRequestTopicPartition{rp}
	req.Topics = []kmsg.ProduceRequestTopic{rt}
	resp, err := req.RequestWith(ctx, b)
	if err != nil {
		return 0, err
	}
	return resp.Topics[0].Partitions[0].ErrorCode, nil
}

func rawFetch(ctx context.Context, b *kgo.Broker, topic string, partition int32) (int16, error) {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxBytes, req.MaxWaitMillis = -1, 1<<20, 100
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.PartitionMaxBytes = partition, 1<<20
	rt.Partitions = []kmsg.FetchRequestTopicPartition{rp}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	resp, err := req.RequestWith(ctx, b)
	if err != nil {
		return 0, err
	}
	if resp.ErrorCode != 0 {
		return resp.ErrorCode, nil
	}
	return resp.Topics[0].Partitions[0].ErrorCode, nil
}

func rawListOffsets(ctx context.Context, b *kgo.Broker, topic string, partition int32) (int16, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.MaxNumOffsets = partition, -1, 1
	rt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{rp}
	req.Topics = []kmsg.ListOffsetsRequestTopic{rt}
	resp, err := req.RequestWith(ctx, b)
	if err != nil {
		return 0, err
	}
	return resp.Topics[0].Partitions[0].ErrorCode, nil
}

// oneRecordBatch is an uncompressed v2 record batch holding one record, encoded by the
// reference's codec (Kafka accepts it too: this spec runs on both).
func oneRecordBatch() []byte {
	return records.AppendBatch(nil, []records.Record{{Timestamp: time.Now().UnixMilli(), Key: []byte("k"), Value: []byte("v")}})
}
