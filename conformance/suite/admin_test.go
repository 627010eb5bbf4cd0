package suite

import (
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/conformance/env"
)

var _ = Describe("admin", func() {
	DescribeTable("topics grow, describe their configs and are deleted; unknown topics get UNKNOWN_TOPIC_OR_PARTITION",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "admin", 2)
			Expect(cl.TopicPartitions(ctx, topic)).To(Equal(int32(2)))

			By("growing the topic to 4 partitions")
			Expect(cl.CreatePartitions(ctx, topic, 4)).To(Succeed())
			Eventually(ctx, func() (int32, error) { return cl.TopicPartitions(ctx, topic) }).
				WithTimeout(30 * time.Second).Should(Equal(int32(4)))
			Eventually(ctx, func() error { // a new partition's leader may take a moment on Kafka
				_, err := cl.Produce(ctx, acksAll, []clients.Record{{Topic: topic, Partition: 3, Value: []byte("in a new partition")}})
				return err
			}).WithTimeout(30 * time.Second).Should(Succeed())
			Expect(cl.ListOffset(ctx, topic, 3, clients.Latest)).To(Equal(int64(1)))
			err := cl.CreatePartitions(ctx, topic, 3)
			Expect(clients.ErrorCode(err)).To(Equal(kerr.InvalidPartitions.Code), "shrinking a topic: %v", err)

			By("describing its configs")
			Expect(cl.TopicConfigs(ctx, topic, []string{"max.message.bytes", "cleanup.policy"})).To(Equal(map[string]string{
				"max.message.bytes": strconv.Itoa(env.MaxMessageBytes), "cleanup.policy": "delete"}))

			By("naming a topic that does not exist")
			missing := topic + "-missing"
			_, err = cl.TopicPartitions(ctx, missing)
			Expect(clients.ErrorCode(err)).To(Equal(kerr.UnknownTopicOrPartition.Code), "metadata: %v", err)
			Expect(clients.ErrorCode(cl.DeleteTopic(ctx, missing))).To(Equal(kerr.UnknownTopicOrPartition.Code), "delete")
			Expect(clients.ErrorCode(cl.CreatePartitions(ctx, missing, 2))).To(Equal(kerr.UnknownTopicOrPartition.Code), "create partitions")
			_, err = cl.TopicConfigs(ctx, missing, []string{"cleanup.policy"})
			Expect(clients.ErrorCode(err)).To(Equal(kerr.UnknownTopicOrPartition.Code), "describe configs: %v", err)

			By("deleting the topic, data and all")
			Expect(cl.DeleteTopic(ctx, topic)).To(Succeed())
			Eventually(ctx, func() int16 {
				_, err := cl.TopicPartitions(ctx, topic)
				return clients.ErrorCode(err)
			}).WithTimeout(30 * time.Second).Should(Equal(kerr.UnknownTopicOrPartition.Code))
			// Kafka finishes a deletion in the background: re-creating may first say it exists.
			Eventually(ctx, func() error { return cl.CreateTopic(ctx, topic, 1) }).WithTimeout(60 * time.Second).Should(Succeed())
			Eventually(ctx, func() (int64, error) { return cl.ListOffset(ctx, topic, 0, clients.Latest) }).
				WithTimeout(30*time.Second).Should(Equal(int64(0)), "a re-created topic starts empty")
		}, entries("admin"))
})
