package suite

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// resetCase is a committed offset out of range and the consumer's reset policy.
type resetCase struct {
	name   string
	below  bool // below the log start (after DeleteRecords) rather than past the log end
	latest bool // auto.offset.reset=latest rather than earliest
}

var resetCases = []resetCase{
	{"past the end, earliest", false, false},
	{"past the end, latest", false, true},
	{"below the log start, earliest", true, false},
	{"below the log start, latest", true, true},
}

var _ = Describe("offset-reset", func() {
	DescribeTable("a committed offset out of range is reset by the consumer's policy to the exact position",
		func(ctx SpecContext, c cell, name string) {
			var rc resetCase
			for _, x := range resetCases {
				if x.name == name {
					rc = x
				}
			}
			cl := c.open()
			topic := newTopic(ctx, cl, c, "reset", 1)
			want := sampleRecords(topic, 8)
			_, err := cl.Produce(ctx, acksAll, want)
			Expect(err).NotTo(HaveOccurred())
			start, committed := int64(0), int64(50)
			if rc.below {
				del, ok := cl.(clients.RecordDeleter)
				Expect(ok).To(BeTrue(), "%s adapter deletes records", c.kind.Name)
				Expect(del.DeleteRecords(ctx, topic, 0, 5)).To(Equal(int64(5)))
				start, committed = 5, 2
			}
			group := groupName(c, "reset")
			Expect(cl.CommitOffsets(ctx, group, []clients.Offset{{Topic: topic, Partition: 0, Offset: committed}})).To(Succeed())
			Expect(cl.FetchOffsets(ctx, group, topic, 1)).To(ConsistOf(HaveField("Offset", committed)), "the out-of-range commit is stored as given")

			m, err := cl.Join(ctx, clients.GroupConfig{Group: group, Topics: []string{topic}, ResetLatest: rc.latest})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(m.Close)
			if !rc.latest {
				got := pollUntil(ctx, m, int(8-start))
				for i, r := range got[:8-start] {
					Expect(r).To(matchRecord(want[start+int64(i)], start+int64(i)), "after resetting to the earliest offset %d", start)
				}
				return
			}
			// Latest: the consumer positions itself at the high watermark (8). It is seen fetching
			// there before the record that must be the first it gets is produced.
			Eventually(ctx, func() bool { return fetchedOrParkedAt(ctx, topic, 8) }).
				WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).Should(BeTrue(), "the consumer fetches at the high watermark")
			next := sampleRecords(topic, 1)
			_, err = cl.Produce(ctx, acksAll, next)
			Expect(err).NotTo(HaveOccurred())
			got := pollUntil(ctx, m, 1)
			Expect(got[0]).To(matchRecord(next[0], 8), "the first record after resetting to the latest offset")
		}, variantEntries("offset-reset", func(cell) []string {
			names := make([]string, len(resetCases))
			for i, rc := range resetCases {
				names[i] = rc.name
			}
			return names
		}))
})
