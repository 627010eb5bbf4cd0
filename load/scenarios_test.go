package load

import (
	"context"
	"testing"
	"time"
)

// tiny are sizes that run every scenario in seconds against franz-go's in-process cluster.
var tiny = Sizes{Mode: "test", Setup: 10 * time.Second, Settle: 10 * time.Millisecond,
	Clients: 40, ClientTimeout: 10 * time.Second,
	Groups: 6, GroupTime: 20 * time.Second, HeartbeatTime: time.Second, SessionTimeout: 3 * time.Second, Heartbeat: 200 * time.Millisecond,
	Producers: 5, ProduceRate: 50, ProduceTime: time.Second,
	Topics: 45, TopicBatch: 10, TopicParallel: 2, TopicTime: 10 * time.Second, MetadataSamples: 3, MetadataBurst: 4,
}

func quiet(string, ...any) {}

// Every scenario runs to the end on a Kafka-protocol server, with the figures it reports.
func TestScenariosOnKfake(t *testing.T) {
	ctx := context.Background()
	r := Run(ctx, kfakeTarget(t, "kafka"), tiny, quiet)
	if len(r.Failures) > 0 {
		t.Fatalf("failures: %v", r.Failures)
	}
	if c := r.Clients; c.Answered != tiny.Clients || c.Errors != 0 || c.FirstResponse.Count != tiny.Clients || c.AllSteps.P99 < c.FirstResponse.P50 {
		t.Errorf("clients %+v", c)
	}
	if g := r.Groups; !g.Stable || g.StableGroups != tiny.Groups || g.Evictions != 0 || g.Heartbeats.Count == 0 {
		t.Errorf("groups %+v", g)
	}
	if p := r.Producers; p.Acked == 0 || p.Acked != p.Sent || p.TimedOut != 0 || p.Latency.Count != p.Acked {
		t.Errorf("producers %+v", p)
	}
	// The namespace has the scenarios' own topics too.
	if tp := r.Topics; tp.Created != tiny.Topics || tp.Listed < tiny.Topics || tp.Metadata.Count != tiny.MetadataSamples ||
		tp.Burst.Count != tiny.MetadataBurst || tp.ResponseBytes == 0 {
		t.Errorf("topics %+v", tp)
	}
}
