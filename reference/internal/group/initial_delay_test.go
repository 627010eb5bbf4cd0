package group

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

func delayedCoordinator(t *testing.T, delay time.Duration) *Coordinator {
	t.Helper()
	c := newCoordinator(Config{MinSessionTimeout: 10 * time.Millisecond, InitialRebalanceDelay: delay,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.withDefaults(), NewMemoryStore())
	t.Cleanup(c.Close)
	return c
}

// waitState polls until the group is in state, for at most a second.
func waitState(t *testing.T, c *Coordinator, gid string, want State, members int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		s := c.Describe(gid)
		if s.State == want && len(s.Members) == members {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s is %s with %d members; want %s with %d", gid, s.State, len(s.Members), want, members)
		}
		time.Sleep(time.Millisecond)
	}
}

type timedJoin struct {
	res  JoinResult
	took time.Duration
}

func joinAsync(c *Coordinator, r JoinRequest) <-chan timedJoin {
	ch := make(chan timedJoin, 1)
	go func() {
		began := time.Now()
		res := c.Join(context.Background(), r)
		ch <- timedJoin{res, time.Since(began)}
	}()
	return ch
}

// withMemberID makes a JoinGroup v4+ join of group g without a member id, which must answer
// MEMBER_ID_REQUIRED, and returns the request again with the id it handed out.
func withMemberID(t *testing.T, c *Coordinator, who string) JoinRequest {
	t.Helper()
	r := joinReq("g", "", "range")
	r.RequireKnownMemberID = true
	first := c.Join(context.Background(), r)
	wantErr(t, who+"'s first join", first.Err, kerr.MemberIDRequired)
	r.MemberID = first.MemberID
	return r
}

// Two members that start together (the second's MEMBER_ID_REQUIRED round trip landing after
// the first has joined) end in one generation: without the delay the first completes alone
// and the second forces a rebalance the first learns of only at its next heartbeat.
func TestInitialDelayJoinsMembersStartingTogether(t *testing.T) {
	const delay = 150 * time.Millisecond
	c := delayedCoordinator(t, delay)
	a := withMemberID(t, c, "a")
	ac := joinAsync(c, a)
	waitState(t, c, "g", PreparingRebalance, 1) // a is held back, not answered
	select {
	case j := <-ac:
		t.Fatalf("a lone first join was answered within the initial delay: %+v", j.res)
	default:
	}

	b := withMemberID(t, c, "b")
	bc := joinAsync(c, b)

	ja, jb := <-ac, <-bc
	wantErr(t, "a joins", ja.res.Err, nil)
	wantErr(t, "b joins", jb.res.Err, nil)
	if ja.res.Generation != 1 || jb.res.Generation != 1 {
		t.Fatalf("generations %d and %d; want both 1", ja.res.Generation, jb.res.Generation)
	}
	if ja.res.Leader != a.MemberID || len(ja.res.Members) != 2 {
		t.Fatalf("leader %q with %d members; want %q (the first to join) with 2", ja.res.Leader, len(ja.res.Members), a.MemberID)
	}
	// b joined during the first delay, so the join was held once more.
	if ja.took < 2*delay-20*time.Millisecond || ja.took > 2*time.Second {
		t.Fatalf("a's join took %s; want about two delays of %s (held again for b)", ja.took, delay)
	}
}

func TestInitialDelayHoldsALoneMemberOnce(t *testing.T) {
	const delay = 100 * time.Millisecond
	c := delayedCoordinator(t, delay)
	j := <-joinAsync(c, joinReq("g", "", "range"))
	wantErr(t, "join", j.res.Err, nil)
	if j.res.Generation != 1 || len(j.res.Members) != 1 {
		t.Fatalf("generation %d with %d members; want 1 with 1", j.res.Generation, len(j.res.Members))
	}
	if j.took < delay-10*time.Millisecond || j.took > delay+time.Second {
		t.Fatalf("a lone join took %s; want the delay of %s, once", j.took, delay)
	}

	// The delay is for an Empty group only: a rejoin of a Stable group's leader is not held.
	sync := c.Sync(context.Background(), "g", j.res.MemberID, nil, 1, nil, nil, map[string][]byte{j.res.MemberID: nil})
	wantErr(t, "sync", sync.Err, nil)
	waitState(t, c, "g", Stable, 1)
	again := <-joinAsync(c, joinReq("g", j.res.MemberID, "range"))
	wantErr(t, "rejoin", again.res.Err, nil)
	if again.res.Generation != 2 || again.took > delay/2 {
		t.Fatalf("rejoin: generation %d after %s; want 2 without the initial delay", again.res.Generation, again.took)
	}
}

// The rebalance timeout bounds the hold, as in Kafka.
func TestInitialDelayNeverOutlastsTheRebalanceTimeout(t *testing.T) {
	c := delayedCoordinator(t, time.Minute)
	r := joinReq("g", "", "range")
	r.Rebalance = 200 * time.Millisecond
	j := <-joinAsync(c, r)
	wantErr(t, "join", j.res.Err, nil)
	if j.res.Generation != 1 || j.took > 2*time.Second {
		t.Fatalf("generation %d after %s; want 1 within the 200ms rebalance timeout", j.res.Generation, j.took)
	}
}

// A held join does not complete after the coordinator closed.
func TestInitialDelayStopsWhenTheCoordinatorCloses(t *testing.T) {
	const delay = 50 * time.Millisecond
	c := delayedCoordinator(t, delay)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan JoinResult, 1)
	go func() { done <- c.Join(ctx, joinReq("g", "", "range")) }()
	waitState(t, c, "g", PreparingRebalance, 1)
	c.Close()
	time.Sleep(3 * delay)
	if s := c.Describe("g"); s.State != PreparingRebalance {
		t.Fatalf("group is %s after the coordinator closed; want it left PreparingRebalance", s.State)
	}
	cancel()
	<-done
}

// As in Kafka, only a new group's first join is held again for members joining meanwhile; an
// Empty group that had generations before is held once.
func TestInitialDelayHoldsAgainOnlyForANewGroup(t *testing.T) {
	const delay = 150 * time.Millisecond
	c := delayedCoordinator(t, delay)
	j := <-joinAsync(c, joinReq("g", "", "range"))
	wantErr(t, "first join", j.res.Err, nil)
	if _, errs := c.Leave("g", []LeaveMember{{MemberID: j.res.MemberID}}); errs[0] != nil {
		t.Fatalf("leave: %v", errs[0])
	}
	waitState(t, c, "g", Empty, 0)
	ac := joinAsync(c, joinReq("g", "", "range"))
	waitState(t, c, "g", PreparingRebalance, 1)
	bc := joinAsync(c, joinReq("g", "", "range"))
	ja, jb := <-ac, <-bc
	wantErr(t, "a", ja.res.Err, nil)
	wantErr(t, "b", jb.res.Err, nil)
	if ja.res.Generation != jb.res.Generation || ja.res.Generation < 2 {
		t.Fatalf("generations %d and %d; want one generation after the first", ja.res.Generation, jb.res.Generation)
	}
	if ja.took > 2*delay-20*time.Millisecond {
		t.Fatalf("the join of a group with a past took %s: held again for b (one delay is %s)", ja.took, delay)
	}
}
