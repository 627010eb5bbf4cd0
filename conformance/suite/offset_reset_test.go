package suite

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

var _ = Describe("offset-reset", func() {
	DescribeTable("a committed offset beyond the log end is reset by the consumer's policy",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "reset", 1)
			_, err := cl.Produce(ctx, clients.AcksAll, sampleRecords(topic, 5))
			Expect(err).NotTo(HaveOccurred())
			beyond := []clients.Offset{{Topic: topic, Partition: 0, Offset: 50}}

			By("earliest: the consumer starts over at offset 0")
			early := groupName(c, "reset-early")
			Expect(cl.CommitOffsets(ctx, early, beyond)).To(Succeed())
			m, err := cl.Consumer(ctx, clients.GroupConfig{Group: early, Topics: []string{topic}})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(m.Close)
			Expect(pollUntil(ctx, m, 1)[0].Offset).To(Equal(int64(0)))
			m.Close()

			By("latest: the consumer skips to the end and reads only new records")
			late := groupName(c, "reset-late")
			Expect(cl.CommitOffsets(ctx, late, beyond)).To(Succeed())
			m, err = cl.Consumer(ctx, clients.GroupConfig{Group: late, Topics: []string{topic}, ResetLatest: true})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(m.Close)
			// Where "latest" lands depends on when the consumer resets, so keep producing until a
			// record arrives; none of the five old ones may.
			var first clients.Record
			Eventually(ctx, func() bool {
				_, err := cl.Produce(ctx, clients.AcksAll, sampleRecords(topic, 1))
				Expect(err).NotTo(HaveOccurred())
				pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
				recs, _ := m.Poll(pctx)
				if len(recs) == 0 {
					return false
				}
				first = recs[0]
				return true
			}).WithTimeout(60 * time.Second).Should(BeTrue())
			Expect(first.Offset).To(BeNumerically(">=", 5), "a record from before the reset was delivered")
		}, entries("offset-reset"))
})
