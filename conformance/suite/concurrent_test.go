package suite

import (
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

var _ = Describe("concurrent-produce", func() {
	DescribeTable("four producers writing a 32-partition topic at once: every record stored once, in each producer's order, offsets continuous", nightlyLabel,
		func(ctx SpecContext, c cell) {
			const partitions, producers, rounds, perPartition = 32, 4, 3, 4
			cl := c.open()
			topic := newTopic(ctx, cl, c, "concurrent", partitions)
			var wg sync.WaitGroup
			errs := make(chan error, producers)
			for p := 0; p < producers; p++ {
				wg.Add(1)
				go func(p int) {
					defer GinkgoRecover()
					defer wg.Done()
					for r := 0; r < rounds; r++ {
						var recs []clients.Record
						for part := int32(0); part < partitions; part++ {
							for i := 0; i < perPartition; i++ {
								recs = append(recs, clients.Record{Topic: topic, Partition: part,
									Key: []byte(fmt.Sprintf("p%d", p)), Value: []byte(fmt.Sprintf("p%d-r%d-%d", p, r, i))})
							}
						}
						if _, err := cl.Produce(ctx, acksAll, recs); err != nil {
							errs <- fmt.Errorf("producer %d round %d: %w", p, r, err)
							return
						}
					}
				}(p)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				Expect(err).NotTo(HaveOccurred())
			}

			const perLog = producers * rounds * perPartition
			m, err := cl.Join(ctx, clients.GroupConfig{Group: groupName(c, "concurrent"), Topics: []string{topic}, Balancer: "range"})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(m.Close)
			got := pollUntil(ctx, m, partitions*perLog)
			Expect(got).To(HaveLen(partitions*perLog), "every record once, none twice")
			byPart := map[int32][]clients.Record{}
			for _, r := range got {
				byPart[r.Partition] = append(byPart[r.Partition], r)
			}
			for part := int32(0); part < partitions; part++ {
				log := byPart[part]
				Expect(log).To(HaveLen(perLog), "partition %d", part)
				seen := map[string]bool{}
				next := map[string]int{} // per producer: index of its next record in production order
				for i, r := range log {
					Expect(r.Offset).To(Equal(int64(i)), "partition %d: offsets are continuous and delivered in order", part)
					v := string(r.Value)
					Expect(seen[v]).To(BeFalse(), "partition %d: %s stored twice", part, v)
					seen[v] = true
					var p, round, idx int
					_, err := fmt.Sscanf(v, "p%d-r%d-%d", &p, &round, &idx)
					Expect(err).NotTo(HaveOccurred(), "value %q", v)
					key := string(r.Key)
					Expect(round*perPartition+idx).To(Equal(next[key]), "partition %d: producer %s's records out of order at offset %d", part, key, r.Offset)
					next[key]++
				}
			}
		}, entries("concurrent-produce"))
})
