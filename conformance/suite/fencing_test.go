package suite

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// Commit fencing, driven one request at a time through each client's own protocol API: the
// group is put in a state (observed with DescribeGroups before anything races it) and commits
// a consumer would never send are checked for Kafka's exact codes. A refused commit must store
// nothing, so the committed offset is read back after each.
var _ = Describe("commit-fencing", func() {
	DescribeTable("commits from a stale generation, an unknown member and during a rebalance are refused with Kafka's codes",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			gp, ok := cl.(clients.GroupProtocol)
			Expect(ok).To(BeTrue(), "%s adapter drives the group protocol by hand", c.kind.Name)
			topic := newTopic(ctx, cl, c, "fencing", 1)
			group := groupName(c, "fencing")
			at := func(off int64) []clients.Offset {
				return []clients.Offset{{Topic: topic, Partition: 0, Offset: off}}
			}
			committed := func() int64 {
				GinkgoHelper()
				got, err := cl.FetchOffsets(ctx, group, topic, 1)
				Expect(err).NotTo(HaveOccurred())
				return got[0].Offset
			}
			commit := func(member string, generation int32, off int64) int16 {
				GinkgoHelper()
				codes, err := gp.CommitAs(ctx, group, member, generation, at(off))
				Expect(err).NotTo(HaveOccurred(), "commit request")
				return codes[0]
			}

			By("joining as the only member and syncing: the group is Stable")
			j1, err := gp.JoinGroup(ctx, group, "", topic)
			Expect(err).NotTo(HaveOccurred())
			Expect(j1.Leader).To(BeTrue(), "the only member leads")
			Expect(gp.SyncGroup(ctx, group, j1, topic, []int32{0})).To(Succeed())
			DeferCleanup(func(ctx SpecContext) { gp.LeaveGroup(ctx, group, j1.MemberID) })
			Expect(cl.DescribeGroup(ctx, group)).To(HaveField("State", "Stable"))
			Expect(commit(j1.MemberID, j1.Generation, 2)).To(Equal(int16(0)), "a commit in the current generation")
			Expect(committed()).To(Equal(int64(2)))

			By("committing from a generation that does not exist yet, and as an unknown member")
			Expect(commit(j1.MemberID, j1.Generation+1, 3)).To(Equal(kerr.IllegalGeneration.Code))
			Expect(commit("no-such-member", j1.Generation, 3)).To(Equal(kerr.UnknownMemberID.Code))
			Expect(committed()).To(Equal(int64(2)), "refused commits store nothing")

			By("rejoining: the group waits in CompletingRebalance for the leader's SyncGroup")
			j2, err := gp.JoinGroup(ctx, group, j1.MemberID, topic)
			Expect(err).NotTo(HaveOccurred())
			Expect(j2.Generation).To(Equal(j1.Generation+1), "a rejoining leader starts a new generation")
			Expect(cl.DescribeGroup(ctx, group)).To(HaveField("State", "CompletingRebalance"))
			Expect(commit(j2.MemberID, j2.Generation, 4)).To(Equal(kerr.RebalanceInProgress.Code), "the new generation before its sync")
			Expect(commit(j2.MemberID, j1.Generation, 4)).To(Equal(kerr.IllegalGeneration.Code), "the old generation")
			Expect(committed()).To(Equal(int64(2)), "refused commits store nothing")

			By("syncing the new generation: its commits are stored again")
			Expect(gp.SyncGroup(ctx, group, j2, topic, []int32{0})).To(Succeed())
			Expect(cl.DescribeGroup(ctx, group)).To(HaveField("State", "Stable"))
			Expect(commit(j2.MemberID, j2.Generation, 5)).To(Equal(int16(0)))
			Expect(committed()).To(Equal(int64(5)))
		}, entries("commit-fencing"))
})
