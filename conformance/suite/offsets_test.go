package suite

import (
	"time"

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
			_, err := cl.Produce(ctx, acksAll, recs)
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
			_, err := cl.Produce(ctx, acksAll, recs)
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

	DescribeTable("ListOffsets by timestamp across batches: exact boundaries, nothing past the last record, nothing in the future",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "offsets", 1)
			base := time.UnixMilli(time.Now().Add(-2 * time.Hour).UnixMilli())
			// Three batches of four; record i has timestamp base + i seconds.
			for b := 0; b < 3; b++ {
				recs := sampleRecords(topic, 4)
				for j := range recs {
					recs[j].Timestamp = base.Add(time.Duration(4*b+j) * time.Second)
				}
				_, err := cl.Produce(ctx, acksAll, recs)
				Expect(err).NotTo(HaveOccurred())
			}
			ms := func(d time.Duration) int64 { return base.Add(d).UnixMilli() }
			cases := []struct {
				what string
				at   int64
				want int64
			}{
				{"before the first record", ms(-time.Minute), 0},
				{"the last record of the first batch", ms(3 * time.Second), 3},
				{"between batches", ms(3*time.Second + 500*time.Millisecond), 4},
				{"the first record of the last batch", ms(8 * time.Second), 8},
				{"inside the last batch", ms(9*time.Second + time.Millisecond), 10},
				{"the last record", ms(11 * time.Second), 11},
				{"a millisecond past the last record", ms(11*time.Second + time.Millisecond), -1},
				{"an hour in the future", time.Now().Add(time.Hour).UnixMilli(), -1},
			}
			for _, tc := range cases {
				Expect(cl.ListOffset(ctx, topic, 0, tc.at)).To(Equal(tc.want), "offset for a timestamp %s", tc.what)
			}
		}, entries("offsets"))
})
