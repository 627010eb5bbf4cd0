package suite

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// Static membership (KIP-345, group.instance.id, 2.3+): a member that comes back under its
// instance id replaces its old self and gets its old partitions back at once. A dynamic member
// in its place would wait for a rebalance that cannot finish until the crashed member's
// session or rebalance timeout ends, so the timing tells the two apart.
var _ = Describe("static-membership", func() {
	const session = 45 * time.Second

	DescribeTable("a static member that crashes and rejoins under its instance id takes its partitions back without waiting for its session to end",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "static", 4)
			group := groupName(c, "static")
			cfg := func(instance string) clients.GroupConfig {
				return clients.GroupConfig{Group: group, Topics: []string{topic}, Balancer: "range",
					InstanceID: group + "-" + instance, SessionTimeout: session}
			}
			join := func(instance string) clients.GroupConsumer {
				GinkgoHelper()
				m, err := cl.Join(ctx, cfg(instance))
				Expect(err).NotTo(HaveOccurred(), "instance %s joins", instance)
				DeferCleanup(m.Close)
				return m
			}
			leader := join("a")
			eventuallyAssigned(ctx, topic, 4, []clients.GroupConsumer{leader}, []int{4})
			follower := join("b")
			eventuallyAssigned(ctx, topic, 4, []clients.GroupConsumer{leader, follower}, []int{2, 2})
			owned, kept := leader.Assigned()[topic], follower.Assigned()[topic]

			By("crashing instance a (the group's leader) and starting it again")
			leader.Vanish()
			start := time.Now()
			again := join("a")
			Eventually(ctx, func() []int32 { return again.Assigned()[topic] }).
				WithTimeout(session).WithPolling(100*time.Millisecond).Should(Equal(owned), "the rejoined instance owns its old partitions")
			took := time.Since(start)
			AddReportEntry("static-rejoin-to-assignment-ms", ReportEntryVisibilityNever, took.Milliseconds())
			fmt.Fprintf(GinkgoWriter, "static member took its partitions back after %s\n", took.Round(time.Millisecond))
			Expect(took).To(BeNumerically("<", session/3), "a static rejoin must not wait for the old member's session (%s)", session)
			Expect(follower.Assigned()[topic]).To(Equal(kept), "the other member keeps its partitions")

			By("describing the group: the old member was replaced, not added to")
			Eventually(ctx, func(g Gomega) { describedStable(ctx, g, cl, group, 2) }).WithTimeout(10 * time.Second).Should(Succeed())

			By("consuming through the rejoined member")
			recs := sampleRecords(topic, 4)
			for i := range recs {
				recs[i].Partition = int32(i)
			}
			_, err := cl.Produce(ctx, acksAll, recs)
			Expect(err).NotTo(HaveOccurred())
			var parts []int32
			for _, r := range pollUntil(ctx, again, 2) {
				parts = append(parts, r.Partition)
			}
			Expect(parts).To(ConsistOf(owned))
		}, entries("static-membership"))
})
