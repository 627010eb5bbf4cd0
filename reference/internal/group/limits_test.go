package group

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

func limitedCoordinator(t *testing.T, groups, members, pending int) *Coordinator {
	t.Helper()
	c := newCoordinator(Config{MinSessionTimeout: 10 * time.Millisecond, MaxGroups: groups, MaxMembers: members,
		MaxPendingMembers: pending, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.withDefaults(), NewMemoryStore())
	t.Cleanup(c.Close)
	return c
}

func groupIDs(c *Coordinator) []string {
	var ids []string
	for _, l := range c.List(nil) {
		ids = append(ids, l.Group)
	}
	slices.Sort(ids)
	return ids
}

func (c *Coordinator) pendingOf(gid string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.groups[gid]; g != nil {
		return len(g.pending)
	}
	return 0
}

// A request the coordinator refuses creates no group, whatever it names: the groups a hostile
// client can make are the ones it can join or commit to.
func TestRefusedRequestsLeaveNoGroup(t *testing.T) {
	ctx := context.Background()
	static := func(member string) JoinRequest {
		r := joinReq("new", member, "range")
		r.InstanceID = strPtr("i")
		return r
	}
	cases := []struct {
		name string
		send func(c *Coordinator) *kerr.Error
		want *kerr.Error
	}{
		{"JoinGroup with an unknown member id", func(c *Coordinator) *kerr.Error {
			return c.Join(ctx, joinReq("new", "made-up", "range")).Err
		}, kerr.UnknownMemberID},
		{"JoinGroup of a static member with an unknown member id", func(c *Coordinator) *kerr.Error {
			return c.Join(ctx, static("made-up")).Err
		}, kerr.UnknownMemberID},
		{"JoinGroup with a session timeout out of bounds", func(c *Coordinator) *kerr.Error {
			r := joinReq("new", "", "range")
			r.SessionTimeout = time.Hour
			return c.Join(ctx, r).Err
		}, kerr.InvalidSessionTimeout},
		{"JoinGroup without a protocol type", func(c *Coordinator) *kerr.Error {
			r := joinReq("new", "", "range")
			r.ProtocolType = ""
			return c.Join(ctx, r).Err
		}, kerr.InconsistentGroupProtocol},
		{"JoinGroup beyond the group limit", func(c *Coordinator) *kerr.Error {
			return c.Join(ctx, joinReq("new", "", "range")).Err
		}, kerr.CoordinatorNotAvailable},
		{"a MEMBER_ID_REQUIRED join beyond the group limit", func(c *Coordinator) *kerr.Error {
			r := joinReq("new", "", "range")
			r.RequireKnownMemberID = true
			return c.Join(ctx, r).Err
		}, kerr.CoordinatorNotAvailable},
		{"OffsetCommit by an unknown member", func(c *Coordinator) *kerr.Error {
			gerr, _ := c.Commit(ctx, "new", "made-up", nil, 3, []OffsetCommit{{Topic: "t", Offset: 1}})
			return gerr
		}, kerr.UnknownMemberID},
		{"a standalone OffsetCommit beyond the group limit", func(c *Coordinator) *kerr.Error {
			gerr, _ := c.Commit(ctx, "new", "", nil, -1, []OffsetCommit{{Topic: "t", Offset: 1}})
			return gerr
		}, kerr.CoordinatorNotAvailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := limitedCoordinator(t, 2, 0, 0)
			a := stableGroup(t, c, "a")
			stableGroup(t, c, "b")
			before := groupIDs(c)
			wantErr(t, tc.name, tc.send(c), tc.want)
			if got := groupIDs(c); !slices.Equal(got, before) {
				t.Fatalf("groups %v after the refused request; want %v", got, before)
			}
			wantErr(t, "a member of a group that exists", c.Heartbeat("a", a.MemberID, nil, a.Generation), nil)
		})
	}
}

