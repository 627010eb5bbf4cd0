package suite

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/conformance/levelproxy"
)

var _ = Describe("idempotence", func() {
	DescribeTable("an idempotent producer's batch retried after a lost response is written once",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "idempotence", 1)
			// A proxy that loses the first Produce response: the batch is written, the client
			// hears nothing and sends it again with the same producer id and sequence. It sits
			// in front of the level listener, so the wire tap still sees the traffic.
			px, addr, err := levelproxy.Start(target.Levels[c.level], c.level)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(px.Close)
			via := target
			via.Bootstrap, via.Levels = addr, map[string]string{c.level: addr}
			viaProxy, err := c.kind.New(via, c.level)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(viaProxy.Close)
			px.DropProduceResponses(1)

			want := sampleRecords(topic, 10)
			produced, err := viaProxy.Produce(ctx, clients.ProduceConfig{Acks: clients.AcksAll, Idempotent: true}, want)
			Expect(err).NotTo(HaveOccurred())
			Expect(px.Dropped()).To(Equal(1), "the proxy lost a Produce response, so the client had to retry")
			for i, r := range produced {
				Expect(r.Offset).To(Equal(int64(i)), "offset of record %d", i)
			}
			Expect(cl.ListOffset(ctx, topic, 0, clients.Latest)).To(Equal(int64(10)), "the retried batch was not written twice")
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 0, 10)
			Expect(err).NotTo(HaveOccurred())
			for i := range want {
				Expect(got[i]).To(matchRecord(want[i], int64(i)), "record %d", i)
			}
		}, entries("idempotence"))
})
