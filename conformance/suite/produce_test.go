package suite

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

var _ = Describe("produce", func() {
	DescribeTable("a batch round-trips with keys, nulls, headers, timestamps and exact offsets (acks=all)",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			roundTrip(ctx, cl, c, "produce", 10)
		}, entries("produce"))

	DescribeTable("consecutive batches get continuous offsets (acks=1)",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "produce", 1)
			var all []clients.Record
			for b := 0; b < 3; b++ {
				batch := sampleRecords(topic, 4)
				produced, err := cl.Produce(ctx, clients.ProduceConfig{Acks: clients.AcksLeader}, batch)
				Expect(err).NotTo(HaveOccurred())
				Expect(produced[0].Offset).To(Equal(int64(4*b)), "base offset of batch %d", b)
				all = append(all, batch...)
			}
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 0, len(all))
			Expect(err).NotTo(HaveOccurred())
			for i := range all {
				Expect(got[i]).To(matchRecord(all[i], int64(i)), "record %d", i)
			}
		}, entries("produce"))

	DescribeTable("acks=0 records are stored although no response is sent",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "produce", 1)
			want := sampleRecords(topic, 5)
			_, err := cl.Produce(ctx, clients.ProduceConfig{Acks: clients.AcksNone}, want)
			Expect(err).NotTo(HaveOccurred())
			// Nothing acknowledges acks=0 writes: consuming them is the proof they landed.
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 0, len(want))
			Expect(err).NotTo(HaveOccurred())
			for i := range want {
				Expect(got[i]).To(matchRecord(want[i], int64(i)), "record %d", i)
			}
		}, entries("produce"))

	// Thousands of small records make batches of more records than a Pulsar producer queues by
	// default (1,000): they must be stored whole, in order, with continuous offsets.
	DescribeTable("6,000 small records are stored whole, in order, with continuous offsets",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "produce", 1)
			want := make([]clients.Record, 6000)
			for i := range want {
				want[i] = clients.Record{Topic: topic, Value: []byte(fmt.Sprintf("v%05d", i))}
			}
			produced, err := cl.Produce(ctx, acksAll, want)
			Expect(err).NotTo(HaveOccurred())
			for i, r := range produced {
				Expect(r.Offset).To(Equal(int64(i)), "offset of record %d", i)
			}
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 0, len(want))
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(HaveLen(len(want)))
			for i := range want {
				Expect(got[i].Offset).To(Equal(int64(i)), "offset of record %d", i)
				Expect(string(got[i].Value)).To(Equal(string(want[i].Value)), "value of record %d", i)
			}
		}, entries("produce"))

	DescribeTable("records go to the partition they name",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "produce", 3)
			recs := sampleRecords(topic, 6)
			for i := range recs {
				recs[i].Partition = int32(i % 3)
			}
			produced, err := cl.Produce(ctx, acksAll, recs)
			Expect(err).NotTo(HaveOccurred())
			for i, r := range produced {
				Expect(r.Partition).To(Equal(int32(i % 3)))
				Expect(r.Offset).To(Equal(int64(i / 3)))
			}
			for p := int32(0); p < 3; p++ {
				got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, p, 0, 2)
				Expect(err).NotTo(HaveOccurred())
				Expect(got[0]).To(matchRecord(recs[p], 0))
				Expect(got[1]).To(matchRecord(recs[p+3], 1))
			}
		}, entries("produce"))
})