func TestGroupLimits(t *testing.T) {
	ctx := context.Background()
	v4 := func(gid, member string) JoinRequest {
		r := joinReq(gid, member, "range")
		r.RequireKnownMemberID = true
		return r
	}
	cases := []struct {
		name                     string
		groups, members, pending int
		run                      func(t *testing.T, c *Coordinator)
	}{
		{name: "a new member of a full group is GROUP_MAX_SIZE_REACHED", members: 1, run: func(t *testing.T, c *Coordinator) {
			stableGroup(t, c, "g")
			wantErr(t, "second member", c.Join(ctx, joinReq("g", "", "range")).Err, kerr.GroupMaxSizeReached)
			if n := len(c.Describe("g").Members); n != 1 {
				t.Fatalf("%d members", n)
			}
		}},
		{name: "a member handed an id by a full group is refused and its id forgotten", members: 1, run: func(t *testing.T, c *Coordinator) {
			stableGroup(t, c, "g")
			first := c.Join(ctx, v4("g", ""))
			wantErr(t, "handed an id", first.Err, kerr.MemberIDRequired)
			wantErr(t, "join with it", c.Join(ctx, v4("g", first.MemberID)).Err, kerr.GroupMaxSizeReached)
			if n := c.pendingOf("g"); n != 0 {
				t.Fatalf("%d pending ids left", n)
			}
		}},
		{name: "a new static member of a full group is GROUP_MAX_SIZE_REACHED, a known one rejoins", members: 1, run: func(t *testing.T, c *Coordinator) {
			r := joinReq("g", "", "range")
			r.InstanceID = strPtr("i1")
			j := c.Join(ctx, r)
			wantErr(t, "static join", j.Err, nil)
			wantErr(t, "sync", c.Sync(ctx, "g", j.MemberID, r.InstanceID, j.Generation, nil, nil, map[string][]byte{j.MemberID: nil}).Err, nil)
			other := r
			other.InstanceID = strPtr("i2")
			wantErr(t, "another instance", c.Join(ctx, other).Err, kerr.GroupMaxSizeReached)
			wantErr(t, "the instance restarts", c.Join(ctx, r).Err, nil)
		}},
		{name: "pending member ids beyond the limit are COORDINATOR_NOT_AVAILABLE until one expires", pending: 2, run: func(t *testing.T, c *Coordinator) {
			r := v4("g", "")
			r.SessionTimeout = 30 * time.Millisecond
			for range 2 {
				wantErr(t, "handed an id", c.Join(ctx, r).Err, kerr.MemberIDRequired)
			}
			wantErr(t, "a third id", c.Join(ctx, r).Err, kerr.CoordinatorNotAvailable)
			deadline := time.Now().Add(5 * time.Second)
			for c.pendingOf("g") > 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond) // polling the pending ids' expiry timers
			}
			wantErr(t, "an id once the others expired", c.Join(ctx, r).Err, kerr.MemberIDRequired)
		}},
		{name: "a group made only by handing out ids goes when they expire", run: func(t *testing.T, c *Coordinator) {
			r := v4("g", "")
			r.SessionTimeout = 30 * time.Millisecond
			wantErr(t, "handed an id", c.Join(ctx, r).Err, kerr.MemberIDRequired)
			deadline := time.Now().Add(5 * time.Second)
			for len(groupIDs(c)) > 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond) // polling the pending id's expiry timer
			}
			if ids := groupIDs(c); len(ids) != 0 {
				t.Fatalf("groups %v left", ids)
			}
		}},
		{name: "a new group beyond the limit is refused until one is deleted", groups: 1, run: func(t *testing.T, c *Coordinator) {
			stableGroup(t, c, "a")
			wantErr(t, "a second group", c.Join(ctx, joinReq("b", "", "range")).Err, kerr.CoordinatorNotAvailable)
			wantErr(t, "leave", mustGroupErr(c.Leave("a", []LeaveMember{{MemberID: c.Describe("a").Members[0].MemberID}})), nil)
			wantErr(t, "delete", c.Delete(ctx, "a"), nil)
			stableGroup(t, c, "b")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, limitedCoordinator(t, tc.groups, tc.members, tc.pending))
		})
	}
}
