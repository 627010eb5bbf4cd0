package suite

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// openAs returns a client for the cell on the target's SASL listener, authenticated as the
// principal of role (clients.UserAllowed, ...), closed when the spec ends.
func (c cell) openAs(role string, failFast bool) (clients.Client, error) {
	t, err := target.OverSASL(role)
	if err != nil {
		return nil, err
	}
	return c.openOn(t, failFast)
}

var _ = Describe("sasl-plain", func() {
	DescribeTable("an authenticated principal produces, fetches and commits in a group",
		func(ctx SpecContext, c cell) {
			cl, err := c.openAs(clients.UserAllowed, false)
			Expect(err).NotTo(HaveOccurred())
			topic := newTopic(ctx, cl, c, "sasl", 1)
			want := sampleRecords(topic, 10)
			produced, err := cl.Produce(ctx, clients.AcksAll, want)
			Expect(err).NotTo(HaveOccurred())
			expectLog(ctx, cl, topic, produced, want)

			By("consuming in a group and committing")
			group := groupName(c, "sasl")
			m, err := cl.Consumer(ctx, clients.GroupConfig{Group: group, Topics: []string{topic}, Balancer: "range"})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(m.Close)
			got := pollUntil(ctx, m, len(want))
			next := clients.Offset{Topic: topic, Partition: 0, Offset: got[len(got)-1].Offset + 1}
			Expect(m.Commit(ctx, []clients.Offset{next})).To(Succeed())
			Expect(cl.FetchOffsets(ctx, group, topic, 1)).To(ConsistOf(HaveField("Offset", int64(len(want)))))
		}, entries("sasl-plain"))

	DescribeTable("a wrong password fails with SASL_AUTHENTICATION_FAILED",
		func(ctx SpecContext, c cell) {
			cl, err := c.openAs(clients.UserWrongPassword, true)
			if err == nil { // clients that connect lazily fail on their first request
				_, err = cl.TopicPartitions(ctx, "ct-sasl-any")
			}
			fmt.Fprintf(GinkgoWriter, "wrong password: %v\n", err)
			Expect(clients.ErrorCode(err)).To(Equal(kerr.SaslAuthenticationFailed.Code), "error: %v", err)
		}, entries("sasl-plain"))
})

var _ = Describe("authorization", func() {
	DescribeTable("a principal without permission gets TOPIC_ and GROUP_AUTHORIZATION_FAILED and writes nothing",
		// Asked through Metadata and the group coordinator: clients report those codes as they
		// are, where a failed produce or commit is often turned into "unknown topic" first.
		func(ctx SpecContext, c cell) {
			owner, err := c.openAs(clients.UserAllowed, false)
			Expect(err).NotTo(HaveOccurred())
			topic := newTopic(ctx, owner, c, "authz", 1)
			_, err = owner.Produce(ctx, clients.AcksAll, sampleRecords(topic, 3))
			Expect(err).NotTo(HaveOccurred())

			cl, err := c.openAs(clients.UserDenied, true)
			Expect(err).NotTo(HaveOccurred())
			By("describing and producing to a topic it may not use")
			_, err = cl.TopicPartitions(ctx, topic)
			Expect(clients.ErrorCode(err)).To(Equal(kerr.TopicAuthorizationFailed.Code), "metadata: %v", err)
			_, err = cl.Produce(ctx, clients.AcksAll, sampleRecords(topic, 1))
			Expect(err).To(HaveOccurred(), "produce")
			By("reading offsets of a group it may not use")
			_, err = cl.FetchOffsets(ctx, groupName(c, "authz"), topic, 1)
			Expect(clients.ErrorCode(err)).To(Equal(kerr.GroupAuthorizationFailed.Code), "offset fetch: %v", err)
			Expect(owner.ListOffset(ctx, topic, 0, clients.Latest)).To(Equal(int64(3)), "nothing was written")
		}, entries("authorization"))
})
