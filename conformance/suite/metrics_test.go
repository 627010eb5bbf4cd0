package suite

import (
	"fmt"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/conformance/prom"
)

// sum adds the samples of a metric whose labels include every one of want (`api="Produce"`).
func sum(samples map[string]float64, metric string, want ...string) float64 {
	total := 0.0
	for k, v := range samples {
		name, labels, _ := strings.Cut(k, "{")
		if name != metric {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(labels, w)
		}
		if ok {
			total += v
		}
	}
	return total
}

// The counters are shared with every spec running at the same time, so each is checked to
// have grown by at least what this cell did.
var _ = Describe("metrics", func() {
	DescribeTable("the gateway's metrics count the cell's requests, bytes, connections and partitions",
		func(ctx SpecContext, c cell) {
			Expect(target.MetricsURL).NotTo(BeEmpty(), "the target publishes no metrics endpoint")
			before, err := prom.Scrape(ctx, target.MetricsURL)
			Expect(err).NotTo(HaveOccurred())
			cl := c.open()
			topic := newTopic(ctx, cl, c, "metrics", 1)
			recs := make([]clients.Record, 20)
			for i := range recs {
				recs[i] = clients.Record{Topic: topic, Value: []byte(strings.Repeat("m", 1000) + strconv.Itoa(i))}
			}
			_, err = cl.Produce(ctx, acksAll, recs)
			Expect(err).NotTo(HaveOccurred())
			got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, 0, len(recs))
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(HaveLen(len(recs)))
			after, err := prom.Scrape(ctx, target.MetricsURL)
			Expect(err).NotTo(HaveOccurred())
			for _, api := range []string{"Produce", "Fetch", "Metadata"} {
				label := fmt.Sprintf("api=%q", api)
				Expect(sum(after, "kop_requests_total", label, `outcome="ok"`)).To(BeNumerically(">", sum(before, "kop_requests_total", label, `outcome="ok"`)),
					"kop_requests_total for %s", api)
				Expect(sum(after, "kop_request_duration_seconds_count", label)).To(BeNumerically(">", sum(before, "kop_request_duration_seconds_count", label)),
					"kop_request_duration_seconds for %s", api)
			}
			payload := float64(20 * 1000)
			Expect(after["kop_received_bytes_total"]-before["kop_received_bytes_total"]).To(BeNumerically(">=", payload), "bytes received cover the records produced")
			Expect(after["kop_sent_bytes_total"]-before["kop_sent_bytes_total"]).To(BeNumerically(">=", payload), "bytes sent cover the records fetched")
			Expect(after["kop_connections_total"]).To(BeNumerically(">", before["kop_connections_total"]), "the cell's connections were counted")
			Expect(after["kop_connections"]).To(BeNumerically(">=", 1), "the cell's client is connected")
			Expect(after["kop_open_partitions"]).To(BeNumerically(">=", 1), "the cell's partition is open")
		}, entries("metrics"))
})
