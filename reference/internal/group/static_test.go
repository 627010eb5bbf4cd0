package group

import (
	"context"
	"testing"
	"time"
)

// within runs fn and fails the test when it has not returned after d: a coordinator whose lock
// was left held blocks every later call.
func within(t *testing.T, d time.Duration, what string, fn func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		t.Errorf("%s did not return within %s", what, d)
		return false
	}
}

// A static member that rejoins under its member id without its instance id, then leaves, must
// not leave its instance id pointing at a member that is gone: the next join with that
// instance id would find no member under the coordinator's lock.
func TestStaticMemberThatDroppedItsInstanceIDLeaves(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		gone func(t *testing.T, c *Coordinator, member string)
	}{
		{"leaves by member id", func(t *testing.T, c *Coordinator, member string) {
			gerr, errs := c.Leave("g", []LeaveMember{{MemberID: member}})
			wantErr(t, "leave", gerr, nil)
			wantErr(t, "leaving member", errs[0], nil)
		}},
		{"leaves by instance id", func(t *testing.T, c *Coordinator, member string) {
			gerr, errs := c.Leave("g", []LeaveMember{{InstanceID: strPtr("i")}})
			wantErr(t, "leave", gerr, nil)
			wantErr(t, "leaving member", errs[0], nil)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testCoordinator(t, NewMemoryStore())
			static := joinReq("g", "", "range")
			static.InstanceID = strPtr("i")
			a := c.Join(ctx, static)
			wantErr(t, "static join", a.Err, nil)
			wantErr(t, "sync", c.Sync(ctx, "g", a.MemberID, static.InstanceID, a.Generation, nil, nil, map[string][]byte{a.MemberID: nil}).Err, nil)

			// The same member rejoins by member id, without an instance id: it stays static.
			again := c.Join(ctx, joinReq("g", a.MemberID, "range"))
			wantErr(t, "rejoin without the instance id", again.Err, nil)
			if s := c.Describe("g"); len(s.Members) != 1 || s.Members[0].InstanceID == nil || *s.Members[0].InstanceID != "i" {
				t.Fatalf("after a rejoin without the instance id the member is %+v; want it still static as i", s.Members)
			}
			tc.gone(t, c, a.MemberID)

			var back JoinResult
			if !within(t, 5*time.Second, "the instance's next join", func() { back = c.Join(ctx, static) }) {
				return
			}
			wantErr(t, "the instance joins again", back.Err, nil)
			if back.MemberID == a.MemberID || back.Leader != back.MemberID || len(back.Members) != 1 {
				t.Fatalf("join after the leave: %+v; want a new member leading a group of one", back)
			}
		})
	}
}

func strPtr(s string) *string { return &s }
