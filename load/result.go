package load

import "time"

// Target is an endpoint to load.
type Target struct {
	Name       string // reference, kafka
	Bootstrap  string // host:port
	MetricsURL string // its Prometheus endpoint; "" when it has none (Kafka's metrics are JMX)
}

// Report is one run: load.json, rendered as load.md.
type Report struct {
	Mode        string    `json:"mode"`
	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wall_seconds"`
	CPUs        int       `json:"cpus"`
	Sizes       Sizes     `json:"sizes"`
	// Notes say how the targets were set up where that differs from their defaults.
	Notes   []string  `json:"notes,omitempty"`
	Targets []*Result `json:"targets"`
	Goals   []Goal    `json:"goals"`
}

// Target is the named target's results, nil when it did not run.
func (r *Report) Target(name string) *Result {
	for _, t := range r.Targets {
		if t.Target == name {
			return t
		}
	}
	return nil
}

// Result is one target's figures; a scenario that could not run is nil, with its reason in
// Failures.
type Result struct {
	Target    string           `json:"target"`
	Clients   *ClientsResult   `json:"clients,omitempty"`
	Groups    *GroupsResult    `json:"groups,omitempty"`
	Producers *ProducersResult `json:"producers,omitempty"`
	Topics    *TopicsResult    `json:"topics,omitempty"`
	Failures  []string         `json:"failures,omitempty"`
}

// Gauges are the gateway's own figures (its Prometheus endpoint) at one moment.
type Gauges struct {
	RSS         float64 `json:"resident_bytes"`
	FDs         float64 `json:"open_fds"`
	Connections float64 `json:"connections"`
	HeapInuse   float64 `json:"heap_inuse_bytes"`
	StackInuse  float64 `json:"stack_inuse_bytes"`
	Groups      float64 `json:"groups"`
}

// ClientsResult: N clients connecting at once, each ApiVersions, Metadata (all topics), a
// one-record produce and a fetch of it.
type ClientsResult struct {
	Clients  int            `json:"clients"`
	Answered int            `json:"answered"` // all four answered without an error
	Errors   int            `json:"errors"`
	Kinds    map[string]int `json:"error_kinds,omitempty"`
	// FirstResponse is from starting to connect to ApiVersions' answer; AllSteps to the
	// fetch's answer.
	FirstResponse Summary `json:"first_response"`
	AllSteps      Summary `json:"all_steps"`
	WallSeconds   float64 `json:"wall_seconds"`
	// Before is the gateway before the clients connected, Idle with their connections open
	// and idle; IdlePerConnection is the resident memory they added, per connection.
	Before            *Gauges `json:"before,omitempty"`
	Idle              *Gauges `json:"idle,omitempty"`
	IdlePerConnection float64 `json:"idle_bytes_per_connection,omitempty"`
}

// GroupsResult: G groups of 2 members joining at once, then heartbeating.
type GroupsResult struct {
	Groups  int `json:"groups"`
	Members int `json:"members"`
	// Stable says every group reached Stable (both members synced in one generation) within
	// the bound; StableSeconds is from the joins to that moment (the bound when not).
	Stable        bool    `json:"stable"`
	StableGroups  int     `json:"stable_groups"`
	StableSeconds float64 `json:"stable_seconds"`
	// Heartbeats are those sent once every group was Stable.
	Heartbeats Summary `json:"heartbeats"`
	// Evictions counts live members the coordinator no longer knew (UNKNOWN_MEMBER_ID): a
	// session expired while they were heartbeating. Rebalances counts REBALANCE_IN_PROGRESS
	// answers once Stable.
	Evictions  int            `json:"evictions"`
	Rebalances int            `json:"rebalances"`
	Kinds      map[string]int `json:"error_kinds,omitempty"`
	// Before is the gateway before the members connected, Stable once every group was;
	// PerGroup is the resident memory added per group (its 2 connections included).
	Before   *Gauges `json:"before,omitempty"`
	After    *Gauges `json:"gateway_stable,omitempty"`
	PerGroup float64 `json:"bytes_per_group,omitempty"`
}

// ProducersResult: P producers, one partition each, at a fixed total rate.
type ProducersResult struct {
	Producers int     `json:"producers"`
	Rate      int     `json:"rate"` // records a second asked for, all producers
	Seconds   float64 `json:"seconds"`
	Sent      int     `json:"sent"`
	Acked     int     `json:"acked"`
	// Achieved is acknowledged records a second.
	Achieved float64 `json:"achieved_rate"`
	Latency  Summary `json:"latency"`
	// TimedOut counts produces answered REQUEST_TIMED_OUT or not answered before the
	// client's deadline.
	TimedOut int            `json:"timed_out"`
	Kinds    map[string]int `json:"error_kinds,omitempty"`
	After    *Gauges        `json:"gateway,omitempty"`
}

// TopicsResult: T topics created in bounded parallel batches, then all-topics Metadata.
type TopicsResult struct {
	Wanted        int     `json:"wanted"`
	Created       int     `json:"created"` // now present (made, or there already)
	CreateSeconds float64 `json:"create_seconds"`
	// VisibleSeconds is how much longer it took until all-topics Metadata listed them all.
	VisibleSeconds float64        `json:"visible_seconds"`
	Kinds          map[string]int `json:"error_kinds,omitempty"`
	// Listed is how many topics an all-topics Metadata answer held, ResponseBytes its size.
	Listed        int     `json:"listed"`
	ResponseBytes int     `json:"response_bytes"`
	Metadata      Summary `json:"metadata"` // one after another
	Burst         Summary `json:"burst"`    // MetadataBurst at once
	After         *Gauges `json:"gateway,omitempty"`
}
