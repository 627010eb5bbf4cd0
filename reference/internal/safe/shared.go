package safe

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/singleflight"
)

// Shared runs a call once for all the concurrent callers that ask with the same key (the
// gateway's lookups in Pulsar: one admin call however many requests need its answer). The
// call runs on a context of its own, from Base and bounded by Timeout, so the first caller
// giving up does not cut it short for the others; each caller waits for it until its own
// context ends. A panic in the call is logged under What and answered as an error.
type Shared struct {
	singleflight.Group
	Base    context.Context // nil is context.Background()
	Timeout time.Duration
	Log     *slog.Logger
	What    string // what the calls ask for, in errors and logs
}

// Call runs fn for key, or joins the run under way, and returns its answer.
func (s *Shared) Call(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	ch := s.DoChan(key, func() (v any, err error) {
		defer func() {
			if r := recover(); r != nil {
				logPanic(s.Log, s.What+" ("+key+")", r)
				v, err = nil, fmt.Errorf("panic asking Pulsar for %s: %v", s.What, r)
			}
		}()
		base := s.Base
		if base == nil {
			base = context.Background()
		}
		cctx, cancel := context.WithTimeout(base, s.Timeout)
		defer cancel()
		return fn(cctx)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for Pulsar's answer about %s: %w", s.What, ctx.Err())
	}
}
