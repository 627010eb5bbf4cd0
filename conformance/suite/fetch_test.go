package suite

import (
	"bytes"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

var _ = Describe("fetch", func() {
	DescribeTable("from an offset in the middle of a batch returns records from exactly that offset",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "fetch", 1)
			want := sampleRecords(topic, 10) // one produced batch: offsets 0..9
			_, err := cl.Produce(ctx, clients.AcksAll, want)
			Expect(err).NotTo(HaveOccurred())
			for _, from := range []int64{4, 9, 0} {
				got, err := cl.Consume(ctx, topic, 0, from, int(10-from))
				Expect(err).NotTo(HaveOccurred(), "consuming from %d", from)
				for i, r := range got {
					Expect(r).To(matchRecord(want[from+int64(i)], from+int64(i)), "from %d, record %d", from, i)
				}
			}
		}, entries("fetch"))

	DescribeTable("a consumer started at the high watermark receives records produced while it polls",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "fetch", 1)
			first := sampleRecords(topic, 3)
			_, err := cl.Produce(ctx, clients.AcksAll, first)
			Expect(err).NotTo(HaveOccurred())
			later := sampleRecords(topic, 2)
			got := make(chan []clients.Record, 1)
			errs := make(chan error, 1)
			go func() {
				defer GinkgoRecover()
				recs, err := cl.Consume(ctx, topic, 0, 3, 2)
				errs <- err
				got <- recs
			}()
			// The consumer starts at the high watermark (3); the records it wants are produced
			// while it polls.
			_, err = cl.Produce(ctx, clients.AcksAll, later)
			Expect(err).NotTo(HaveOccurred())
			Expect(<-errs).NotTo(HaveOccurred())
			recs := <-got
			Expect(recs[0]).To(matchRecord(later[0], 3))
			Expect(recs[1]).To(matchRecord(later[1], 4))
		}, entries("fetch"))

	DescribeTable("an oversized first record comes back whole under small fetch limits (KIP-74), then the rest",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "fetch", 1)
			big := clients.Record{Topic: topic, Key: []byte("big"), Value: bytes.Repeat([]byte("0123456789abcdef"), 16<<10)} // 256 KiB
			_, err := cl.Produce(ctx, clients.AcksAll, []clients.Record{big})
			Expect(err).NotTo(HaveOccurred())
			small := sampleRecords(topic, 3)
			_, err = cl.Produce(ctx, clients.AcksAll, small)
			Expect(err).NotTo(HaveOccurred())
			limits := clients.ConsumeConfig{MaxBytes: 16 << 10, PartitionMaxBytes: 16 << 10}
			got, err := cl.ConsumeWith(ctx, limits, topic, 0, 0, 4)
			Expect(err).NotTo(HaveOccurred())
			Expect(got[0].Offset).To(Equal(int64(0)))
			Expect(got[0].Value).To(Equal(big.Value), "the 256 KiB record, over the 16 KiB limits")
			for i := range small {
				Expect(got[1+i]).To(matchRecord(small[i], int64(1+i)))
			}
		}, entries("fetch"))
})
