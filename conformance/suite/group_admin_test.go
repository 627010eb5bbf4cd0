package suite

import (
	"context"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

var _ = Describe("group-admin", func() {
	DescribeTable("a group is described and listed while active and once empty, and (1.1+) deleted only once empty",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "gadmin", 4)
			group := groupName(c, "admin")
			cfg := clients.GroupConfig{Group: group, Topics: []string{topic}, Balancer: "range"}
			members := joinOneByOne(ctx, cl, cfg, 4, [][]int{{4}, {2, 2}})

			By("describing the stable group")
			Eventually(ctx, func(g Gomega) {
				d := describedStable(ctx, g, cl, group, 2)
				var owned []int32
				for _, m := range d.Members {
					owned = append(owned, m.Assigned[topic]...)
				}
				slices.Sort(owned)
				g.Expect(owned).To(Equal([]int32{0, 1, 2, 3}), "the members' assignments as the coordinator holds them")
			}).WithTimeout(30 * time.Second).Should(Succeed())
			Expect(cl.ListGroups(ctx)).To(ContainElement(group))

			// DeleteGroups (KIP-229) arrived with 1.1; at 1.0 the group is only described and listed.
			deletes := c.levelAtLeast("1.1")
			if deletes {
				By("refusing to delete a group with members")
				err := cl.DeleteGroup(ctx, group)
				Expect(clients.ErrorCode(err)).To(Equal(kerr.NonEmptyGroup.Code), "DeleteGroups on an active group: %v", err)
			}

			By("members leaving: the group is Empty and keeps its offsets")
			for _, m := range members {
				m.Close()
			}
			Expect(cl.CommitOffsets(ctx, group, []clients.Offset{{Topic: topic, Partition: 0, Offset: 1}})).To(Succeed())
			Eventually(ctx, func() (string, error) {
				d, err := cl.DescribeGroup(ctx, group)
				return d.State, err
			}).WithTimeout(30 * time.Second).Should(Equal("Empty"))
			Expect(cl.ListGroups(ctx)).To(ContainElement(group), "an empty group with offsets is still listed")
			if !deletes {
				return
			}
			By("deleting the empty group, with its offsets")
			Expect(cl.DeleteGroup(ctx, group)).To(Succeed())
			Expect(cl.FetchOffsets(ctx, group, topic, 1)).To(ConsistOf(HaveField("Offset", int64(-1))), "a deleted group's offsets are gone")
			Expect(cl.ListGroups(ctx)).NotTo(ContainElement(group))
			d, err := cl.DescribeGroup(ctx, group)
			Expect(err).NotTo(HaveOccurred())
			Expect(d.State).To(Equal("Dead"), "a group that does not exist is described as Dead")
			Expect(d.Members).To(BeEmpty())
		}, entries("group-admin"))
})

// describedStable describes group and checks that it is Stable with the given number of members.
func describedStable(ctx context.Context, g Gomega, cl clients.Client, group string, members int) clients.GroupDescription {
	GinkgoHelper()
	d, err := cl.DescribeGroup(ctx, group)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(d.State).To(Equal("Stable"))
	g.Expect(d.Members).To(HaveLen(members))
	return d
}
