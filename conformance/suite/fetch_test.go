package suite

import (
	"bytes"
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// Long-poll timing. A parked fetch asks for longWait (kafka-go sends a little less on the wire,
// so specs read the value the client really sent from the wire tap); woken by new data it must
// answer within maxWakeup of the produce's acknowledgement, far below longWait. An empty fetch
// asks for shortWait and must be held for it, give or take waitTolerance.
const (
	longWait      = 10 * time.Second
	shortWait     = 1500 * time.Millisecond
	maxWakeup     = 2 * time.Second
	waitTolerance = 100 * time.Millisecond
)

type consumed struct {
	recs []clients.Record
	err  error
	at   time.Time
}

// consumeAsync starts consuming n records of partition 0 from offset; the result arrives on
// the channel (buffered) with the time the consumer returned.
func consumeAsync(ctx context.Context, cl clients.Client, cc clients.ConsumeConfig, topic string, offset int64, n int) chan consumed {
	out := make(chan consumed, 1)
	go func() {
		defer GinkgoRecover()
		recs, err := cl.Consume(ctx, cc, topic, 0, offset, n)
		out <- consumed{recs: recs, err: err, at: time.Now()}
	}()
	return out
}

// parkedConsumer makes a one-partition topic holding three records and starts a consumer of n
// records at its high watermark (3) with cc; it returns once the server holds the consumer's
// fetch there, so what the spec produces next races nothing.
func parkedConsumer(ctx context.Context, cl clients.Client, c cell, cc clients.ConsumeConfig, n int) (string, chan consumed, fetchEvent) {
	GinkgoHelper()
	topic := newTopic(ctx, cl, c, "fetch", 1)
	explainFetchesOnFailure(topic, 0)
	_, err := cl.Produce(ctx, acksAll, sampleRecords(topic, 3))
	Expect(err).NotTo(HaveOccurred())
	got := consumeAsync(ctx, cl, cc, topic, 3, n)
	return topic, got, parkedFetch(ctx, topic, 0, 3)
}

// produceAndAwait produces recs and waits for the parked consumer's result; it returns the
// result and how long after the produce's acknowledgement the consumer had its records.
func produceAndAwait(ctx context.Context, cl clients.Client, recs []clients.Record, got chan consumed) (consumed, time.Duration) {
	GinkgoHelper()
	_, err := cl.Produce(ctx, acksAll, recs)
	Expect(err).NotTo(HaveOccurred())
	acked := time.Now()
	r := awaitConsumed(got, longWait+10*time.Second)
	Expect(r.err).NotTo(HaveOccurred())
	return r, r.at.Sub(acked)
}

// awaitConsumed waits for a consumeAsync result, at most within.
func awaitConsumed(ch chan consumed, within time.Duration) consumed {
	GinkgoHelper()
	var r consumed
	Eventually(ch).WithTimeout(within).Should(Receive(&r), "the consumer returned")
	return r
}

var _ = Describe("fetch", func() {
	DescribeTable("from an offset in the middle of a batch returns records from exactly that offset",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "fetch", 1)
			want := sampleRecords(topic, 10) // one produced batch: offsets 0..9
			_, err := cl.Produce(ctx, acksAll, want)
			Expect(err).NotTo(HaveOccurred())
			for _, from := range []int64{4, 9, 0} {
				got, err := cl.Consume(ctx, clients.ConsumeConfig{}, topic, 0, from, int(10-from))
				Expect(err).NotTo(HaveOccurred(), "consuming from %d", from)
				for i, r := range got {
					Expect(r).To(matchRecord(want[from+int64(i)], from+int64(i)), "from %d, record %d", from, i)
				}
			}
		}, entries("fetch"))

	DescribeTable("a fetch parked at the high watermark is woken by a produce, long before its max wait",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic, got, parked := parkedConsumer(ctx, cl, c, clients.ConsumeConfig{MaxWait: longWait}, 1)
			Expect(parked.MaxWait()).To(BeNumerically(">=", longWait/2), "the client asked the server to wait")

			later := sampleRecords(topic, 1)
			r, wake := produceAndAwait(ctx, cl, later, got)
			Expect(r.recs[0]).To(matchRecord(later[0], 3))
			AddReportEntry("fetch-wakeup-ms", ReportEntryVisibilityNever, wake.Milliseconds())
			fmt.Fprintf(GinkgoWriter, "parked fetch (max wait %s) woken %s after the produce was acknowledged\n", parked.MaxWait(), wake.Round(time.Millisecond))
			Expect(wake).To(BeNumerically("<", maxWakeup), "a parked fetch must be woken by new data, not wait out its max wait")
		}, entries("fetch"))

	DescribeTable("an empty fetch is held for its max wait, then answered with the high watermark and log start", nightlyLabel,
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "fetch", 1)
			_, err := cl.Produce(ctx, acksAll, sampleRecords(topic, 3))
			Expect(err).NotTo(HaveOccurred())
			idle, cancel := context.WithTimeout(ctx, 4*time.Second)
			recs, err := cl.Consume(idle, clients.ConsumeConfig{MaxWait: shortWait}, topic, 0, 3, 1)
			cancel()
			Expect(recs).To(BeEmpty(), "nothing was produced after offset 3")
			Expect(err).To(HaveOccurred(), "the consumer is still waiting when its context ends")

			var held int
			for _, f := range fetchEvents(ctx, topic, 0) {
				if f.Pending() || f.Part.Offset != 3 {
					continue
				}
				Expect(f.Part.ErrorCode).To(BeZero())
				Expect(f.Part.HighWatermark).To(Equal(int64(3)), "high watermark in the fetch response")
				Expect(f.Part.LogStartOffset).To(BeElementOf(int64(0), int64(-1)), "log start in the fetch response (-1 below Fetch v5)")
				if f.MaxWait() < 500*time.Millisecond {
					continue // a client's own short probe says nothing of the server's wait
				}
				held++
				Expect(f.Part.Bytes).To(BeZero())
				Expect(f.Duration()).To(BeNumerically(">=", f.MaxWait()-waitTolerance), "an empty fetch answered before its max wait of %s", f.MaxWait())
				Expect(f.Duration()).To(BeNumerically("<=", f.MaxWait()+time.Second), "an empty fetch held far past its max wait of %s", f.MaxWait())
			}
			Expect(held).To(BeNumerically(">=", 1), "the client sent at least one long-poll fetch at the high watermark")
		}, entries("fetch"))

	DescribeTable("a parked fetch waits for min bytes: a small record does not end it, enough bytes do",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic, got, parked := parkedConsumer(ctx, cl, c, clients.ConsumeConfig{MaxWait: longWait, MinBytes: 4096}, 2)
			Expect(parked.Fetch.MinBytes).To(Equal(int32(4096)))

			small := clients.Record{Topic: topic, Key: []byte("small"), Value: []byte("well under min bytes"), Timestamp: time.UnixMilli(time.Now().UnixMilli())}
			_, err := cl.Produce(ctx, acksAll, []clients.Record{small})
			Expect(err).NotTo(HaveOccurred())
			Consistently(func() bool {
				for _, f := range fetchEvents(ctx, topic, 0) {
					if !f.Pending() && f.Part.Bytes > 0 {
						return false
					}
				}
				return len(got) == 0
			}).WithTimeout(time.Second).WithPolling(100*time.Millisecond).Should(BeTrue(),
				"a fetch with min bytes 4096 was answered with less")

			big := clients.Record{Topic: topic, Key: []byte("big"), Value: bytes.Repeat([]byte("m"), 6<<10), Timestamp: small.Timestamp}
			r, wake := produceAndAwait(ctx, cl, []clients.Record{big}, got)
			Expect(r.recs[0]).To(matchRecord(small, 3))
			Expect(r.recs[1]).To(matchRecord(big, 4))
			Expect(wake).To(BeNumerically("<", maxWakeup), "the fetch ends once min bytes are there")
		}, entries("fetch"))

	DescribeTable("an oversized first record comes back whole under small fetch limits (KIP-74), then the rest",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			topic := newTopic(ctx, cl, c, "fetch", 1)
			big := clients.Record{Topic: topic, Key: []byte("big"), Value: bytes.Repeat([]byte("0123456789abcdef"), 16<<10)} // 256 KiB
			_, err := cl.Produce(ctx, acksAll, []clients.Record{big})
			Expect(err).NotTo(HaveOccurred())
			small := sampleRecords(topic, 3)
			_, err = cl.Produce(ctx, acksAll, small)
			Expect(err).NotTo(HaveOccurred())
			limits := clients.ConsumeConfig{MaxBytes: 16 << 10, PartitionMaxBytes: 16 << 10}
			got, err := cl.Consume(ctx, limits, topic, 0, 0, 4)
			Expect(err).NotTo(HaveOccurred())
			Expect(got[0].Offset).To(Equal(int64(0)))
			Expect(got[0].Value).To(Equal(big.Value), "the 256 KiB record, over the 16 KiB limits")
			for i := range small {
				Expect(got[1+i]).To(matchRecord(small[i], int64(1+i)))
			}
		}, entries("fetch"))
})
