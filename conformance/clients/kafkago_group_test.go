package clients

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/fixtures/certs"
)

// kafkaGoAPIs are the kafka-go group members by GroupConfig.API.
var kafkaGoAPIs = []string{"", "reader"}

func apiName(api string) string {
	if api == "" {
		return "consumergroup"
	}
	return api
}

// eachAPI runs test as a parallel subtest per kafka-go group API, each on a cluster of its own
// with a kafka-go client.
func eachAPI(t *testing.T, test func(t *testing.T, f fixture, api string)) {
	for _, api := range kafkaGoAPIs {
		t.Run(apiName(api), func(t *testing.T) {
			t.Parallel()
			test(t, setup(t, "kafka-go", nil), api)
		})
	}
}

// join starts a member of group on topics, closed when the test ends.
func join(t *testing.T, ctx context.Context, cl Client, cfg GroupConfig) GroupConsumer {
	t.Helper()
	m, err := cl.Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// pollN polls m until it has n records.
func pollN(t *testing.T, ctx context.Context, m GroupConsumer, n int) []Record {
	t.Helper()
	var out []Record
	for len(out) < n {
		recs, err := m.Poll(ctx)
		if err != nil {
			t.Fatalf("polling, %d of %d records: %v", len(out), n, err)
		}
		out = append(out, recs...)
	}
	return out
}

// expectReported polls m, which must report an error with code (0: any) before ctx ends
// instead of records, and returns it.
func expectReported(t *testing.T, ctx context.Context, m GroupConsumer, code int16) error {
	t.Helper()
	start := time.Now()
	recs, err := m.Poll(ctx)
	switch {
	case err == nil:
		t.Fatalf("Poll returned %d records, want an error", len(recs))
	case ctx.Err() != nil:
		t.Fatalf("Poll reported nothing before the context ended: %v", err)
	case code != 0 && ErrorCode(err) != code:
		t.Fatalf("Poll: %v (code %d), want code %d", err, ErrorCode(err), code)
	}
	t.Logf("reported after %s: %v", time.Since(start).Round(time.Millisecond), err)
	return err
}

// TestKafkaGoGroup consumes three partitions with each kafka-go group member, commits, and has a
// second member of the group resume exactly after the commit.
func TestKafkaGoGroup(t *testing.T) {
	eachAPI(t, func(t *testing.T, f fixture, api string) {
		topic := f.topic(3)
		recs := sampleRecords(topic, 9)
		for i := range recs {
			recs[i].Partition = int32(i % 3)
		}
		f.produce(recs)
		cfg := GroupConfig{Group: "g-" + topic, Topics: []string{topic}, API: api}
		first := join(t, f.ctx, f.cl, cfg)
		got := pollN(t, f.ctx, first, 9)
		checkGroupRecords(t, got, recs, 0)
		want := map[string][]int32{topic: {0, 1, 2}}
		if api == "reader" {
			want = nil
		}
		if a := first.Assigned(); fmt.Sprint(a) != fmt.Sprint(want) {
			t.Errorf("assigned %v, want %v", a, want)
		}
		var commit []Offset
		for p := int32(0); p < 3; p++ {
			commit = append(commit, Offset{Topic: topic, Partition: p, Offset: 3})
		}
		if err := first.Commit(f.ctx, commit); err != nil {
			t.Fatal(err)
		}
		offs, err := f.cl.FetchOffsets(f.ctx, cfg.Group, topic, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range offs {
			if o.Offset != 3 {
				t.Errorf("partition %d committed at %d, want 3", o.Partition, o.Offset)
			}
		}
		first.Close()

		more := sampleRecords(topic, 3)
		for i := range more {
			more[i].Partition = int32(i)
		}
		f.produce(more)
		second := join(t, f.ctx, f.cl, cfg)
		checkGroupRecords(t, pollN(t, f.ctx, second, 3), more, 3)
	})
}

// checkGroupRecords compares what a member polled with want (one record per partition and
// round, partition i%3), the first of each partition at offset base.
func checkGroupRecords(t *testing.T, got, want []Record, base int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("polled %d records, want %d", len(got), len(want))
	}
	slices.SortFunc(got, func(a, b Record) int { return int(a.Partition-b.Partition)*1000 + int(a.Offset-b.Offset) })
	for _, g := range got {
		i := int(g.Offset-base)*3 + int(g.Partition)
		if i < 0 || i >= len(want) {
			t.Errorf("unexpected record %d@%d", g.Partition, g.Offset)
			continue
		}
		if d := sameRecord(g, want[i], g.Offset, true); d != "" {
			t.Errorf("record %d@%d: %s", g.Partition, g.Offset, d)
		}
	}
}

// TestKafkaGoGroupReportsOffsetOutOfRange: a committed offset past the log end is reported by
// Poll (kafka-go has no reset policy for it), where kafka-go's own default retries forever.
func TestKafkaGoGroupReportsOffsetOutOfRange(t *testing.T) {
	eachAPI(t, func(t *testing.T, f fixture, api string) {
		topic := f.topic(1)
		f.produce(sampleRecords(topic, 5))
		group := "g-" + topic
		if err := f.cl.CommitOffsets(f.ctx, group, []Offset{{Topic: topic, Offset: 50}}); err != nil {
			t.Fatal(err)
		}
		m := join(t, f.ctx, f.cl, GroupConfig{Group: group, Topics: []string{topic}, API: api})
		expectReported(t, f.ctx, m, kerr.OffsetOutOfRange.Code)
	})
}

// TestKafkaGoGroupReportsAuthorization: a SASL principal that may read the topic but not use the
// group gets GROUP_AUTHORIZATION_FAILED from Poll at once (kafka-go itself rejoins forever).
func TestKafkaGoGroupReportsAuthorization(t *testing.T) {
	for _, api := range kafkaGoAPIs {
		t.Run(apiName(api), func(t *testing.T) {
			t.Parallel()
			// The admin creates the topic (the first topic of the fixture's counter); the member
			// may use it, but no group.
			f := setup(t, "kafka-go", &Credentials{User: "admin", Password: "admin-pw"},
				kfake.EnableSASL(), kfake.Superuser("PLAIN", "admin", "admin-pw"), kfake.EnableACLs(),
				kfake.User("PLAIN", "member", "member-pw", kfake.ACL{
					Resource: kmsg.ACLResourceTypeTopic, Name: "t-", Pattern: kmsg.ACLResourcePatternTypePrefixed,
					Operation: kmsg.ACLOperationAll, Allow: true,
				}))
			topic := f.topic(1)
			member := f.open("kafka-go", func(tg *Target) { tg.SASL = &Credentials{User: "member", Password: "member-pw"} })
			// The member's own Writer and Reader authenticate and may use the topic.
			if _, err := member.Produce(f.ctx, ProduceConfig{Acks: AcksAll}, sampleRecords(topic, 2)); err != nil {
				t.Fatal(err)
			}
			if back, err := member.Consume(f.ctx, ConsumeConfig{}, topic, 0, 0, 2); err != nil || len(back) != 2 {
				t.Fatalf("consuming as the member: %d records, %v", len(back), err)
			}
			m := join(t, f.ctx, member, GroupConfig{Group: "g-" + topic, Topics: []string{topic}, API: api})
			expectReported(t, f.ctx, m, kerr.GroupAuthorizationFailed.Code)
		})
	}
}

// TestKafkaGoGroupReportsPersistentRebalance: JoinGroup answers REBALANCE_IN_PROGRESS more often
// than a member retries quietly; Poll reports it, and the member joins once the group settles.
func TestKafkaGoGroupReportsPersistentRebalance(t *testing.T) {
	eachAPI(t, func(t *testing.T, f fixture, api string) {
		topic := f.topic(1)
		want := sampleRecords(topic, 3)
		f.produce(want)
		// Every JoinGroup is refused until Poll has reported it.
		var settled atomic.Bool
		f.c.ControlKey(kmsg.JoinGroup.Int16(), func(r kmsg.Request) (kmsg.Response, error, bool) {
			if settled.Load() {
				f.c.DropControl()
				return nil, nil, false
			}
			f.c.KeepControl()
			resp := r.(*kmsg.JoinGroupRequest).ResponseKind().(*kmsg.JoinGroupResponse)
			resp.ErrorCode = kerr.RebalanceInProgress.Code
			return resp, nil, true
		})
		m := join(t, f.ctx, f.cl, GroupConfig{Group: "g-" + topic, Topics: []string{topic}, API: api})
		expectReported(t, f.ctx, m, kerr.RebalanceInProgress.Code)
		settled.Store(true)
		// Refusals after the report may have made another one; then the member joins.
		var got []Record
		for len(got) < 3 {
			recs, err := m.Poll(f.ctx)
			if err != nil && ErrorCode(err) != kerr.RebalanceInProgress.Code {
				t.Fatalf("polling after the group settled: %v", err)
			}
			got = append(got, recs...)
		}
		for i, r := range got {
			if d := sameRecord(r, want[i], int64(i), true); d != "" {
				t.Errorf("record %d: %s", i, d)
			}
		}
	})
}

// TestKafkaGoOverTLS produces, consumes and consumes in a group over TLS: the Writer's transport,
// the Reader's dialer and the group member's cutter all verify the server.
func TestKafkaGoOverTLS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if err := certs.Generate(dir, []string{"127.0.0.1", "localhost"}); err != nil {
		t.Fatal(err)
	}
	server, err := certs.ServerConfig(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	client, err := certs.ClientConfig(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, "franz-go", nil, kfake.TLS(server))
	cl := f.open("kafka-go", func(tg *Target) { tg.TLS = client })
	f.cl = cl
	topic := f.topic(1)
	want := sampleRecords(topic, 5)
	f.produce(want)
	back, err := cl.Consume(f.ctx, ConsumeConfig{}, topic, 0, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range kafkaGoAPIs {
		m := join(t, f.ctx, cl, GroupConfig{Group: "g-" + apiName(api), Topics: []string{topic}, API: api})
		back = append(back, pollN(t, f.ctx, m, 5)...)
	}
	for i, r := range back {
		if d := sameRecord(r, want[i%5], int64(i%5), true); d != "" {
			t.Errorf("record %d: %s", i, d)
		}
	}
}

// TestKafkaGoGroupVanishAndClose: Vanish severs every connection of the member (Poll then
// reports the failure within the quiet bound instead of retrying forever), and Close returns.
func TestKafkaGoGroupVanishAndClose(t *testing.T) {
	eachAPI(t, func(t *testing.T, f fixture, api string) {
		topic := f.topic(1)
		f.produce(sampleRecords(topic, 2))
		m := join(t, f.ctx, f.cl, GroupConfig{Group: "g-" + topic, Topics: []string{topic}, API: api, SessionTimeout: 6 * time.Second})
		pollN(t, f.ctx, m, 2)
		m.Vanish()
		if err := expectReported(t, f.ctx, m, 0); !errors.Is(err, errCut) {
			t.Errorf("Poll after Vanish: %v, want the cut connections", err)
		}
		start := time.Now()
		m.Close()
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Close took %s", took)
		}
	})
}
