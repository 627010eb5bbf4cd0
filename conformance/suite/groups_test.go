package suite

import (
	"context"
	"fmt"
	"sort"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// Session timeout of eviction specs: Kafka's group.min.session.timeout.ms, the shortest a
// member may ask for; a survivor must take over within evictSlack after it (its heartbeat
// learns of the rebalance, then it rejoins and syncs).
const (
	evictSession = 6 * time.Second
	evictSlack   = 6 * time.Second
)

// pollUntil collects records from a group consumer until it has n of them.
func pollUntil(ctx context.Context, gc clients.GroupConsumer, n int) []clients.Record {
	GinkgoHelper()
	var got []clients.Record
	for len(got) < n {
		recs, err := gc.Poll(ctx)
		Expect(err).NotTo(HaveOccurred(), "polling: have %d of %d records", len(got), n)
		got = append(got, recs...)
	}
	return got
}

// eventuallyAssigned waits until the members' assignments are disjoint, cover every partition
// of topic, and have the expected sizes (in member order).
func eventuallyAssigned(ctx context.Context, topic string, partitions int32, members []clients.GroupConsumer, sizes []int) {
	GinkgoHelper()
	Eventually(ctx, func() []int {
		got, exact := clients.Split(members, topic, partitions)
		if !exact {
			return append(got, -1) // a partition owned twice or by nobody
		}
		return got
	}).WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).Should(Equal(sizes),
		"assignment of %d partitions over %d members", partitions, len(members))
}

// joinOneByOne starts one member per entry of sizes, waiting after each join for the
// assignment sizes[i] over cfg's first topic.
func joinOneByOne(ctx context.Context, cl clients.Client, cfg clients.GroupConfig, partitions int32, sizes [][]int) []clients.GroupConsumer {
	GinkgoHelper()
	var members []clients.GroupConsumer
	for _, want := range sizes {
		m, err := cl.Join(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(m.Close)
		members = append(members, m)
		eventuallyAssigned(ctx, cfg.Topics[0], partitions, members, want)
	}
	return members
}

func groupName(c cell, what string) string {
	return fmt.Sprintf("cg-%s-%s-%s-%d", what, c.kind.Name, c.level, time.Now().UnixNano()%1e9)
}

var _ = Describe("groups", func() {
	DescribeTable("a consumer resumes exactly after the group's last commit",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "groups", 1)
			want := sampleRecords(topic, 10)
			_, err := cl.Produce(ctx, acksAll, want)
			Expect(err).NotTo(HaveOccurred())
			g := groupName(c, "resume")

			first, err := cl.Join(ctx, clients.GroupConfig{Group: g, Topics: []string{topic}})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(first.Close)
			got := pollUntil(ctx, first, 6)
			for i := 0; i < 6; i++ {
				Expect(got[i]).To(matchRecord(want[i], int64(i)))
			}
			Expect(first.Commit(ctx, []clients.Offset{{Topic: topic, Partition: 0, Offset: 6}})).To(Succeed())
			first.Close()
			Expect(cl.FetchOffsets(ctx, g, topic, 1)).To(ConsistOf(HaveField("Offset", int64(6))))

			second, err := cl.Join(ctx, clients.GroupConfig{Group: g, Topics: []string{topic}})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(second.Close)
			rest := pollUntil(ctx, second, 4)
			for i, r := range rest[:4] {
				Expect(r).To(matchRecord(want[6+i], int64(6+i)), "resumed record %d", i)
			}
		}, entries("groups"))

	DescribeTable("members split the partitions with the assignor, and take over when members leave",
		func(ctx SpecContext, c cell, bal string) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "groups", 6)
			g := groupName(c, bal)
			cfg := clients.GroupConfig{Group: g, Topics: []string{topic}, Balancer: bal}
			members := joinOneByOne(ctx, cl, cfg, 6, [][]int{{6}, {3, 3}, {2, 2, 2}})
			members[2].Close()
			eventuallyAssigned(ctx, topic, 6, members[:2], []int{3, 3})
			members[1].Close()
			eventuallyAssigned(ctx, topic, 6, members[:1], []int{6})
			members[0].Close()
			Expect(cl.FetchOffsets(ctx, g, topic, 1)).To(ConsistOf(HaveField("Offset", int64(-1))), "nothing was committed")
		}, variantEntries("groups", assignors))

	DescribeTable("three members that join together each consume their own partitions",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "groups", 6)
			cfg := clients.GroupConfig{Group: groupName(c, "trio"), Topics: []string{topic}, Balancer: "range"}
			start := time.Now()
			members := make([]clients.GroupConsumer, 3)
			for i := range members {
				m, err := cl.Join(ctx, cfg)
				Expect(err).NotTo(HaveOccurred())
				DeferCleanup(m.Close)
				members[i] = m
			}
			eventuallyAssigned(ctx, topic, 6, members, []int{2, 2, 2})
			recs := sampleRecords(topic, 6)
			for i := range recs {
				recs[i].Partition = int32(i)
			}
			_, err := cl.Produce(ctx, acksAll, recs)
			Expect(err).NotTo(HaveOccurred())
			// Each member sees exactly the records of its own two partitions.
			var slowest time.Duration
			for i, m := range members {
				var parts []int32
				for _, r := range pollUntil(ctx, m, 2) {
					parts = append(parts, r.Partition)
				}
				slowest = time.Since(start)
				Expect(parts).To(ConsistOf(m.Assigned()[topic]), "member %d reads its partitions", i)
			}
			AddReportEntry("rebalance-join-to-first-record-ms", ReportEntryVisibilityNever, slowest.Milliseconds())
			fmt.Fprintf(GinkgoWriter, "3 members: join to a record at every member %s\n", slowest.Round(time.Millisecond))
		}, entries("groups"))

	DescribeTable("a member that vanishes without leaving is evicted after its session timeout, not before and not much after", nightlyLabel,
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "groups", 4)
			// 6 s is Kafka's group.min.session.timeout.ms, the shortest a member may ask for.
			cfg := clients.GroupConfig{Group: groupName(c, "evict"), Topics: []string{topic}, Balancer: "range", SessionTimeout: evictSession}
			members := joinOneByOne(ctx, cl, cfg, 4, [][]int{{4}, {2, 2}})
			start := time.Now()
			members[1].Vanish()
			eventuallyAssigned(ctx, topic, 4, members[:1], []int{4})
			took := time.Since(start)
			fmt.Fprintf(GinkgoWriter, "survivor took over after %s\n", took.Round(time.Millisecond))
			AddReportEntry("eviction-takeover-ms", ReportEntryVisibilityNever, took.Milliseconds())
			Expect(took).To(BeNumerically(">=", evictSession-time.Second), "the coordinator must wait for the session timeout, not evict early")
			Expect(took).To(BeNumerically("<=", evictSession+evictSlack), "eviction must follow the session timeout closely")
		}, entries("groups"))

	DescribeTable("a member taking over a partition resumes exactly at the committed offset: nothing lost, nothing read twice",
		func(ctx SpecContext, c cell, how string) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "groups", 1)
			want := sampleRecords(topic, 10)
			_, err := cl.Produce(ctx, acksAll, want)
			Expect(err).NotTo(HaveOccurred())
			cfg := clients.GroupConfig{Group: groupName(c, "handover"), Topics: []string{topic}, Balancer: "range", SessionTimeout: evictSession}
			members := joinOneByOne(ctx, cl, cfg, 1, [][]int{{1}})
			got := pollUntil(ctx, members[0], 4)
			for i := 0; i < 4; i++ {
				Expect(got[i]).To(matchRecord(want[i], int64(i)), "first member, record %d", i)
			}
			Expect(members[0].Commit(ctx, []clients.Offset{{Topic: topic, Partition: 0, Offset: 4}})).To(Succeed())
			Expect(cl.FetchOffsets(ctx, cfg.Group, topic, 1)).To(ConsistOf(HaveField("Offset", int64(4))), "the commit is stored before the handover")

			second, err := cl.Join(ctx, cfg)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(second.Close)
			eventuallyAssigned(ctx, topic, 1, []clients.GroupConsumer{members[0], second}, []int{1, 0})
			if how == "leaves" {
				members[0].Close()
			} else {
				members[0].Vanish()
			}
			eventuallyAssigned(ctx, topic, 1, []clients.GroupConsumer{second}, []int{1})
			rest := pollUntil(ctx, second, 6)
			Expect(rest).To(HaveLen(6), "the new owner reads the six records after the commit, none twice")
			for i, r := range rest {
				Expect(r).To(matchRecord(want[4+i], int64(4+i)), "taken-over record %d", i)
			}
			quiet, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			again, _ := second.Poll(quiet)
			Expect(again).To(BeEmpty(), "no record is delivered twice")
		}, variantEntries("groups", func(cell) []string { return []string{"leaves", "dies"} }, "dies"))
})

