package group

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

func testCoordinator(t *testing.T, st store) *Coordinator {
	t.Helper()
	c := newCoordinator(Config{MinSessionTimeout: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.withDefaults(), st)
	t.Cleanup(c.Close)
	return c
}

func joinReq(group, member string, protocols ...string) JoinRequest {
	r := JoinRequest{Group: group, MemberID: member, ClientID: "c", SessionTimeout: 10 * time.Second,
		Rebalance: 5 * time.Second, ProtocolType: "consumer"}
	for _, p := range protocols {
		r.Protocols = append(r.Protocols, Protocol{Name: p, Metadata: []byte(p)})
	}
	return r
}

func wantErr(t *testing.T, what string, got, want *kerr.Error) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: error %v, want %v", what, got, want)
	}
}

func TestJoinV4AsksForAMemberIDFirst(t *testing.T) {
	c := testCoordinator(t, NewMemoryStore())
	r := joinReq("g", "", "range")
	r.RequireKnownMemberID = true
	first := c.Join(context.Background(), r)
	wantErr(t, "first join", first.Err, kerr.MemberIDRequired)
	if first.MemberID == "" {
		t.Fatal("MEMBER_ID_REQUIRED must carry the member id to rejoin with")
	}
	r.MemberID = first.MemberID
	second := c.Join(context.Background(), r)
	wantErr(t, "rejoin with the given id", second.Err, nil)
	if second.Generation != 1 || second.Leader != first.MemberID || len(second.Members) != 1 {
		t.Fatalf("got generation %d leader %q members %d; want 1, the member itself, 1", second.Generation, second.Leader, len(second.Members))
	}
	r.MemberID = "made-up"
	wantErr(t, "unknown member id", c.Join(context.Background(), r).Err, kerr.UnknownMemberID)
}

func TestTwoMembersRebalanceVoteAndSync(t *testing.T) {
	ctx := context.Background()
	c := testCoordinator(t, NewMemoryStore())
	a := c.Join(ctx, joinReq("g", "", "sticky", "range"))
	wantErr(t, "a joins", a.Err, nil)
	if a.Protocol != "sticky" {
		t.Fatalf("a lone member's first choice wins, got %q", a.Protocol)
	}
	sa := c.Sync(ctx, "g", a.MemberID, nil, a.Generation, nil, nil, map[string][]byte{a.MemberID: []byte("all")})
	if sa.Err != nil || string(sa.Assignment) != "all" {
		t.Fatalf("leader sync: %v %q", sa.Err, sa.Assignment)
	}

	// b only speaks range: the group must switch to the protocol every member supports.
	bc := make(chan JoinResult, 1)
	go func() { bc <- c.Join(ctx, joinReq("g", "", "range")) }()
	var hb *kerr.Error
	for hb == nil { // a learns of the rebalance from its heartbeat
		hb = c.Heartbeat("g", a.MemberID, nil, a.Generation)
	}
	wantErr(t, "a's heartbeat during the rebalance", hb, kerr.RebalanceInProgress)
	a2 := c.Join(ctx, joinReq("g", a.MemberID, "sticky", "range"))
	b := <-bc
	wantErr(t, "a rejoins", a2.Err, nil)
	wantErr(t, "b joins", b.Err, nil)
	if a2.Generation != 2 || b.Generation != 2 || a2.Protocol != "range" || b.Protocol != "range" {
		t.Fatalf("generations %d/%d protocols %q/%q; want 2, range", a2.Generation, b.Generation, a2.Protocol, b.Protocol)
	}
	if a2.Leader != a.MemberID || len(a2.Members) != 2 || len(b.Members) != 0 {
		t.Fatalf("the first member leads and alone sees the members: leader %q, %d and %d members", a2.Leader, len(a2.Members), len(b.Members))
	}

	wantErr(t, "stale generation heartbeat", c.Heartbeat("g", b.MemberID, nil, 1), kerr.IllegalGeneration)
	wantErr(t, "heartbeat while the leader has not synced", c.Heartbeat("g", b.MemberID, nil, 2), nil)
	sbc := make(chan SyncResult, 1)
	go func() { sbc <- c.Sync(ctx, "g", b.MemberID, nil, 2, nil, nil, nil) }()
	sa2 := c.Sync(ctx, "g", a.MemberID, nil, 2, nil, nil, map[string][]byte{a.MemberID: []byte("p0"), b.MemberID: []byte("p1")})
	sb := <-sbc
	if sa2.Err != nil || sb.Err != nil || string(sa2.Assignment) != "p0" || string(sb.Assignment) != "p1" {
		t.Fatalf("sync: a %v %q, b %v %q", sa2.Err, sa2.Assignment, sb.Err, sb.Assignment)
	}
	if s := c.Describe("g"); s.State != Stable || len(s.Members) != 2 || s.Protocol != "range" {
		t.Fatalf("described %+v", s)
	}
	wantErr(t, "commit in an old generation", mustGroupErr(c.Commit(ctx, "g", b.MemberID, nil, 1, nil)), kerr.IllegalGeneration)
	wantErr(t, "delete a group with members", c.Delete(ctx, "g"), kerr.NonEmptyGroup)
}

