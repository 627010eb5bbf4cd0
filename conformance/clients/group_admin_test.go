package clients

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// seeFetchOffsets lists the offsets a Fetch request asks of partition 0 of topic.
func seeFetchOffsets(topic string) func(kmsg.Request) []int64 {
	return func(r kmsg.Request) []int64 {
		var out []int64
		for _, t := range r.(*kmsg.FetchRequest).Topics {
			for _, p := range t.Partitions {
				if t.Topic == topic && p.Partition == 0 {
					out = append(out, p.FetchOffset)
				}
			}
		}
		return out
	}
}

// TestGroupResetPolicy: a committed offset out of range (past the log end, or below the log
// start after DeleteRecords) is reset by the member's policy to the exact position. kafka-go
// has no reset policy (TestKafkaGoGroupReportsOffsetOutOfRange).
func TestGroupResetPolicy(t *testing.T) {
	type resetCase struct {
		kind, name    string
		below, latest bool
	}
	var cases []resetCase
	var names []string
	for _, kind := range []string{dims.FranzGo, dims.Sarama} {
		for _, rc := range []resetCase{
			{name: "past the end, earliest"}, {name: "past the end, latest", latest: true},
			{name: "below the start, earliest", below: true}, {name: "below the start, latest", below: true, latest: true},
		} {
			rc.kind = kind
			cases, names = append(cases, rc), append(names, kind+"/"+rc.name)
		}
	}
	concurrently(t, names, func(t *testing.T, i int) {
		rc := cases[i]
		f := setup(t, rc.kind, nil)
		topic := f.topic(1)
		fetched := observe(f.c, kmsg.Fetch, seeFetchOffsets(topic))
		want := sampleRecords(topic, 8)
		f.produce(want)
		start, committed := int64(0), int64(50)
		if rc.below {
			if low, err := f.cl.(RecordDeleter).DeleteRecords(f.ctx, topic, 0, 5); err != nil || low != 5 {
				t.Fatalf("deleting records below 5: log start %d, %v", low, err)
			}
			start, committed = 5, 2
		}
		group := "g-" + topic
		f.makeGroup(group, topic)
		if err := f.cl.CommitOffsets(f.ctx, group, []Offset{{Topic: topic, Offset: committed}}); err != nil {
			t.Fatal(err)
		}
		m := join(t, f.ctx, f.cl, GroupConfig{Group: group, Topics: []string{topic}, ResetLatest: rc.latest})
		if !rc.latest {
			for i, r := range pollN(t, f.ctx, m, int(8-start))[:8-start] {
				if d := sameRecord(r, want[start+int64(i)], start+int64(i), false); d != "" {
					t.Errorf("record %d after resetting to the earliest offset: %s", i, d)
				}
			}
			return
		}
		// The member is seen fetching at the high watermark before the record that must be the
		// first it gets is produced.
		waitFor(t, f.ctx, "a fetch at the high watermark", func() bool {
			return slices.ContainsFunc(fetched.all(), func(offs []int64) bool { return slices.Contains(offs, 8) })
		})
		next := sampleRecords(topic, 1)
		f.produce(next)
		if d := sameRecord(pollN(t, f.ctx, m, 1)[0], next[0], 8, false); d != "" {
			t.Errorf("the first record after resetting to the latest offset: %s", d)
		}
	})
}

