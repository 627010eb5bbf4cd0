// Package report is the benchmark's result: the model written to reports/bench.json (every
// round's figures, the summaries over rounds, the ratios between paths and the goals), and
// its renderings: bench.md, bench.html and the SVG charts beside them.
package report

import (
	"fmt"
	"time"

	"github.com/kop-conformance/kop-conformance/bench/stats"
)

// SchemaVersion changes when a field of bench.json changes meaning or goes away.
const SchemaVersion = 1

// The three paths every workload can run through.
const (
	Gateway = "gateway" // Kafka clients -> the reference gateway -> Pulsar
	Pulsar  = "pulsar"  // pulsar-client-go straight to the same Pulsar: the gateway's ceiling
	Kafka   = "kafka"   // Kafka clients -> Apache Kafka on the same machine
)

// Paths in the order a round visits them.
var Paths = []string{Gateway, Pulsar, Kafka}

// Kinds of workload.
const (
	MaxThroughput = "max-throughput" // producers send as fast as their in-flight window allows
	FixedRate     = "fixed-rate"     // records are scheduled at a fixed rate; a consumer tails them
)

// Spec is what a workload does.
type Spec struct {
	Name        string  `json:"name"`
	Kind        string  `json:"kind"`
	RecordBytes int     `json:"record_bytes"`
	Partitions  int     `json:"partitions"`
	Acks        string  `json:"acks"`        // "all" or "1" (Kafka paths; Pulsar always waits for its bookie)
	Compression string  `json:"compression"` // "none" or "lz4"
	Producer    string  `json:"producer"`    // the Kafka client: franz-go, sarama or kafka-go
	Connections int     `json:"connections"` // producer clients, each with its own connections
	Rate        int     `json:"rate,omitempty"`
	Seconds     float64 `json:"seconds"` // sending time per round
	CatchUp     bool    `json:"catch_up,omitempty"`
	// Scale marks a cost-growth point: reported in its series, not held to the throughput goals.
	Scale bool `json:"scale,omitempty"`
	// PulsarFrom names the workload whose pulsar rounds stand for this one's: Pulsar has no
	// acks=1 and no Kafka client to vary, so those workloads do not repeat the same rounds.
	PulsarFrom string   `json:"pulsar_from,omitempty"`
	Paths      []string `json:"paths"`
}

