package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

const (
	producersTopic = "load-produce"
	// produceTimeout is the produce request's own timeout; the client waits a little longer.
	produceTimeout = 10 * time.Second
	produceValue   = 100 // bytes a record
)

// Producers runs s.Producers producers, each on its own connection and its own partition of
// one topic, together at s.ProduceRate records a second for s.ProduceTime: one record a
// request (acks all), each producer on a fixed schedule offset from the others', a request
// at a time (a slow answer delays that producer's next send, missed sends are not made up).
// Every partition is written once before the clock starts, so opening partitions is not
// measured (nor a new partition's leader settling: Kafka answers NOT_LEADER_FOR_PARTITION for
// a moment after its metadata names the leader). It counts produces that time out: answered REQUEST_TIMED_OUT or not answered
// within the request timeout and 5 s.
func Producers(ctx context.Context, t Target, s Sizes, say Progress) (*ProducersResult, error) {
	sctx, cancel := context.WithTimeout(ctx, s.Setup)
	err := ensureTopic(sctx, t.Bootstrap, producersTopic, int32(s.Producers))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", producersTopic, err)
	}
	res := &ProducersResult{Producers: s.Producers, Rate: s.ProduceRate}
	value := make([]byte, produceValue)

	// Connect and warm up every producer, a bounded number at a time.
	conns := make([]*Conn, s.Producers)
	var errs Counter
	var wg sync.WaitGroup
	sem := make(chan struct{}, connectParallel)
	// The first produce opens the partition on the gateway (a Pulsar producer and tail
	// reader): bounded by Setup, not measured.
	wctx, cancel := context.WithTimeout(ctx, s.Setup)
	for i := range s.Producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := Dial(wctx, t.Bootstrap, fmt.Sprintf("kop-load-producer-%d", i))
			if err == nil {
				if err = c.ApiVersions(wctx); err == nil {
					err = warmUp(wctx, c, producersTopic, int32(i), value)
				}
				if err != nil {
					c.Close()
				}
			}
			if err != nil {
				errs.Add(kind("warm-up", err))
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	cancel()
	say("%s: %d producers on %d partitions, %d records/s for %s", t.Name, s.Producers, s.Producers, s.ProduceRate, s.ProduceTime)

	var latency Latencies
	var sent, acked, timedOut atomic.Int64
	interval := time.Duration(float64(time.Second) * float64(s.Producers) / float64(s.ProduceRate))
	began := time.Now()
	end := began.Add(s.ProduceTime)
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			// Producer i sends at began + phase + k*interval.
			next := began.Add(interval * time.Duration(i) / time.Duration(s.Producers))
			for {
				if wait := time.Until(next); wait > 0 {
					pause(ctx, wait)
				}
				if ctx.Err() != nil || !time.Now().Before(end) {
					return
				}
				if c == nil { // the last request timed out: a fresh connection
					var err error
					if c, err = dialReady(ctx, t.Bootstrap, fmt.Sprintf("kop-load-producer-%d", i)); err != nil {
						errs.Add(kind("reconnect", err))
						next = time.Now().Add(interval)
						continue
					}
				}
				rctx, cancel := context.WithTimeout(ctx, produceTimeout+5*time.Second)
				sentAt := time.Now()
				sent.Add(1)
				_, err := c.produceOne(rctx, producersTopic, int32(i), value, produceTimeout)
				cancel()
				switch {
				case err == nil:
					acked.Add(1)
					latency.Add(time.Since(sentAt))
				case errors.Is(err, ErrTimeout), errors.Is(err, kerr.RequestTimedOut):
					timedOut.Add(1)
					errs.Add(kind("Produce", err))
				default:
					errs.Add(kind("Produce", err))
				}
				var ae *apiError
				if err != nil && !errors.As(err, &ae) {
					c.Close() // out of step
					c = nil
				}
				// The next slot after now: a slow answer is not made up with a burst.
				for next = next.Add(interval); !next.After(time.Now()); next = next.Add(interval) {
				}
			}
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(began).Seconds()
	res.Sent, res.Acked, res.TimedOut = int(sent.Load()), int(acked.Load()), int(timedOut.Load())
	res.Achieved = float64(res.Acked) / s.ProduceTime.Seconds()
	res.Latency, res.Kinds = latency.Summary(), errs.Counts()
	res.After = Scrape(ctx, t.MetricsURL)
	say("%s: %d of %d produces acknowledged (%.0f/s), p99 %.1f ms, %d timed out", t.Name, res.Acked, res.Sent, res.Achieved, res.Latency.P99, res.TimedOut)
	return res, nil
}

// warmUp writes a partition's first record, asking again while the partition is still
// settling (a retriable error), until ctx ends.
func warmUp(ctx context.Context, c *Conn, topic string, partition int32, value []byte) error {
	for {
		_, err := c.produceOne(ctx, topic, partition, value, produceTimeout)
		var ke *kerr.Error
		if err == nil || !errors.As(err, &ke) || !ke.Retriable || ctx.Err() != nil {
			return err
		}
		pause(ctx, 100*time.Millisecond)
	}
}
