package load

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// topicPrefix names the topics the scenario makes.
const topicPrefix = "load-topic-"

// Topics creates s.Topics one-partition topics through the target's CreateTopics, s.TopicBatch
// a request and s.TopicParallel requests at a time, for at most s.TopicTime, then times
// all-topics Metadata: s.MetadataSamples one after another on one connection, then
// s.MetadataBurst at once on as many connections. A topic answered TOPIC_ALREADY_EXISTS
// counts as made (a rerun against the same target).
func Topics(ctx context.Context, t Target, s Sizes, say Progress) (*TopicsResult, error) {
	res := &TopicsResult{Wanted: s.Topics}
	say("%s: creating %d topics, %d a request, %d requests at a time", t.Name, s.Topics, s.TopicBatch, s.TopicParallel)
	cctx, cancel := context.WithTimeout(ctx, s.TopicTime)
	defer cancel()
	batches := make(chan []string)
	go func() {
		defer close(batches)
		for from := 0; from < s.Topics; from += s.TopicBatch {
			var batch []string
			for i := from; i < min(from+s.TopicBatch, s.Topics); i++ {
				batch = append(batch, fmt.Sprintf("%s%05d", topicPrefix, i))
			}
			select {
			case batches <- batch:
			case <-cctx.Done():
				return
			}
		}
	}()
	var created atomic.Int64
	var errs Counter
	var wg sync.WaitGroup
	began := time.Now()
	for w := range s.TopicParallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *Conn
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for batch := range batches {
				if c == nil {
					var err error
					if c, err = dialReady(cctx, t.Bootstrap, fmt.Sprintf("kop-load-topics-%d", w)); err != nil {
						errs.Add(kind("connect", err))
						continue
					}
				}
				codes, err := c.createTopics(cctx, 1, batch...)
				if err != nil {
					errs.Add(kind("CreateTopics", err))
					c.Close()
					c = nil
					continue
				}
				for _, err := range codes {
					if err == nil {
						created.Add(1)
					} else {
						errs.Add(kind("CreateTopics", err))
					}
				}
			}
		}()
	}
	wg.Wait()
	res.CreateSeconds = time.Since(began).Seconds()
	res.Created, res.Kinds = int(created.Load()), errs.Counts()
	say("%s: %d of %d topics made in %.1f s", t.Name, res.Created, s.Topics, res.CreateSeconds)

	mctx, cancel := context.WithTimeout(ctx, 2*s.Setup)
	defer cancel()
	c, err := dialReady(mctx, t.Bootstrap, "kop-load-metadata")
	if err != nil {
		return res, fmt.Errorf("connecting for Metadata: %w", err)
	}
	defer c.Close()
	// Kafka lists a created topic once its broker has applied the controller's record, a
	// moment after CreateTopics answered: the samples wait until every topic is listed, so
	// both targets answer about the same topics.
	listed, err := c.waitListed(mctx, res.Created)
	res.VisibleSeconds = time.Since(began).Seconds() - res.CreateSeconds
	if err != nil {
		errs.Add(kind("Metadata", err))
	} else if listed < res.Created {
		say("%s: %d of %d topics listed when the wait ended", t.Name, listed, res.Created)
	}
	var one Latencies
	for range s.MetadataSamples {
		sent := time.Now()
		md, err := c.metadataAll(mctx)
		if err != nil {
			errs.Add(kind("Metadata", err))
			break
		}
		one.Add(time.Since(sent))
		res.Listed, res.ResponseBytes = len(md.Topics), c.LastSize
	}
	res.Metadata = one.Summary()
	res.Burst = metadataBurst(mctx, t.Bootstrap, s.MetadataBurst, &errs)
	res.Kinds = errs.Counts()
	res.After = Scrape(ctx, t.MetricsURL)
	say("%s: all-topics Metadata listed %d topics in %d bytes: p50 %.1f ms, p99 %.1f ms; %d at once: p99 %.1f ms",
		t.Name, res.Listed, res.ResponseBytes, res.Metadata.P50, res.Metadata.P99, s.MetadataBurst, res.Burst.P99)
	return res, nil
}

// metadataBurst sends n all-topics Metadata requests at once, each on its own connection
// made beforehand.
func metadataBurst(ctx context.Context, addr string, n int, errs *Counter) Summary {
	conns := make([]*Conn, 0, n)
	for i := range n {
		c, err := dialReady(ctx, addr, fmt.Sprintf("kop-load-metadata-%d", i))
		if err != nil {
			errs.Add(kind("connect", err))
			continue
		}
		conns = append(conns, c)
	}
	var l Latencies
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			<-start
			sent := time.Now()
			if _, err := c.metadataAll(ctx); err != nil {
				errs.Add(kind("Metadata (burst)", err))
				return
			}
			l.Add(time.Since(sent))
		}()
	}
	close(start)
	wg.Wait()
	return l.Summary()
}

// waitListed asks for all topics until at least n of the scenario's are listed or ctx ends,
// and says how many of them the last answer listed.
func (c *Conn) waitListed(ctx context.Context, n int) (int, error) {
	for {
		md, err := c.metadataAll(ctx)
		if err != nil {
			return 0, err
		}
		listed := 0
		for _, t := range md.Topics {
			if t.Topic != nil && strings.HasPrefix(*t.Topic, topicPrefix) {
				listed++
			}
		}
		if listed >= n || ctx.Err() != nil {
			return listed, nil
		}
		pause(ctx, 250*time.Millisecond)
	}
}
