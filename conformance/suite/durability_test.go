package suite

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// The server is killed and restarted once; every cell writes before and verifies after. Ordered and Serial
// because a restart affects every connection.
var _ = Describe("durability", Ordered, Serial, func() {
	type written struct {
		topic, group string
		recs         []clients.Record
	}
	before := map[string]written{}
	// deep is one long log (deepBatches batches) written before the restart; every cell reads
	// from its middle first afterwards, when the server knows no offset near it.
	const deepBatches, deepBatch = 120, 100
	var deep written

	BeforeAll(func(ctx SpecContext) {
		// The set-up writes at every level under its own client id: it runs inside the first
		// spec, whose wire check must see only that spec's level.
		specID := target.ClientID
		target.ClientID = specID + "-setup"
		defer func() { target.ClientID = specID }()
		c0 := cells("durability")[0]
		cl, err := c0.kind.New(target, c0.level)
		Expect(err).NotTo(HaveOccurred())
		deep.topic = newTopic(ctx, cl, c0, "durability-deep", 1)
		for b := 0; b < deepBatches; b++ {
			batch := sampleRecords(deep.topic, deepBatch)
			_, err := cl.Produce(ctx, acksAll, batch)
			Expect(err).NotTo(HaveOccurred(), "producing deep batch %d", b)
			deep.recs = append(deep.recs, batch...)
		}
		cl.Close()
		for _, c := range cells("durability") {
			cl, err := c.kind.New(target, c.level)
			Expect(err).NotTo(HaveOccurred())
			topic := newTopic(ctx, cl, c, "durability", 1)
			recs := sampleRecords(topic, 5)
			_, err = cl.Produce(ctx, acksAll, recs)
			Expect(err).NotTo(HaveOccurred(), "producing before restart for %s", c)
			g := groupName(c, "durable")
			err = cl.CommitOffsets(ctx, g, []clients.Offset{{Topic: topic, Partition: 0, Offset: 3, Metadata: "before-restart"}})
			cl.Close()
			Expect(err).NotTo(HaveOccurred(), "committing before restart for %s", c)
			before[c.String()] = written{topic: topic, group: g, recs: recs}
		}
		start := time.Now()
		Expect(environment.RestartServer(ctx)).To(Succeed())
		fmt.Fprintf(GinkgoWriter, "server restarted in %s\n", time.Since(start).Round(time.Millisecond))
	}, NodeTimeout(5*time.Minute))

	var entriesAfterRestart []TableEntry
	for _, c := range cells("durability") {
		entriesAfterRestart = append(entriesAfterRestart, Entry(c.String(), c, c.labels(), SpecTimeout(90*time.Second)))
	}
	DescribeTable("after a restart every record and committed offset is there and new records continue the log",
		func(ctx context.Context, c cell) {
			w, ok := before[c.String()]
			Expect(ok).To(BeTrue(), "no records were written for %s before the restart", c)
			cl := c.open()
			Expect(cl.ListOffset(ctx, w.topic, 0, clients.Latest)).To(Equal(int64(5)))
			more := sampleRecords(w.topic, 2)
			produced, err := cl.Produce(ctx, acksAll, more)
			Expect(err).NotTo(HaveOccurred())
			Expect(produced[0].Offset).To(Equal(int64(5)), "offsets continue after the restart")
			all := append(append([]clients.Record{}, w.recs...), more...)
			mid, err := cl.Consume(ctx, clients.ConsumeConfig{}, w.topic, 0, 3, 2)
			Expect(err).NotTo(HaveOccurred())
			Expect(mid[0]).To(matchRecord(all[3], 3), "a middle offset after the restart")
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, w.topic, 0, 0, len(all))
			Expect(err).NotTo(HaveOccurred())
			for i := range all {
				Expect(got[i]).To(matchRecord(all[i], int64(i)), "record %d", i)
			}
			// Deep in a long log first, then its end, then its start (all inside a batch).
			for _, off := range []int{len(deep.recs)*2/3 + 7, len(deep.recs) - 3, 3} {
				got, err := cl.Consume(ctx, clients.ConsumeConfig{}, deep.topic, 0, int64(off), 2)
				Expect(err).NotTo(HaveOccurred(), "fetching offset %d of the deep log", off)
				Expect(got[0]).To(matchRecord(deep.recs[off], int64(off)), "offset %d of the deep log after the restart", off)
			}
			Expect(cl.FetchOffsets(ctx, w.group, w.topic, 1)).To(Equal([]clients.Offset{
				{Topic: w.topic, Partition: 0, Offset: 3, Metadata: "before-restart"}}), "the committed offset survived")
		}, entriesAfterRestart)
})
