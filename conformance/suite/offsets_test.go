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
})
