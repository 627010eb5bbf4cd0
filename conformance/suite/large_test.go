package suite

import (
	"crypto/rand"
	"crypto/sha256"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/conformance/env"
)

var _ = Describe("large-records", func() {
	DescribeTable("records above 1 MiB pass up to the server's maximum; above it MESSAGE_TOO_LARGE and nothing is written",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "large", 1)
			big := make([]byte, 3<<20) // 3 MiB: over Kafka's 1 MiB default, under the 4 MiB limit
			rand.Read(big)
			produced, err := cl.Produce(ctx, acksAll, []clients.Record{{Topic: topic, Key: []byte("big"), Value: big}})
			Expect(err).NotTo(HaveOccurred())
			Expect(produced[0].Offset).To(Equal(int64(0)))

			tooBig := make([]byte, env.MaxMessageBytes+1024)
			_, err = cl.Produce(ctx, acksAll, []clients.Record{{Topic: topic, Key: []byte("too-big"), Value: tooBig}})
			Expect(clients.ErrorCode(err)).To(Equal(kerr.MessageTooLarge.Code), "a batch over the server's maximum: %v", err)
			Expect(cl.ListOffset(ctx, topic, 0, clients.Latest)).To(Equal(int64(1)), "the refused record was not written")

			// The big record comes back whole, and the log goes on after it.
			_, err = cl.Produce(ctx, acksAll, []clients.Record{{Topic: topic, Key: []byte("after"), Value: []byte("small")}})
			Expect(err).NotTo(HaveOccurred())
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 0, 2)
			Expect(err).NotTo(HaveOccurred())
			Expect(got[0].Value).To(HaveLen(len(big)))
			Expect(sha256.Sum256(got[0].Value)).To(Equal(sha256.Sum256(big)), "the 3 MiB value is intact")
			Expect(got[1].Offset).To(Equal(int64(1)))
			Expect(string(got[1].Value)).To(Equal("small"))
		}, entries("large-records"))
})
