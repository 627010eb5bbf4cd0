package clients

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// groupMember is one kind of group member an adapter has: its client and GroupConfig.API.
type groupMember struct{ kind, api string }

func (g groupMember) String() string {
	if g.api == "" {
		return g.kind
	}
	return g.kind + "/" + g.api
}

// groupMembers are every adapter's group members.
var groupMembers = []groupMember{{dims.FranzGo, ""}, {dims.Sarama, ""}, {dims.KafkaGo, ""}, {dims.KafkaGo, "reader"}}

// concurrently runs run as a subtest per name, all at once, and the test in parallel with the
// other parallel tests. The subtests wait for rebalances, session timeouts and the network,
// not for the CPU, so they are not rationed to -test.parallel (the CPU count) as t.Parallel
// subtests would be; the timing-sensitive tests, which are not parallel, run before them.
func concurrently(t *testing.T, names []string, run func(t *testing.T, i int)) {
	t.Parallel()
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, func(t *testing.T) { run(t, i) })
		}()
	}
	wg.Wait()
}

// eachMember runs test concurrently for each member, each on a cluster of its own (with opts)
// and a client of the member's kind.
func eachMember(t *testing.T, members []groupMember, test func(t *testing.T, f fixture, g groupMember), opts ...kfake.Opt) {
	names := make([]string, len(members))
	for i, g := range members {
		names[i] = g.String()
	}
	concurrently(t, names, func(t *testing.T, i int) {
		test(t, setup(t, members[i].kind, nil, opts...), members[i])
	})
}

// eachKind runs test concurrently for each client kind at each of levels, each on a cluster of
// its own (with opts).
func eachKind(t *testing.T, kinds, levels []string, test func(t *testing.T, f fixture), opts ...kfake.Opt) {
	var names, at []string
	for _, kind := range kinds {
		for _, level := range levels {
			names, at = append(names, kind+"@"+level), append(at, level)
		}
	}
	concurrently(t, names, func(t *testing.T, i int) {
		test(t, setupAt(t, kinds[i/len(levels)], at[i], nil, opts...))
	})
}

// join starts a member of a group, closed when the test ends.
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

// waitFor checks cond every few milliseconds until it holds, and fails the test if ctx ends
// first: a bounded wait for a state, never a sleep in its place.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// waitAssigned waits until the members' assignments of topic are disjoint, cover its
// partitions and have the given sizes (in member order).
func waitAssigned(t *testing.T, ctx context.Context, topic string, partitions int32, members []GroupConsumer, sizes []int) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf("%d partitions assigned as %v", partitions, sizes), func() bool {
		got, exact := Split(members, topic, partitions)
		return exact && slices.Equal(got, sizes)
	})
}

// makeGroup commits offset 0 of partition 0 of topic for group with a franz-go client, so the
// group exists. kfake answers an OffsetFetch for a group it does not know with
// GROUP_ID_NOT_FOUND where Kafka answers -1 for every partition, and sarama's offset manager
// fetches a partition's offset before it commits one.
func (f fixture) makeGroup(group, topic string) {
	f.t.Helper()
	if err := f.open(dims.FranzGo, func(*Target) {}).CommitOffsets(f.ctx, group, []Offset{{Topic: topic}}); err != nil {
		f.t.Fatalf("making group %s: %v", group, err)
	}
}

// checkGroupRecords compares what a member polled with want (one record per partition and
// round, partition i%3), the first of each partition at offset base.
func checkGroupRecords(t *testing.T, kind string, got, want []Record, base int64) {
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
		if d := sameRecord(g, want[i], g.Offset, emptyAsNull(kind)); d != "" {
			t.Errorf("record %d@%d: %s", g.Partition, g.Offset, d)
		}
	}
}

