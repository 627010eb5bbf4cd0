package suite

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/fixtures/certs"
)

// openOver returns a client for the cell connected to the target's secure listener (SSL or
// MTLS), presenting the named client certificate unless cert is empty. The client is closed
// when the spec ends.
func (c cell) openOver(listener, cert, key string, failFast bool) (clients.Client, error) {
	GinkgoHelper()
	cfg, err := certs.ClientConfig(target.CertDir, cert, key)
	if err != nil {
		return nil, err
	}
	t, err := target.Over(listener, cfg)
	if err != nil {
		return nil, err
	}
	return c.openOn(t, failFast)
}

// openOn returns a client for the cell on t, without retries if failFast, closed when the
// spec ends.
func (c cell) openOn(t clients.Target, failFast bool) (clients.Client, error) {
	GinkgoHelper()
	t.FailFast = failFast
	cl, err := c.kind.New(t, c.level)
	if err != nil {
		return nil, err
	}
	DeferCleanup(cl.Close)
	return cl, nil
}

// refusedOver connects over listener with the given certificate, without retries. It returns
// the error of asking for metadata, and of producing (given 15 s: a producer may keep retrying).
func refusedOver(ctx context.Context, c cell, listener, cert, key, topic string) (metaErr, produceErr error) {
	GinkgoHelper()
	cl, err := c.openOver(listener, cert, key, true)
	if err != nil {
		return err, err // sarama reads metadata when it is created
	}
	_, metaErr = cl.TopicPartitions(ctx, topic)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, produceErr = cl.Produce(pctx, acksAll, sampleRecords(topic, 1))
	return metaErr, produceErr
}

var _ = Describe("tls", func() {
	DescribeTable("records and a consumer group work over an SSL listener",
		func(ctx SpecContext, c cell) {
			cl, err := c.openOver("SSL", "", "", false)
			Expect(err).NotTo(HaveOccurred())
			topic, want := roundTrip(ctx, cl, c, "tls", 10)

			By("consuming in a group over TLS")
			m, err := cl.Join(ctx, clients.GroupConfig{Group: groupName(c, "tls"), Topics: []string{topic}, Balancer: "range"})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(m.Close)
			got := pollUntil(ctx, m, len(want))
			Expect(got[len(want)-1].Offset).To(Equal(int64(len(want) - 1)))
		}, entries("tls"))
})

var _ = Describe("mtls", func() {
	DescribeTable("a CA-signed client certificate is accepted; none, or an untrusted one, is refused and writes nothing",
		func(ctx SpecContext, c cell) {
			cl, err := c.openOver("MTLS", certs.ClientCertFile, certs.ClientKeyFile, false)
			Expect(err).NotTo(HaveOccurred())
			topic, want := roundTrip(ctx, cl, c, "mtls", 5)

			for _, bad := range []struct{ what, cert, key string }{
				{"no client certificate", "", ""},
				{"a certificate from an untrusted CA", certs.RogueCertFile, certs.RogueKeyFile},
			} {
				By("connecting with " + bad.what)
				metaErr, produceErr := refusedOver(ctx, c, "MTLS", bad.cert, bad.key, topic)
				fmt.Fprintf(GinkgoWriter, "%s: metadata: %v; produce: %v\n", bad.what, metaErr, produceErr)
				// The handshake fails: "tls: certificate required" or "bad certificate" (TLS
				// 1.3 reports it on the first read), or the connection is dropped under it.
				Expect(metaErr).To(MatchError(Or(ContainSubstring("tls"), ContainSubstring("certificate"), ContainSubstring("EOF"), ContainSubstring("reset"))),
					"%s must be refused", bad.what)
				Expect(produceErr).To(HaveOccurred(), "producing with %s", bad.what)
			}
			Expect(cl.ListOffset(ctx, topic, 0, clients.Latest)).To(Equal(int64(len(want))), "refused clients wrote nothing")
		}, entries("mtls"))
})
