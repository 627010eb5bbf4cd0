// Package load measures a Kafka-protocol server under many clients at once, the way the
// conformance suite measures its correctness: against the reference gateway (on Pulsar) and
// against Apache Kafka in one run, with the figures side by side (reports/load.md, load.json).
//
// Four scenarios, each bounded in count and in time, each on raw kmsg connections (far
// cheaper than client libraries, so thousands fit beside the servers on a small machine):
//
//	connections.go  N clients connecting at once, each ApiVersions, Metadata, a produce, a fetch
//	groups.go       G consumer groups of 2 members joining at once, then heartbeating
//	producers.go    P producers on P partitions at a fixed total rate
//	topics.go       T topics created in bounded parallel batches, then all-topics Metadata
//
// Sizes come from the environment (FromEnv): LOAD=quick or full, and one variable per size.
package load

import (
	"fmt"
	"strconv"
	"time"
)

// Sizes are how much load each scenario applies, and its bounds in time.
type Sizes struct {
	Mode string `json:"mode"` // full or quick
	// Setup bounds each scenario's preparation: making its topic, connecting its clients
	// beforehand, the producers' first writes.
	Setup time.Duration `json:"setup_ns"`
	// Settle separates the scenarios, so one's closing connections are not the next's load,
	// and lets the gateway come to rest before its idle connections are measured.
	Settle time.Duration `json:"settle_ns"`

	Clients       int           `json:"clients"`           // LOAD_CLIENTS: connecting at once
	ClientTimeout time.Duration `json:"client_timeout_ns"` // one client's four requests, from connecting

	Groups         int           `json:"groups"`             // LOAD_GROUPS: of 2 members each
	GroupTime      time.Duration `json:"group_time_ns"`      // LOAD_GROUP_SECONDS: bound on reaching Stable
	HeartbeatTime  time.Duration `json:"heartbeat_time_ns"`  // LOAD_HEARTBEAT_SECONDS: heartbeating once Stable
	SessionTimeout time.Duration `json:"session_timeout_ns"` // members' session timeout
	Heartbeat      time.Duration `json:"heartbeat_ns"`       // members' heartbeat interval

	Producers   int           `json:"producers"`       // LOAD_PRODUCERS: one partition each
	ProduceRate int           `json:"produce_rate"`    // LOAD_PRODUCE_RATE: records a second, all producers
	ProduceTime time.Duration `json:"produce_time_ns"` // LOAD_PRODUCE_SECONDS: at that rate

	Topics          int           `json:"topics"`           // LOAD_TOPICS: created, then listed
	TopicBatch      int           `json:"topic_batch"`      // topics per CreateTopics request
	TopicParallel   int           `json:"topic_parallel"`   // CreateTopics requests in flight
	TopicTime       time.Duration `json:"topic_time_ns"`    // LOAD_TOPIC_SECONDS: bound on creating them
	MetadataSamples int           `json:"metadata_samples"` // all-topics Metadata, one after another
	MetadataBurst   int           `json:"metadata_burst"`   // all-topics Metadata, on as many connections at once
}

// Full are the sizes, about 15 minutes for both targets on a 2-core machine.
var Full = Sizes{Mode: "full", Setup: time.Minute, Settle: 3 * time.Second,
	Clients: 2000, ClientTimeout: 60 * time.Second,
	Groups: 1000, GroupTime: 120 * time.Second, HeartbeatTime: 30 * time.Second, SessionTimeout: 10 * time.Second, Heartbeat: 3 * time.Second,
	Producers: 500, ProduceRate: 2500, ProduceTime: 60 * time.Second,
	Topics: 10000, TopicBatch: 100, TopicParallel: 4, TopicTime: 180 * time.Second, MetadataSamples: 20, MetadataBurst: 50,
}

// Quick is a smoke run of every scenario, about 3 minutes for both targets.
var Quick = Sizes{Mode: "quick", Setup: 30 * time.Second, Settle: time.Second,
	Clients: 300, ClientTimeout: 30 * time.Second,
	Groups: 100, GroupTime: 45 * time.Second, HeartbeatTime: 5 * time.Second, SessionTimeout: 10 * time.Second, Heartbeat: 3 * time.Second,
	Producers: 50, ProduceRate: 250, ProduceTime: 8 * time.Second,
	Topics: 500, TopicBatch: 100, TopicParallel: 4, TopicTime: 45 * time.Second, MetadataSamples: 10, MetadataBurst: 20,
}

// Limits keep every size bounded, whatever the environment says.
const (
	maxClients   = 20000
	maxGroups    = 10000
	maxProducers = 1000 // the reference's default --max-partitions-per-topic
	maxRate      = 100000
	maxTopics    = 100000
	maxDuration  = 30 * time.Minute
)

// FromEnv reads LOAD (quick or full, default full) and the LOAD_* overrides.
func FromEnv(getenv func(string) string) (Sizes, error) {
	var s Sizes
	switch mode := getenv("LOAD"); mode {
	case "", "full":
		s = Full
	case "quick":
		s = Quick
	default:
		return Sizes{}, fmt.Errorf("LOAD=%q: want quick or full", mode)
	}
	ints := []struct {
		name   string
		v      *int
		lo, hi int
	}{
		{"LOAD_CLIENTS", &s.Clients, 1, maxClients},
		{"LOAD_GROUPS", &s.Groups, 1, maxGroups},
		{"LOAD_PRODUCERS", &s.Producers, 1, maxProducers},
		{"LOAD_PRODUCE_RATE", &s.ProduceRate, 1, maxRate},
		{"LOAD_TOPICS", &s.Topics, 1, maxTopics},
	}
	for _, f := range ints {
		v := getenv(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < f.lo || n > f.hi {
			return Sizes{}, fmt.Errorf("%s=%q: want a whole number from %d to %d", f.name, v, f.lo, f.hi)
		}
		*f.v = n
	}
	durations := []struct {
		name string
		v    *time.Duration
	}{
		{"LOAD_GROUP_SECONDS", &s.GroupTime},
		{"LOAD_HEARTBEAT_SECONDS", &s.HeartbeatTime},
		{"LOAD_PRODUCE_SECONDS", &s.ProduceTime},
		{"LOAD_TOPIC_SECONDS", &s.TopicTime},
	}
	for _, f := range durations {
		v := getenv(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || time.Duration(n)*time.Second > maxDuration {
			return Sizes{}, fmt.Errorf("%s=%q: want seconds from 1 to %d", f.name, v, int(maxDuration.Seconds()))
		}
		*f.v = time.Duration(n) * time.Second
	}
	return s, nil
}