// TestGroupProtocolFencing drives the group protocol by hand through each adapter's
// GroupProtocol, at the oldest and newest level: commits from a stale generation, an unknown
// member and during a rebalance get Kafka's codes and store nothing.
func TestGroupProtocolFencing(t *testing.T) {
	eachKind(t, dims.Clients(), []string{"1.0", "2.6"}, func(t *testing.T, f fixture) {
		gp := f.cl.(GroupProtocol)
		topic := f.topic(1)
		group := "g-" + topic
		committed := func() int64 {
			t.Helper()
			got, err := f.cl.FetchOffsets(f.ctx, group, topic, 1)
			if err != nil {
				t.Fatal(err)
			}
			return got[0].Offset
		}
		commit := func(member string, generation int32, off int64, want int16) {
			t.Helper()
			codes, err := gp.CommitAs(f.ctx, group, member, generation, []Offset{{Topic: topic, Offset: off}})
			if err != nil || len(codes) != 1 || codes[0] != want {
				t.Fatalf("commit of %d as %q in generation %d: codes %v, %v; want %d", off, member, generation, codes, err, want)
			}
		}
		state := func(want string) {
			t.Helper()
			if d, err := f.cl.DescribeGroup(f.ctx, group); err != nil || d.State != want {
				t.Fatalf("group state %q, %v; want %s", d.State, err, want)
			}
		}
		j1, err := gp.JoinGroup(f.ctx, group, "", topic)
		if err != nil || !j1.Leader {
			t.Fatalf("joining: %+v, %v; want the leader", j1, err)
		}
		if err := gp.SyncGroup(f.ctx, group, j1, topic, []int32{0}); err != nil {
			t.Fatal(err)
		}
		state("Stable")
		commit(j1.MemberID, j1.Generation, 2, 0)
		commit(j1.MemberID, j1.Generation+1, 3, kerr.IllegalGeneration.Code)
		commit("no-such-member", j1.Generation, 3, kerr.UnknownMemberID.Code)
		if c := committed(); c != 2 {
			t.Fatalf("committed %d after refused commits, want 2", c)
		}
		j2, err := gp.JoinGroup(f.ctx, group, j1.MemberID, topic)
		if err != nil || j2.Generation != j1.Generation+1 {
			t.Fatalf("rejoining: %+v, %v; want generation %d", j2, err, j1.Generation+1)
		}
		state("CompletingRebalance")
		commit(j2.MemberID, j2.Generation, 4, kerr.RebalanceInProgress.Code)
		commit(j2.MemberID, j1.Generation, 4, kerr.IllegalGeneration.Code)
		if err := gp.SyncGroup(f.ctx, group, j2, topic, []int32{0}); err != nil {
			t.Fatal(err)
		}
		state("Stable")
		commit(j2.MemberID, j2.Generation, 5, 0)
		if c := committed(); c != 5 {
			t.Fatalf("committed %d, want 5", c)
		}
		if err := gp.LeaveGroup(f.ctx, group, j2.MemberID); err != nil {
			t.Fatal(err)
		}
		state("Empty")
	})
}

// TestGroupAdmin describes and lists a group while a member is in it and once it is empty,
// and deletes it (from 1.1) only once empty, with its offsets.
func TestGroupAdmin(t *testing.T) {
	eachKind(t, dims.Clients(), []string{"1.0", "2.6"}, func(t *testing.T, f fixture) {
		topic := f.topic(2)
		group := "g-" + topic
		m := join(t, f.ctx, f.cl, GroupConfig{Group: group, Topics: []string{topic}})
		waitAssigned(t, f.ctx, topic, 2, []GroupConsumer{m}, []int{2})
		var d GroupDescription
		waitFor(t, f.ctx, "the group described Stable with its member's assignment", func() bool {
			var err error
			d, err = f.cl.DescribeGroup(f.ctx, group)
			return err == nil && d.State == "Stable" && len(d.Members) == 1 && fmt.Sprint(d.Members[0].Assigned) == fmt.Sprint(map[string][]int32{topic: {0, 1}})
		})
		listed := func() bool {
			t.Helper()
			gs, err := f.cl.ListGroups(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			return slices.Contains(gs, group)
		}
		if !listed() {
			t.Error("the active group is not listed")
		}
		deletes := dims.LevelAtLeast(f.level, "1.1") // DeleteGroups (KIP-229)
		if deletes {
			if code := ErrorCode(f.cl.DeleteGroup(f.ctx, group)); code != kerr.NonEmptyGroup.Code {
				t.Errorf("deleting the active group: code %d, want NON_EMPTY_GROUP", code)
			}
		}
		m.Close()
		if err := f.cl.CommitOffsets(f.ctx, group, []Offset{{Topic: topic, Offset: 1}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, f.ctx, "the group described Empty", func() bool {
			d, err := f.cl.DescribeGroup(f.ctx, group)
			return err == nil && d.State == "Empty"
		})
		if !listed() {
			t.Error("the empty group with offsets is not listed")
		}
		if !deletes {
			return
		}
		if err := f.cl.DeleteGroup(f.ctx, group); err != nil {
			t.Fatal(err)
		}
		// Kafka answers -1 for a group it does not know; kfake answers GROUP_ID_NOT_FOUND.
		if offs, err := f.cl.FetchOffsets(f.ctx, group, topic, 1); err == nil && offs[0].Offset != -1 || err != nil && ErrorCode(err) != kerr.GroupIDNotFound.Code {
			t.Errorf("offsets of the deleted group: %v, %v", offs, err)
		}
		if listed() {
			t.Error("the deleted group is listed")
		}
		if d, err := f.cl.DescribeGroup(f.ctx, group); err != nil || d.State != "Dead" || len(d.Members) != 0 {
			t.Errorf("the deleted group is described as %+v, %v; want Dead without members", d, err)
		}
	})
}