// TestGroupCommitAndResume consumes three partitions with each adapter's group members,
// commits, and has a second member of the group resume exactly after the commit.
func TestGroupCommitAndResume(t *testing.T) {
	eachMember(t, groupMembers, func(t *testing.T, f fixture, g groupMember) {
		topic := f.topic(3)
		recs := sampleRecords(topic, 9)
		for i := range recs {
			recs[i].Partition = int32(i % 3)
		}
		f.produce(recs)
		cfg := GroupConfig{Group: "g-" + topic, Topics: []string{topic}, API: g.api}
		first := join(t, f.ctx, f.cl, cfg)
		checkGroupRecords(t, g.kind, pollN(t, f.ctx, first, 9), recs, 0)
		want := map[string][]int32{topic: {0, 1, 2}}
		if g.api == "reader" {
			want = nil // a Reader does not expose its assignment
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
		checkGroupRecords(t, g.kind, pollN(t, f.ctx, second, 3), more, 3)
	})
}

// seeProtocols lists the group protocols a JoinGroup request offers.
func seeProtocols(r kmsg.Request) []string {
	var out []string
	for _, p := range r.(*kmsg.JoinGroupRequest).Protocols {
		out = append(out, p.Name)
	}
	return out
}

// TestGroupBalancers: a member set up with each assignor its client has offers exactly that
// protocol in its JoinGroup and, alone in the group, is assigned every partition.
func TestGroupBalancers(t *testing.T) {
	var names []string
	var cases []struct{ kind, bal string }
	for _, k := range Kinds {
		for _, bal := range k.Balancers {
			if min, ok := k.BalancerMinLevel[bal]; !ok || dims.LevelAtLeast(testLevel, min) {
				names, cases = append(names, k.Name+"/"+bal), append(cases, struct{ kind, bal string }{k.Name, bal})
			}
		}
	}
	concurrently(t, names, func(t *testing.T, i int) {
		c := cases[i]
		f := setup(t, c.kind, nil)
		joins := observe(f.c, kmsg.JoinGroup, seeProtocols)
		topic := f.topic(3)
		m := join(t, f.ctx, f.cl, GroupConfig{Group: "g-" + topic, Topics: []string{topic}, Balancer: c.bal})
		waitAssigned(t, f.ctx, topic, 3, []GroupConsumer{m}, []int{3})
		for _, offered := range joins.all() {
			if !slices.Equal(offered, []string{c.bal}) {
				t.Errorf("JoinGroup offered %v, want [%s]", offered, c.bal)
			}
		}
	})
}

// TestGroupRebalances has three members join one by one and one leave, with an eager and
// (where the client has it) the cooperative assignor: the six partitions are split evenly
// among the members present every time, as each member's Assigned tells.
func TestGroupRebalances(t *testing.T) {
	cases := [][2]string{
		{dims.FranzGo, "range"}, {dims.FranzGo, "cooperative-sticky"},
		{dims.Sarama, "range"}, {dims.Sarama, "cooperative-sticky"}, {dims.KafkaGo, "range"},
	}
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c[0] + "/" + c[1]
	}
	concurrently(t, names, func(t *testing.T, i int) {
		f := setup(t, cases[i][0], nil)
		topic := f.topic(6)
		cfg := GroupConfig{Group: "g-" + topic, Topics: []string{topic}, Balancer: cases[i][1]}
		var members []GroupConsumer
		for _, sizes := range [][]int{{6}, {3, 3}, {2, 2, 2}} {
			members = append(members, join(t, f.ctx, f.cl, cfg))
			waitAssigned(t, f.ctx, topic, 6, members, sizes)
		}
		members[2].Close()
		waitAssigned(t, f.ctx, topic, 6, members[:2], []int{3, 3})
	})
}

// TestGroupVanishedMemberEvicted: a member that vanishes sends no LeaveGroup, and the
// coordinator evicts it after the session timeout it asked for (not the adapters' default);
// then the survivor owns its partitions, and closing the vanished member returns promptly.
func TestGroupVanishedMemberEvicted(t *testing.T) {
	const session = time.Second
	withAssignments := []groupMember{{dims.FranzGo, ""}, {dims.Sarama, ""}, {dims.KafkaGo, ""}}
	eachMember(t, withAssignments, func(t *testing.T, f fixture, g groupMember) {
		leaves := observe(f.c, kmsg.LeaveGroup, func(kmsg.Request) bool { return true })
		topic := f.topic(2)
		cfg := GroupConfig{Group: "g-" + topic, Topics: []string{topic}, SessionTimeout: session}
		survivor := join(t, f.ctx, f.cl, cfg)
		waitAssigned(t, f.ctx, topic, 2, []GroupConsumer{survivor}, []int{2})
		gone := join(t, f.ctx, f.cl, cfg)
		waitAssigned(t, f.ctx, topic, 2, []GroupConsumer{survivor, gone}, []int{1, 1})
		gone.Vanish()
		start := time.Now()
		waitAssigned(t, f.ctx, topic, 2, []GroupConsumer{survivor}, []int{2})
		if n := len(leaves.all()); n > 0 {
			t.Errorf("%d LeaveGroup requests reached the coordinator: the vanished member left", n)
		}
		if took, bound := time.Since(start), session+3*time.Second; took > bound {
			t.Errorf("the survivor took over after %s, over %s: the member's session timeout was not %s", took, bound, session)
		}
		start = time.Now()
		gone.Close()
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("closing the vanished member took %s", took)
		}
	}, kfake.GroupMinSessionTimeout(500*time.Millisecond))
}