var _ = Describe("mixed-group", func() {
	for _, c := range mixedCells() {
		It(fmt.Sprintf("franz-go, sarama and kafka-go members share the range assignor @%s", c.level),
			Label(dims.Spec{Clients: dims.Clients(), Level: c.level, Feature: c.feature}.Labels()...), SpecTimeout(3*time.Minute),
			func(ctx SpecContext) {
				var cls []clients.Client
				for _, k := range clients.Kinds {
					cl, err := k.New(target, c.level)
					Expect(err).NotTo(HaveOccurred())
					DeferCleanup(cl.Close)
					cls = append(cls, cl)
				}
				topic := newTopic(ctx, cls[0], c, "mixed", 6)
				g := groupName(c, "mixed")
				var members []clients.GroupConsumer
				sizes := [][]int{{6}, {3, 3}, {2, 2, 2}}
				for i, cl := range cls {
					m, err := cl.Join(ctx, clients.GroupConfig{Group: g, Topics: []string{topic}, Balancer: "range"})
					Expect(err).NotTo(HaveOccurred(), "%s joins", clients.Kinds[i].Name)
					DeferCleanup(m.Close)
					members = append(members, m)
					eventuallyAssigned(ctx, topic, 6, members, sizes[i])
				}
				// Every member consumes what is produced to its partitions.
				recs := sampleRecords(topic, 6)
				for i := range recs {
					recs[i].Partition = int32(i)
				}
				_, err := cls[0].Produce(ctx, acksAll, recs)
				Expect(err).NotTo(HaveOccurred())
				var parts []int
				for _, m := range members {
					for _, r := range pollUntil(ctx, m, 2) {
						parts = append(parts, int(r.Partition))
					}
				}
				sort.Ints(parts)
				Expect(parts).To(Equal([]int{0, 1, 2, 3, 4, 5}))
			})
	}
})

// mixedCells are the first client's cells of the mixed group, one per level at which the
// feature applies: a mixed-group spec names every client and its own level.
func mixedCells() []cell {
	var out []cell
	for _, c := range cells("mixed-group") {
		if c.kind.Name == clients.Kinds[0].Name {
			out = append(out, c)
		}
	}
	return out
}

// assignors are the group assignors a cell's client has at its level.
func assignors(c cell) []string {
	var out []string
	for _, bal := range c.kind.Balancers {
		if min, ok := c.kind.BalancerMinLevel[bal]; ok && !c.levelAtLeast(min) {
			continue
		}
		out = append(out, bal)
	}
	return out
}