// Title describes the workload in words.
func (s Spec) Title() string {
	comp := s.Compression
	if comp == "" || comp == "none" {
		comp = "no compression"
	}
	t := fmt.Sprintf("%s records, %d partition%s, acks=%s, %s, %s", Size(s.RecordBytes), s.Partitions, plural(s.Partitions), s.Acks, comp, s.Producer)
	if s.Connections > 1 {
		t += fmt.Sprintf(", %d producer clients", s.Connections)
	}
	if s.Kind == FixedRate {
		t += fmt.Sprintf(", %d records/s", s.Rate)
	}
	return t
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Size is a byte count as the workload names say it: 100 B, 1 KiB, 100 KiB.
func Size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// Round is one run of a workload on one path: every figure it measured.
type Round struct {
	Round   int       `json:"round"` // 1-based
	Path    string    `json:"path"`
	Started time.Time `json:"started"`
	// Skipped says why the round did not run (the time budget); Error why it ran and failed.
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`

	// Seconds runs from the first send to the last acknowledgement.
	Seconds       float64 `json:"seconds"`
	Records       int64   `json:"records"` // acknowledged
	Bytes         int64   `json:"bytes"`   // record values acknowledged
	Failed        int64   `json:"failed"`  // sends that got an error
	Behind        int64   `json:"behind,omitempty"`
	MBps          float64 `json:"mb_per_s"` // 10^6 bytes of values per second
	RecordsPerSec float64 `json:"records_per_s"`
	// Publish latency: from a record's send (its scheduled time at a fixed rate) to its
	// acknowledgement. E2E: from the same start to a consumer receiving it.
	Publish *stats.Percentiles `json:"publish_latency,omitempty"`
	E2E     *stats.Percentiles `json:"e2e_latency,omitempty"`
	CatchUp *CatchUp           `json:"catch_up,omitempty"`

	Resources Resources `json:"resources"`
}

// OK says whether the round ran and measured.
func (r Round) OK() bool { return r.Skipped == "" && r.Error == "" }

// CatchUp is the read back of what a round wrote, from its first offset.
type CatchUp struct {
	Records int64   `json:"records"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"` // from the first record received to the last
	MBps    float64 `json:"mb_per_s"`
	// Complete is false when the time cap ended the read before every record came back.
	Complete bool `json:"complete"`
}

// Resources are what the servers spent in a round.
type Resources struct {
	// MovedBytes are the record values produced plus those consumed.
	MovedBytes int64 `json:"moved_bytes"`
	// The gateway's own Prometheus figures (gateway path): CPU seconds spent in the round,
	// and resident memory, Go heap in use and open partitions at its end.
	GatewayCPUSeconds *float64 `json:"gateway_cpu_seconds,omitempty"`
	GatewayRSS        *float64 `json:"gateway_rss_bytes,omitempty"`
	GatewayHeap       *float64 `json:"gateway_heap_bytes,omitempty"`
	OpenPartitions    *float64 `json:"open_partitions,omitempty"`
	// Containers are the cgroup figures Docker reports for the containers serving the path.
	Containers map[string]ContainerUse `json:"containers,omitempty"`
	// Idle is the memory a set of idle open partitions cost the gateway, measured when the
	// workload's topic was first opened.
	Idle *IdlePartitions `json:"idle_partitions,omitempty"`
}

// ContainerUse is one container's CPU over a round and memory at its end.
type ContainerUse struct {
	CPUSeconds  float64 `json:"cpu_seconds"`
	MemoryBytes float64 `json:"memory_bytes"`
}

// IdlePartitions compares the gateway before and after it opened Partitions partitions (one
// record each, then idle), each time after a forced garbage collection.
type IdlePartitions struct {
	Partitions     int     `json:"partitions"`
	RSSDelta       float64 `json:"rss_delta_bytes"`
	HeapDelta      float64 `json:"heap_delta_bytes"`
	PerPartition   float64 `json:"per_partition_bytes"` // the larger delta over Partitions
	RSSAfter       float64 `json:"rss_after_bytes"`
	OpenPartitions float64 `json:"open_partitions_after"`
}

// Workload is a workload's spec, rounds and what the report derives from them.
type Workload struct {
	Spec   Spec    `json:"spec"`
	Rounds []Round `json:"rounds"`
	// Summaries are per path over the rounds that ran; Ratios compare the gateway with the others.
	Summaries []PathSummary `json:"summaries"`
	Ratios    []Ratio       `json:"ratios"`
}

// PathSummary is a path's figures over a workload's rounds: median, min, max and spread.
type PathSummary struct {
	Path        string         `json:"path"`
	Rounds      int            `json:"rounds"` // that ran and measured
	MBps        *stats.Summary `json:"mb_per_s,omitempty"`
	RecordsPS   *stats.Summary `json:"records_per_s,omitempty"`
	PublishP50  *stats.Summary `json:"publish_p50_ms,omitempty"`
	PublishP99  *stats.Summary `json:"publish_p99_ms,omitempty"`
	PublishP999 *stats.Summary `json:"publish_p999_ms,omitempty"`
	E2EP50      *stats.Summary `json:"e2e_p50_ms,omitempty"`
	E2EP99      *stats.Summary `json:"e2e_p99_ms,omitempty"`
	E2EP999     *stats.Summary `json:"e2e_p999_ms,omitempty"`
	CatchUpMBps *stats.Summary `json:"catch_up_mb_per_s,omitempty"`
	// CPU seconds per GB (10^9 bytes) moved: the gateway process alone, and every container
	// serving the path (gateway and Pulsar; Pulsar; Kafka).
	GatewayCPUPerGB *stats.Summary `json:"gateway_cpu_s_per_gb,omitempty"`
	ServerCPUPerGB  *stats.Summary `json:"server_cpu_s_per_gb,omitempty"`
	GatewayRSSMiB   *stats.Summary `json:"gateway_rss_mib,omitempty"`
	GatewayHeapMiB  *stats.Summary `json:"gateway_heap_mib,omitempty"`
	OpenPartitions  *stats.Summary `json:"open_partitions,omitempty"`
	// From names the workload these figures were measured in, when not this one (PulsarFrom).
	From string `json:"from,omitempty"`
}

// Ratio is the gateway's median over another path's, for one figure.
type Ratio struct {
	Figure string   `json:"figure"` // a PathSummary field's JSON name
	Over   string   `json:"over"`   // pulsar or kafka
	Value  *float64 `json:"value"`  // null when either side is missing
}

// Series is a cost-growth curve: the workloads measured at each point of one dimension.
type Series struct {
	Name   string  `json:"name"` // partitions or connections
	Points []Point `json:"points"`
}

// Point is one x of a series and the workload measured there.
type Point struct {
	X        int    `json:"x"`
	Workload string `json:"workload"`
}

// Goal is one of the goals, judged from this run.
type Goal struct {
	ID     string   `json:"id"`
	Text   string   `json:"goal"`
	Target string   `json:"target"`
	Value  *float64 `json:"value"` // null when the run did not measure it
	Unit   string   `json:"unit"`
	Met    *bool    `json:"met"` // null when not measured
	Detail string   `json:"detail"`
}

// Host is the machine the run measured.
type Host struct {
	CPUs      int    `json:"cpus"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version"`
}

// Settings are the knobs the run used (see bench.Config).
type Settings struct {
	Mode            string  `json:"mode"`
	Rounds          int     `json:"rounds"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	CatchUpSeconds  float64 `json:"catch_up_cap_seconds"`
	SettleSeconds   float64 `json:"settle_seconds"`
	WindowRecords   int     `json:"window_records"`
	WindowBytes     int     `json:"window_bytes"`
	BudgetSeconds   float64 `json:"budget_seconds"`
	EstimateSeconds float64 `json:"estimate_seconds"`
}

// Report is reports/bench.json.
type Report struct {
	SchemaVersion int               `json:"schema_version"`
	GeneratedAt   time.Time         `json:"generated_at"`
	Host          Host              `json:"host"`
	Images        map[string]string `json:"images"`
	Settings      Settings          `json:"settings"`
	// WallSeconds is make bench's wall time, from its script's start (BENCH_STARTED_AT) to the
	// report; WallFrom says which start it counts from.
	WallSeconds float64    `json:"wall_seconds"`
	WallFrom    string     `json:"wall_from"`
	Workloads   []Workload `json:"workloads"`
	Series      []Series   `json:"series"`
	Goals       []Goal     `json:"goals"`
	Notes       []string   `json:"notes,omitempty"`
}

// Workload is the named workload, or nil.
func (r *Report) Workload(name string) *Workload {
	for i := range r.Workloads {
		if r.Workloads[i].Spec.Name == name {
			return &r.Workloads[i]
		}
	}
	return nil
}

// Summary is the workload's summary for a path (the standing-in workload's for pulsar when
// PulsarFrom is set), or nil.
func (w *Workload) Summary(path string) *PathSummary {
	for i := range w.Summaries {
		if w.Summaries[i].Path == path {
			return &w.Summaries[i]
		}
	}
	return nil
}
