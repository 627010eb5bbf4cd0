package suite

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// openAs returns a client for the cell on the target's SASL listener, authenticated as the
// principal of role (clients.UserAllowed, ...), closed when the spec ends.
func (c cell) openAs(role string, failFast bool) (clients.Client, error) {
	GinkgoHelper()
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
			topic, want := roundTrip(ctx, cl, c, "sasl", 10)

			By("consuming in a group and committing")
			group := groupName(c, "sasl")
			m, err := cl.Join(ctx, clients.GroupConfig{Group: group, Topics: []string{topic}, Balancer: "range"})
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

// deniedCode is the code each client reports for a step taken by a principal without any
// grant, as Apache Kafka makes it report (each was run there first). The server's answer is
// TOPIC_AUTHORIZATION_FAILED or GROUP_AUTHORIZATION_FAILED; where a client stops earlier on its
// own, it says so here:
//   - franz-go and sarama read their topics' metadata before they join a group, and stop at
//     TOPIC_AUTHORIZATION_FAILED (the raw JoinGroup step shows the server's group code);
//   - kafka-go's Client and Writer answer from the transport's cached all-topics Metadata,
//     which leaves out topics the principal may not describe: Metadata and a produce report
//     UNKNOWN_TOPIC_OR_PARTITION (its Reader and ListOffsets ask by name and get the server's
//     TOPIC_AUTHORIZATION_FAILED).
func deniedCode(c cell, step string) int16 {
	switch {
	case step == "join" && c.kind.Name != dims.KafkaGo:
		return kerr.TopicAuthorizationFailed.Code
	case (step == "metadata" || step == "produce") && c.kind.Name == dims.KafkaGo:
		return kerr.UnknownTopicOrPartition.Code
	case step == "join", step == "raw-join", step == "offset-fetch", step == "offset-commit":
		return kerr.GroupAuthorizationFailed.Code
	}
	return kerr.TopicAuthorizationFailed.Code
}

var _ = Describe("authorization", func() {
	DescribeTable("a principal without grants gets TOPIC_ and GROUP_AUTHORIZATION_FAILED for every request and writes nothing",
		func(ctx SpecContext, c cell) {
			owner, err := c.openAs(clients.UserAllowed, false)
			Expect(err).NotTo(HaveOccurred())
			topic := newTopic(ctx, owner, c, "authz", 1)
			_, err = owner.Produce(ctx, acksAll, sampleRecords(topic, 3))
			Expect(err).NotTo(HaveOccurred())
			group := groupName(c, "authz")

			cl, err := c.openAs(clients.UserDenied, true)
			Expect(err).NotTo(HaveOccurred())
			expectDenied := func(step string, err error) {
				GinkgoHelper()
				Expect(clients.ErrorCode(err)).To(Equal(deniedCode(c, step)), "%s: %v", step, err)
			}
			bounded := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 20*time.Second) }
			_, err = cl.TopicPartitions(ctx, topic)
			expectDenied("metadata", err)
			pctx, cancel := bounded()
			_, err = cl.Produce(pctx, acksAll, sampleRecords(topic, 1))
			cancel()
			expectDenied("produce", err)
			fctx, cancel := bounded()
			_, err = cl.Consume(fctx, clients.ConsumeConfig{}, topic, 0, 0, 1)
			cancel()
			expectDenied("fetch", err)
			_, err = cl.ListOffset(ctx, topic, 0, clients.Latest)
			expectDenied("list-offsets", err)
			_, err = cl.FetchOffsets(ctx, group, topic, 1)
			expectDenied("offset-fetch", err)
			// Committed and joined through the client's protocol calls, which send the request
			// (franz-go's kadm.CommitOffsets would look the topic up and answer itself).
			gp := cl.(clients.GroupProtocol)
			codes, err := gp.CommitAs(ctx, group, "", -1, []clients.Offset{{Topic: topic, Partition: 0, Offset: 1}})
			if err == nil {
				err = kerr.ErrorForCode(codes[0])
			}
			expectDenied("offset-commit", err)
			_, err = gp.JoinGroup(ctx, group, "", topic)
			expectDenied("raw-join", err)
			m, err := cl.Join(ctx, clients.GroupConfig{Group: group, Topics: []string{topic}, Balancer: "range"})
			if err == nil {
				DeferCleanup(m.Close)
				jctx, cancel := bounded()
				_, err = m.Poll(jctx)
				cancel()
			}
			expectDenied("join", err)

			Expect(owner.ListOffset(ctx, topic, 0, clients.Latest)).To(Equal(int64(3)), "nothing was written")
			// The group may not exist at all yet; its coordinator can take a moment to answer.
			Eventually(ctx, func() ([]clients.Offset, error) { return owner.FetchOffsets(ctx, group, topic, 1) }).
				WithTimeout(30*time.Second).Should(ConsistOf(HaveField("Offset", int64(-1))), "nothing was committed")
		}, entries("authorization"))

	DescribeTable("a principal with consume-only grants reads and commits, but cannot produce",
		func(ctx SpecContext, c cell) {
			owner, err := c.openAs(clients.UserAllowed, false)
			Expect(err).NotTo(HaveOccurred())
			topic := newTopic(ctx, owner, c, "authz-read", 1)
			want := sampleRecords(topic, 4)
			_, err = owner.Produce(ctx, acksAll, want)
			Expect(err).NotTo(HaveOccurred())

			cl, err := c.openAs(clients.UserConsumeOnly, true)
			Expect(err).NotTo(HaveOccurred())
			Expect(cl.TopicPartitions(ctx, topic)).To(Equal(int32(1)), "the reader may see the topic")
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 0, len(want))
			Expect(err).NotTo(HaveOccurred())
			for i := range want {
				Expect(got[i]).To(matchRecord(want[i], int64(i)))
			}
			group := groupName(c, "authz-read")
			m, err := cl.Join(ctx, clients.GroupConfig{Group: group, Topics: []string{topic}, Balancer: "range"})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(m.Close)
			Expect(pollUntil(ctx, m, len(want))[0]).To(matchRecord(want[0], 0))
			Expect(m.Commit(ctx, []clients.Offset{{Topic: topic, Partition: 0, Offset: 4}})).To(Succeed())
			Expect(cl.FetchOffsets(ctx, group, topic, 1)).To(ConsistOf(HaveField("Offset", int64(4))))

			pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			_, err = cl.Produce(pctx, acksAll, sampleRecords(topic, 1))
			Expect(clients.ErrorCode(err)).To(Equal(kerr.TopicAuthorizationFailed.Code), "produce without a produce grant: %v", err)
			Expect(owner.ListOffset(ctx, topic, 0, clients.Latest)).To(Equal(int64(len(want))), "nothing was written")
		}, entries("authorization"))
})
