package server

import (
	"context"
	"testing"
	"time"

	"github.com/kop-conformance/kop-conformance/load"
)

// The load suite's scenarios (package load, which `make load` runs against the gateway on
// Pulsar) run to the end against the in-process server at small sizes: its raw requests,
// versions and group protocol are ones the handlers serve, with topics answered from the
// cache as in production.
func TestLoadScenariosInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every load scenario for a few seconds")
	}
	e := newEnv(t, withCache(30*time.Second, 0), withConfig(func(c *Config) { c.MaxMessageBytes = 1 << 20 }))
	go e.topics.Run(e.ctx)
	sizes := load.Sizes{Mode: "test", Setup: 10 * time.Second, Settle: 10 * time.Millisecond,
		Clients: 50, ClientTimeout: 10 * time.Second,
		Groups: 5, GroupTime: 20 * time.Second, HeartbeatTime: time.Second, SessionTimeout: 3 * time.Second, Heartbeat: 200 * time.Millisecond,
		Producers: 5, ProduceRate: 50, ProduceTime: time.Second,
		Topics: 40, TopicBatch: 10, TopicParallel: 2, TopicTime: 10 * time.Second, MetadataSamples: 3, MetadataBurst: 4,
	}
	r := load.Run(context.Background(), load.Target{Name: "reference", Bootstrap: e.addr}, sizes, t.Logf)
	if len(r.Failures) > 0 {
		t.Fatalf("failures: %v", r.Failures)
	}
	if c := r.Clients; c.Answered != sizes.Clients || c.Errors != 0 {
		t.Errorf("clients: %d answered, errors %v", c.Answered, c.Kinds)
	}
	if g := r.Groups; !g.Stable || g.Evictions != 0 || g.Heartbeats.Count == 0 {
		t.Errorf("groups %+v", g)
	}
	if p := r.Producers; p.Acked == 0 || p.Acked != p.Sent || p.TimedOut != 0 {
		t.Errorf("producers %+v", p)
	}
	if tp := r.Topics; tp.Created != sizes.Topics || tp.Listed < sizes.Topics || tp.Metadata.Count != sizes.MetadataSamples {
		t.Errorf("topics %+v", tp)
	}
}
