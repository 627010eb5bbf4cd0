package suite

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

var _ = Describe("offsets", func() {
	DescribeTable("ListOffsets earliest and latest follow the log",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "offsets", 2)
			for p := int32(0); p < 2; p++ {
				Expect(cl.ListOffset(ctx, topic, p, clients.Earliest)).To(Equal(int64(0)), "earliest of empty partition %d", p)
				Expect(cl.ListOffset(ctx, topic, p, clients.Latest)).To(Equal(int64(0)), "latest of empty partition %d", p)
			}
			recs := sampleRecords(topic, 7)
			_, err := cl.Produce(ctx, clients.AcksAll, recs)
			Expect(err).NotTo(HaveOccurred())
			Expect(cl.ListOffset(ctx, topic, 0, clients.Earliest)).To(Equal(int64(0)))
			Expect(cl.ListOffset(ctx, topic, 0, clients.Latest)).To(Equal(int64(7)))
			Expect(cl.ListOffset(ctx, topic, 1, clients.Latest)).To(Equal(int64(0)), "the other partition is untouched")
		}, entries("offsets"))

	DescribeTable("committed offsets come back with their metadata; uncommitted partitions answer -1",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "offsets", 3)
			g := groupName(c, "commit")
			Expect(cl.CommitOffsets(ctx, g, []clients.Offset{
				{Topic: topic, Partition: 0, Offset: 5, Metadata: "checkpoint-a"},
				{Topic: topic, Partition: 1, Offset: 7},
			})).To(Succeed())
			got, err := cl.FetchOffsets(ctx, g, topic, 3)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal([]clients.Offset{
				{Topic: topic, Partition: 0, Offset: 5, Metadata: "checkpoint-a"},
				{Topic: topic, Partition: 1, Offset: 7},
				{Topic: topic, Partition: 2, Offset: -1},
			}))
			// A later commit replaces the earlier one, also backwards.
			Expect(cl.CommitOffsets(ctx, g, []clients.Offset{{Topic: topic, Partition: 0, Offset: 2, Metadata: "rewind"}})).To(Succeed())
			got, err = cl.FetchOffsets(ctx, g, topic, 1)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal([]clients.Offset{{Topic: topic, Partition: 0, Offset: 2, Metadata: "rewind"}}))
		}, entries("offsets"))

	DescribeTable("ListOffsets by timestamp finds the first record at or after the time",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "offsets", 1)
			recs := sampleRecords(topic, 10) // timestamps base, base+1s, ..., base+9s
			_, err := cl.Produce(ctx, clients.AcksAll, recs)
			Expect(err).NotTo(HaveOccurred())
			base := recs[0].Timestamp.UnixMilli()
			cases := []struct {
				at   int64
				want int64
			}{{base - 3_600_000, 0}, {base, 0}, {base + 3_500, 4}, {base + 9_000, 9}}
			for _, tc := range cases {
				Expect(cl.ListOffset(ctx, topic, 0, tc.at)).To(Equal(tc.want), "offset for timestamp base%+dms", tc.at-base)
			}
		}, entries("offsets"))
})
