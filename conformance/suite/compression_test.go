package suite

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

var _ = Describe("compression", func() {
	DescribeTable("a compressed batch comes back record for record, also from inside the batch",
		func(ctx SpecContext, c cell, codec string) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "compression", 1)
			want := sampleRecords(topic, 20)
			produced, err := cl.Produce(ctx, clients.ProduceConfig{Acks: clients.AcksAll, Compression: codec}, want)
			Expect(err).NotTo(HaveOccurred())
			expectLog(ctx, cl, topic, produced, want)
			mid, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 13, 7)
			Expect(err).NotTo(HaveOccurred())
			for i := range mid {
				Expect(mid[i]).To(matchRecord(want[13+i], int64(13+i)), "record %d read from offset 13", 13+i)
			}
		}, variantEntries("compression", codecsAt))
})

// codecsAt are the codecs a cell's level has.
func codecsAt(c cell) []string {
	var out []string
	for _, codec := range clients.Codecs {
		if codec.MinLevel == "" || c.levelAtLeast(codec.MinLevel) {
			out = append(out, codec.Name)
		}
	}
	return out
}
