package server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// withLimits sets the env's partition limits.
func withLimits(perTopic, perRequest int32) envOpt {
	return withConfig(func(c *Config) {
		c.Data.MaxPartitionsPerTopic, c.Data.MaxPartitionsPerRequest = perTopic, perRequest
	})
}

// Partition counts a request asks for are bounded before anything reaches the catalog: over a
// limit every topic concerned gets INVALID_PARTITIONS with a message naming the limit, and the
// catalog is never asked.
func TestPartitionLimits(t *testing.T) {
	createTwo := createTopicReq("a", 80, 1)
	createTwo.Topics = append(createTwo.Topics, createTopicReq("b", 80, 1).Topics[0])
	growTwo := createPartitionsReq(topic, 80)
	growTwo.Topics = append(growTwo.Topics, createPartitionsReq("other", 80).Topics[0])
	manyTopics := createTopicReq("t0", 0, 1) // topics count for at least one partition each
	for i := 1; i < 151; i++ {
		manyTopics.Topics = append(manyTopics.Topics, createTopicReq(fmt.Sprintf("t%d", i), 0, 1).Topics[0])
	}
	cases := []struct {
		name string
		key  kmsg.Key
		req  kmsg.Request
		why  string // in every topic's message, from the versions that carry one
	}{
		{"CreateTopics over the per-topic limit", kmsg.CreateTopics, createTopicReq("new", 101, 1), "over the limit of 100 per topic"},
		{"CreateTopics of 2^31-1 partitions", kmsg.CreateTopics, createTopicReq("new", 1<<31-1, 1), "over the limit of 100 per topic"},
		{"CreateTopics over the per-request limit", kmsg.CreateTopics, createTwo, "160 partitions in all, over the limit of 150 per request"},
		{"CreateTopics naming more topics than the per-request limit", kmsg.CreateTopics, manyTopics, "151 partitions in all"},
		{"CreatePartitions over the per-topic limit", kmsg.CreatePartitions, createPartitionsReq(topic, 101), "over the limit of 100 per topic"},
		{"CreatePartitions over the per-topic limit, unknown topic", kmsg.CreatePartitions, createPartitionsReq("nosuch", 1<<31-1), "over the limit of 100 per topic"},
		{"CreatePartitions over the per-request limit", kmsg.CreatePartitions, growTwo, "160 partitions in all, over the limit of 150 per request"},
	}
	for _, tc := range cases {
		h := handlers[tc.key.Int16()]
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &watchedCatalog{t: t}
			e := newEnv(t, w.watch, withLimits(100, 150))
			c := e.dial()
			for v := h.min; v <= h.max; v++ {
				for i, a := range adminAnswers(c.do(tc.req, v)) {
					wantCode(t, "topic", a.code, kerr.InvalidPartitions)
					if a.msg != nil && !strings.Contains(*a.msg, tc.why) {
						t.Errorf("v%d topic %d: message %q, want one mentioning %q", v, i, *a.msg, tc.why)
					}
				}
			}
			if calls := w.seen(); len(calls) > 0 {
				t.Errorf("the catalog was asked %v", calls)
			}
		})
	}
}

// At the limits the same requests succeed.
func TestPartitionLimitsAllowTheLimit(t *testing.T) {
	e := newEnv(t, withLimits(100, 150))
	c := e.dial()
	two := createTopicReq("a", 100, 1)
	two.Topics = append(two.Topics, createTopicReq("b", 50, 1).Topics[0])
	for i, a := range adminAnswers(c.do(two, 5)) {
		wantCode(t, two.Topics[i].Topic, a.code, nil)
	}
	for _, a := range adminAnswers(c.do(createPartitionsReq("b", 100), 3)) {
		wantCode(t, "grow b", a.code, nil)
	}
	if e.partitionsOf("a") != 100 || e.partitionsOf("b") != 100 {
		t.Errorf("a has %d partitions, b %d; want 100 each", e.partitionsOf("a"), e.partitionsOf("b"))
	}
}

type adminTopicAnswer struct {
	code int16
	msg  *string
}

// adminAnswers is every topic's code and message in a CreateTopics or CreatePartitions answer.
func adminAnswers(r kmsg.Response) []adminTopicAnswer {
	var out []adminTopicAnswer
	switch r := r.(type) {
	case *kmsg.CreateTopicsResponse:
		for _, t := range r.Topics {
			out = append(out, adminTopicAnswer{t.ErrorCode, t.ErrorMessage})
		}
	case *kmsg.CreatePartitionsResponse:
		for _, t := range r.Topics {
			out = append(out, adminTopicAnswer{t.ErrorCode, t.ErrorMessage})
		}
	}
	return out
}

// A Fetch response is bounded by the server's fetch max bytes whatever the request asks, as
// Kafka bounds it by fetch.max.bytes: max bytes of 0 or below is 0 (the first record still
// comes, KIP-74), never "unbounded".
func TestFetchMaxBytes(t *testing.T) {
	big := strings.Repeat("x", 400) // 416 bytes as the memory store counts a record
	fetches := func(maxBytes, partitionMaxBytes int32, want ...string) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			e.appendValues(0, big, big, big, big, big)
			req := fetchReq(topic, 0, 0)
			req.MaxBytes, req.Topics[0].Partitions[0].PartitionMaxBytes = maxBytes, partitionMaxBytes
			r := fetched(e.dial().do(req, v))
			wantCode(t, "fetch", r.ErrorCode, nil)
			got := values(t, r.RecordBatches)
			for i := range got {
				got[i] = strings.Replace(got[i], big, "big", 1)
			}
			wantValues(t, got, want...)
		}
	}
	small := []envOpt{withConfig(func(c *Config) { c.Data.FetchMaxBytes = 1024 })}
	forVersions(t, kmsg.Fetch, []versionCase{
		{name: "max bytes 0 is the first record only", run: fetches(0, 1<<20, "big@0")},
		{name: "negative max bytes is the first record only", run: fetches(-1, 1<<20, "big@0")},
		{name: "partition max bytes 0 is the first record only", run: fetches(1<<20, 0, "big@0")},
		{name: "the request's max bytes within the server's", run: fetches(1000, 1<<20, "big@0", "big@1")},
		{name: "the server's fetch max bytes bounds a larger request", opts: small, run: fetches(1<<30, 1<<30, "big@0", "big@1")},
		{name: "the server's fetch max bytes bounds max bytes 0 or below as well", opts: small, run: fetches(-1, -1, "big@0")},
		{name: "the first record comes even over the server's fetch max bytes", opts: []envOpt{withConfig(func(c *Config) { c.Data.FetchMaxBytes = 100 })},
			run: fetches(1<<20, 1<<20, "big@0")},
	})
}

// A parked Fetch waits on each partition it names once, however often the request names it
// (each channel waited on costs a goroutine).
func TestFetchWaitsOnEachPartitionOnce(t *testing.T) {
	e := newEnv(t)
	req := fetchReq(topic, 0, 0)
	p0 := req.Topics[0].Partitions[0]
	for range 999 {
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, p0)
	}
	p1 := p0
	p1.Partition = 1
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, p1)
	ctx := context.Background()
	rc := &reqCtx{s: e.srv, conn: &conn{}}
	_, _, wake, _ := e.srv.fetchOnce(ctx, req, 1<<20, rc.resolver(ctx, kmsg.Fetch))
	if len(wake) != 2 {
		t.Errorf("the fetch would wait on %d channels, want 2: one per partition", len(wake))
	}
}
