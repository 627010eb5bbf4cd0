package suite

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

var _ = Describe("delete-records", func() {
	DescribeTable("DeleteRecords moves the log start; reads below it are out of range, records above it stay",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			del, ok := cl.(clients.RecordDeleter)
			Expect(ok).To(BeTrue(), "%s adapter deletes records", c.kind.Name)
			topic := newTopic(ctx, cl, c, "delrec", 1)
			want := sampleRecords(topic, 10)
			_, err := cl.Produce(ctx, acksAll, want)
			Expect(err).NotTo(HaveOccurred())

			By("deleting the records below offset 4, inside the produced batch")
			Expect(del.DeleteRecords(ctx, topic, 0, 4)).To(Equal(int64(4)), "the low watermark answered")
			Expect(cl.ListOffset(ctx, topic, 0, clients.Earliest)).To(Equal(int64(4)))
			Expect(cl.ListOffset(ctx, topic, 0, clients.Latest)).To(Equal(int64(10)))
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 4, 6)
			Expect(err).NotTo(HaveOccurred())
			for i, r := range got {
				Expect(r).To(matchRecord(want[4+i], int64(4+i)), "record %d above the log start", 4+i)
			}
			By("deleting below the log start again changes nothing")
			Expect(del.DeleteRecords(ctx, topic, 0, 2)).To(Equal(int64(4)))

			By("reading below the log start")
			below, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 2, 1)
			for _, r := range below {
				Expect(r.Offset).To(BeNumerically(">=", 4), "a deleted record was delivered")
			}
			if fetchedAt(ctx, topic, 2) {
				// The client fetched offset 2: the server must have refused it; the client may
				// then reset by its own policy (franz-go's default: to the log start).
				Expect(fetchCodesAt(ctx, topic, 2)).To(ContainElement(kerr.OffsetOutOfRange.Code), "a fetch below the log start")
			} else {
				// The client checked the offset against ListOffsets itself and refused it.
				Expect(clients.ErrorCode(err)).To(Equal(kerr.OffsetOutOfRange.Code), "consuming below the log start: %v", err)
			}

			By("deleting up to the high watermark empties the partition; the log continues")
			Expect(del.DeleteRecords(ctx, topic, 0, -1)).To(Equal(int64(10)))
			Expect(cl.ListOffset(ctx, topic, 0, clients.Earliest)).To(Equal(int64(10)))
			more := sampleRecords(topic, 2)
			produced, err := cl.Produce(ctx, acksAll, more)
			Expect(err).NotTo(HaveOccurred())
			Expect(produced[0].Offset).To(Equal(int64(10)))
			got, err = cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 10, 2)
			Expect(err).NotTo(HaveOccurred())
			Expect(got[0]).To(matchRecord(more[0], 10))
			Expect(got[1]).To(matchRecord(more[1], 11))

			By("deleting past the high watermark, or in a partition that does not exist")
			_, err = del.DeleteRecords(ctx, topic, 0, 50)
			Expect(clients.ErrorCode(err)).To(Equal(kerr.OffsetOutOfRange.Code), "beyond the high watermark: %v", err)
		}, entries("delete-records"))
})

var _ = Describe("leader-epoch", func() {
	DescribeTable("OffsetForLeaderEpoch answers the end of epoch 0 and refuses a current epoch from the future",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			le, ok := cl.(clients.LeaderEpochs)
			Expect(ok).To(BeTrue(), "%s adapter asks OffsetForLeaderEpoch", c.kind.Name)
			topic := newTopic(ctx, cl, c, "epoch", 1)
			_, err := cl.Produce(ctx, acksAll, sampleRecords(topic, 5))
			Expect(err).NotTo(HaveOccurred())
			// Below v1 (levels 1.0 and 1.1) the response has no leader epoch field.
			withEpoch := c.levelAtLeast("2.0")

			epoch, end, code, err := le.OffsetForLeaderEpoch(ctx, topic, 0, -1, 0)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(BeZero())
			Expect(end).To(Equal(int64(5)), "epoch 0 ends at the log end")
			if withEpoch {
				Expect(epoch).To(Equal(int32(0)))
			}
			epoch, end, code, err = le.OffsetForLeaderEpoch(ctx, topic, 0, -1, 1)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(BeZero())
			Expect(end).To(Equal(int64(-1)), "an epoch after the latest has no end offset")
			if withEpoch {
				Expect(epoch).To(Equal(int32(-1)))
			}
			if c.levelAtLeast("2.1") { // CurrentLeaderEpoch arrived with v2 (KIP-320)
				_, end, code, err = le.OffsetForLeaderEpoch(ctx, topic, 0, 0, 0)
				Expect(err).NotTo(HaveOccurred())
				Expect(code).To(BeZero(), "the current epoch is 0")
				Expect(end).To(Equal(int64(5)))
				_, _, code, err = le.OffsetForLeaderEpoch(ctx, topic, 0, 7, 0)
				Expect(err).NotTo(HaveOccurred())
				Expect(code).To(Equal(kerr.UnknownLeaderEpoch.Code), "a current epoch the leader has not reached")
			}
			_, _, code, err = le.OffsetForLeaderEpoch(ctx, topic, 3, -1, 0)
			if err != nil { // franz-go finds no leader for it in Metadata and does not send
				code = clients.ErrorCode(err)
			}
			Expect(code).To(Equal(kerr.UnknownTopicOrPartition.Code), "a partition that does not exist: %v", err)
		}, entries("leader-epoch"))
})
