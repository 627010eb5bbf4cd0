package load

import (
	"context"
	"time"
)

// Bounds of each scenario in time: its own bounds from Sizes, plus preparing (Setup) and
// closing.
func (s Sizes) clientsBound() time.Duration { return s.Setup + s.ClientTimeout + s.Setup }
func (s Sizes) groupsBound() time.Duration {
	return 2*s.Setup + s.GroupTime + s.HeartbeatTime + s.Heartbeat + leaveTime + 15*time.Second
}
func (s Sizes) producersBound() time.Duration {
	return 2*s.Setup + s.ProduceTime + produceTimeout + 15*time.Second
}
func (s Sizes) topicsBound() time.Duration { return s.TopicTime + 2*s.Setup }

// Budget is the longest Run may take on one target.
func (s Sizes) Budget() time.Duration {
	return s.clientsBound() + s.groupsBound() + s.producersBound() + s.topicsBound() + 5*s.Settle
}

// Run loads one target with every scenario in turn, each within its bound: connections,
// groups, producers, then topics (last: the topics it leaves would weigh on the others). A
// scenario that cannot run is named in Failures and the next one runs.
func Run(ctx context.Context, t Target, s Sizes, say Progress) *Result {
	r := &Result{Target: t.Name}
	step := func(name string, bound time.Duration, f func(context.Context) error) {
		sctx, cancel := context.WithTimeout(ctx, bound)
		err := f(sctx)
		cancel()
		if err != nil {
			r.Failures = append(r.Failures, name+": "+err.Error())
			say("%s: %s did not run to the end: %v", t.Name, name, err)
		}
		settle(ctx, s.Settle)
	}
	step("connections", s.clientsBound(), func(ctx context.Context) (err error) {
		r.Clients, err = Clients(ctx, t, s, say)
		return err
	})
	step("groups", s.groupsBound(), func(ctx context.Context) (err error) {
		r.Groups, err = Groups(ctx, t, s, say)
		return err
	})
	step("producers", s.producersBound(), func(ctx context.Context) (err error) {
		r.Producers, err = Producers(ctx, t, s, say)
		return err
	})
	step("topics", s.topicsBound(), func(ctx context.Context) (err error) {
		r.Topics, err = Topics(ctx, t, s, say)
		return err
	})
	return r
}
