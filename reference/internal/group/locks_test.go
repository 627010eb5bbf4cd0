package group

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// panicOn is a log handler that panics on one message while armed, standing in for any
// defect that panics while the coordinator holds its lock.
type panicOn struct {
	msg   string
	armed *atomic.Bool
	slog.Handler
}

func (h panicOn) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg && h.armed.CompareAndSwap(true, false) {
		panic("injected: " + r.Message)
	}
	return h.Handler.Handle(ctx, r)
}

// A panic while the coordinator holds its lock (recovered by the connection or the timer that
// ran it) must leave the lock free: every later call still returns.
func TestPanicUnderTheLockLeavesItFree(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, msg string
		// trigger makes the coordinator log msg while it holds its lock.
		trigger func(c *Coordinator, member string, armed *atomic.Bool)
	}{
		{"JoinGroup starting a rebalance", "preparing to rebalance group", func(c *Coordinator, _ string, _ *atomic.Bool) {
			c.Join(ctx, joinReq("g", "", "range"))
		}},
		{"LeaveGroup", "group member left", func(c *Coordinator, member string, _ *atomic.Bool) {
			c.Leave("g", []LeaveMember{{MemberID: member}})
		}},
		{"a session timer", "group member session expired", func(c *Coordinator, member string, armed *atomic.Bool) {
			r := joinReq("g", member, "range")
			r.SessionTimeout = 20 * time.Millisecond
			c.Join(ctx, r) // the member's session becomes 20ms; the timer's goroutine panics
			deadline := time.Now().Add(5 * time.Second)
			for armed.Load() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond) // polling a timer's effect
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			armed := new(atomic.Bool)
			log := slog.New(panicOn{msg: tc.msg, armed: armed, Handler: slog.NewTextHandler(io.Discard, nil)})
			c := newCoordinator(Config{MinSessionTimeout: 10 * time.Millisecond, Logger: log}.withDefaults(), NewMemoryStore())
			a := c.Join(ctx, joinReq("g", "", "range"))
			wantErr(t, "join", a.Err, nil)
			wantErr(t, "sync", c.Sync(ctx, "g", a.MemberID, nil, a.Generation, nil, nil, map[string][]byte{a.MemberID: nil}).Err, nil)
			armed.Store(true)
			func() {
				defer func() { _ = recover() }() // as the connection's handler recovers
				tc.trigger(c, a.MemberID, armed)
			}()
			if armed.Load() {
				t.Fatalf("the trigger did not log %q", tc.msg)
			}
			ok := within(t, 5*time.Second, "DescribeGroups after the panic", func() { c.Describe("g") })
			ok = ok && within(t, 5*time.Second, "a JoinGroup after the panic", func() {
				r := joinReq("other", "", "range")
				wantErr(t, "join another group", c.Join(ctx, r).Err, nil)
			})
			if ok {
				c.Close()
			}
		})
	}
}
