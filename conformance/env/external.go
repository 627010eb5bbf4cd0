package env

import (
	"context"
	"time"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// External connects to an endpoint the suite does not manage (real Kafka, KoP, any
// Kafka-compatible server), with level proxies in front, once it answers ApiVersions.
func External(ctx context.Context, name, bootstrap string, opts ...Option) (*Env, error) {
	e := newEnv(newOptions(opts))
	if err := answersAPIVersions(ctx, bootstrap, time.Minute, 250*time.Millisecond, nil); err != nil {
		return nil, err
	}
	plan, err := NewPlan([]Protocol{Plaintext}, protocol.LevelNames(), Given, Proxied)
	if err != nil {
		return nil, err
	}
	plan.Main(Plaintext).Addr = bootstrap
	wireURL, err := e.proxyLevels(plan)
	e.Target = clients.Target{Name: name, WireURL: wireURL}
	plan.Apply(&e.Target)
	return e.started(err)
}

// proxyLevels starts level proxies for the plan's proxied listeners, setting their addresses
// in the plan, and serves the proxies' wire tap, returning its URL.
func (e *Env) proxyLevels(plan *Plan) (wireURL string, err error) {
	if err := e.proxies.serve(plan); err != nil {
		return "", err
	}
	return e.proxies.serveTap()
}