func mustGroupErr(gerr *kerr.Error, _ []*kerr.Error) *kerr.Error { return gerr }

func TestSilentMemberIsEvictedAfterItsSession(t *testing.T) {
	ctx := context.Background()
	c := testCoordinator(t, NewMemoryStore())
	r := joinReq("g", "", "range")
	r.SessionTimeout = 50 * time.Millisecond
	a := c.Join(ctx, r)
	wantErr(t, "join", a.Err, nil)
	c.Sync(ctx, "g", a.MemberID, nil, a.Generation, nil, nil, map[string][]byte{a.MemberID: {}})
	deadline := time.Now().Add(5 * time.Second)
	for c.Describe("g").State != Empty {
		if time.Now().After(deadline) {
			t.Fatalf("member not evicted: %+v", c.Describe("g"))
		}
		time.Sleep(5 * time.Millisecond) // polling a timer's effect; the timer itself is the subject
	}
	wantErr(t, "heartbeat after eviction", c.Heartbeat("g", a.MemberID, nil, a.Generation), kerr.UnknownMemberID)
}

func TestCommittedOffsetsAndGroupsSurviveARestart(t *testing.T) {
	ctx := context.Background()
	st := NewMemoryStore()
	c := testCoordinator(t, st)
	md := "checkpoint"
	gerr, errs := c.Commit(ctx, "g", "", nil, -1, []OffsetCommit{
		{Topic: "t", Partition: 0, Offset: 42, LeaderEpoch: -1, Metadata: &md},
		{Topic: "t", Partition: 1, Offset: 7, LeaderEpoch: -1},
	})
	wantErr(t, "standalone commit", gerr, nil)
	for i, e := range errs {
		wantErr(t, "partition commit", e, nil)
		_ = i
	}
	a := c.Join(ctx, joinReq("live", "", "range"))
	c.Sync(ctx, "live", a.MemberID, nil, a.Generation, nil, nil, map[string][]byte{a.MemberID: []byte("x")})
	c.Close() // flushes the queued metadata writes

	again := testCoordinator(t, st)
	got := again.Fetch("g", map[string][]int32{"t": {0, 1, 2}})
	want := []Committed{{Topic: "t", Partition: 0, Offset: 42, LeaderEpoch: -1, Metadata: "checkpoint"},
		{Topic: "t", Partition: 1, Offset: 7, LeaderEpoch: -1}, {Topic: "t", Partition: 2, Offset: -1, LeaderEpoch: -1}}
	if len(got) != len(want) {
		t.Fatalf("fetched %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offset %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if s := again.Describe("live"); s.State != Stable || len(s.Members) != 1 || s.Members[0].MemberID != a.MemberID {
		t.Fatalf("restored group: %+v", s)
	}
	wantErr(t, "restored member heartbeats", again.Heartbeat("live", a.MemberID, nil, a.Generation), nil)

	// Deleting the group removes its offsets from the store too.
	wantErr(t, "delete", again.Delete(ctx, "g"), nil)
	again.Close()
	third := testCoordinator(t, st)
	if got := third.Fetch("g", map[string][]int32{"t": {0}}); got[0].Offset != -1 {
		t.Fatalf("offset of a deleted group came back: %+v", got[0])
	}
}

func TestStaticMemberRestartKeepsItsAssignment(t *testing.T) {
	ctx := context.Background()
	c := testCoordinator(t, NewMemoryStore())
	id := "instance-1"
	r := joinReq("g", "", "range")
	r.InstanceID = &id
	a := c.Join(ctx, r)
	c.Sync(ctx, "g", a.MemberID, &id, a.Generation, nil, nil, map[string][]byte{a.MemberID: []byte("mine")})
	back := c.Join(ctx, r) // restarted process: no member id, same instance id
	wantErr(t, "static rejoin", back.Err, nil)
	if back.Generation != a.Generation || back.MemberID == a.MemberID {
		t.Fatalf("static rejoin: generation %d (want %d unchanged), member id %q (want a new one)", back.Generation, a.Generation, back.MemberID)
	}
	wantErr(t, "the old identity is fenced", c.Heartbeat("g", a.MemberID, &id, a.Generation), kerr.FencedInstanceID)
	stale := r
	stale.MemberID = a.MemberID
	wantErr(t, "the old identity cannot rejoin", c.Join(ctx, stale).Err, kerr.FencedInstanceID)
	s := c.Sync(ctx, "g", back.MemberID, &id, back.Generation, nil, nil, nil)
	if s.Err != nil || string(s.Assignment) != "mine" {
		t.Fatalf("static member's assignment after restart: %v %q", s.Err, s.Assignment)
	}
}

func TestJoinWaitsForMembersHandedAnID(t *testing.T) {
	ctx := context.Background()
	c := testCoordinator(t, NewMemoryStore())
	req := func(member string) JoinRequest {
		r := joinReq("g", member, "range")
		r.RequireKnownMemberID = true
		return r
	}
	a := c.Join(ctx, req(""))
	b := c.Join(ctx, req(""))
	wantErr(t, "a is handed an id", a.Err, kerr.MemberIDRequired)
	wantErr(t, "b is handed an id", b.Err, kerr.MemberIDRequired)

	// a joins first; the join phase must wait for b, who holds an id, and end with both.
	ac := make(chan JoinResult, 1)
	go func() { ac <- c.Join(ctx, req(a.MemberID)) }()
	select {
	case r := <-ac:
		t.Fatalf("the join completed without the pending member: generation %d, %d members", r.Generation, len(r.Members))
	case <-time.After(100 * time.Millisecond):
	}
	bj := c.Join(ctx, req(b.MemberID))
	aj := <-ac
	wantErr(t, "a joins", aj.Err, nil)
	wantErr(t, "b joins", bj.Err, nil)
	if aj.Generation != 1 || bj.Generation != 1 || len(aj.Members)+len(bj.Members) != 2 {
		t.Fatalf("generations %d/%d with %d members; want one generation of 2", aj.Generation, bj.Generation, len(aj.Members)+len(bj.Members))
	}
}

func TestUnusedPendingIDExpiresAndReleasesTheJoin(t *testing.T) {
	ctx := context.Background()
	c := testCoordinator(t, NewMemoryStore())
	r := joinReq("g", "", "range")
	r.RequireKnownMemberID, r.SessionTimeout = true, 50*time.Millisecond
	a := c.Join(ctx, r)
	ghost := c.Join(ctx, r) // handed an id, never comes back
	start := time.Now()
	r.MemberID = a.MemberID
	aj := c.Join(ctx, r)
	wantErr(t, "a joins once the unused id expired", aj.Err, nil)
	if waited := time.Since(start); waited < 40*time.Millisecond || waited > 2*time.Second {
		t.Fatalf("the join waited %s; want about the pending id's 50ms session", waited)
	}
	r.MemberID = ghost.MemberID
	wantErr(t, "the expired id is unknown", c.Join(ctx, r).Err, kerr.UnknownMemberID)
	c.mu.Lock()
	n := len(c.groups["g"].pending)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d pending ids left", n)
	}
}

