package clients

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/fixtures/certs"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// kafkaGoMembers are the kafka-go group members, one per GroupConfig.API.
var kafkaGoMembers = []groupMember{{dims.KafkaGo, ""}, {dims.KafkaGo, "reader"}}

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

// TestKafkaGoGroupReportsOffsetOutOfRange: a committed offset past the log end is reported by
// Poll (kafka-go has no reset policy for it), where kafka-go's own default retries forever.
func TestKafkaGoGroupReportsOffsetOutOfRange(t *testing.T) {
	eachMember(t, kafkaGoMembers, func(t *testing.T, f fixture, g groupMember) {
		topic := f.topic(1)
		f.produce(sampleRecords(topic, 5))
		group := "g-" + topic
		if err := f.cl.CommitOffsets(f.ctx, group, []Offset{{Topic: topic, Offset: 50}}); err != nil {
			t.Fatal(err)
		}
		m := join(t, f.ctx, f.cl, GroupConfig{Group: group, Topics: []string{topic}, API: g.api})
		expectReported(t, f.ctx, m, kerr.OffsetOutOfRange.Code)
	})
}

// TestKafkaGoGroupReportsAuthorization: a SASL principal that may read the topic but not use the
// group gets GROUP_AUTHORIZATION_FAILED from Poll at once (kafka-go itself rejoins forever).
func TestKafkaGoGroupReportsAuthorization(t *testing.T) {
	for _, g := range kafkaGoMembers {
		t.Run(g.String(), func(t *testing.T) {
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
			m := join(t, f.ctx, member, GroupConfig{Group: "g-" + topic, Topics: []string{topic}, API: g.api})
			expectReported(t, f.ctx, m, kerr.GroupAuthorizationFailed.Code)
		})
	}
}

// TestKafkaGoGroupReportsPersistentRebalance: JoinGroup answers REBALANCE_IN_PROGRESS more often
// than a member retries quietly; Poll reports it, and the member joins once the group settles.
func TestKafkaGoGroupReportsPersistentRebalance(t *testing.T) {
	eachMember(t, kafkaGoMembers, func(t *testing.T, f fixture, g groupMember) {
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
		m := join(t, f.ctx, f.cl, GroupConfig{Group: "g-" + topic, Topics: []string{topic}, API: g.api})
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
	for _, g := range kafkaGoMembers {
		m := join(t, f.ctx, cl, GroupConfig{Group: "g-" + g.String(), Topics: []string{topic}, API: g.api})
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
	eachMember(t, kafkaGoMembers, func(t *testing.T, f fixture, g groupMember) {
		topic := f.topic(1)
		f.produce(sampleRecords(topic, 2))
		m := join(t, f.ctx, f.cl, GroupConfig{Group: "g-" + topic, Topics: []string{topic}, API: g.api, SessionTimeout: 6 * time.Second})
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