// TestCommitFencingOrder checks the codes a commit gets, in Kafka's order: an unknown member or
// a stale generation is refused as such even while the group completes a rebalance; only a
// valid commit of the current generation gets REBALANCE_IN_PROGRESS then.
func TestCommitFencingOrder(t *testing.T) {
	ctx := context.Background()
	c := testCoordinator(t, NewMemoryStore())
	j1 := c.Join(ctx, joinReq("g", "", "range"))
	wantErr(t, "join", j1.Err, nil)
	wantErr(t, "sync", c.Sync(ctx, "g", j1.MemberID, nil, j1.Generation, nil, nil, map[string][]byte{j1.MemberID: []byte("a")}).Err, nil)
	commit := func(member string, gen int32) *kerr.Error {
		gerr, perr := c.Commit(ctx, "g", member, nil, gen, []OffsetCommit{{Topic: "t", Partition: 0, Offset: 1}})
		if gerr == nil && perr[0] != nil {
			return perr[0]
		}
		return gerr
	}
	wantErr(t, "current generation", commit(j1.MemberID, j1.Generation), nil)
	wantErr(t, "future generation", commit(j1.MemberID, j1.Generation+1), kerr.IllegalGeneration)
	wantErr(t, "unknown member", commit("nobody", j1.Generation), kerr.UnknownMemberID)

	j2 := c.Join(ctx, joinReq("g", j1.MemberID, "range")) // the leader rejoins: CompletingRebalance
	wantErr(t, "rejoin", j2.Err, nil)
	if got := c.Describe("g").State; got != CompletingRebalance {
		t.Fatalf("state %s, want CompletingRebalance", got)
	}
	wantErr(t, "new generation before its sync", commit(j2.MemberID, j2.Generation), kerr.RebalanceInProgress)
	wantErr(t, "old generation during the rebalance", commit(j2.MemberID, j1.Generation), kerr.IllegalGeneration)
	wantErr(t, "unknown member during the rebalance", commit("nobody", j2.Generation), kerr.UnknownMemberID)
}
