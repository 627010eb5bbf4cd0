// Package rules declares which matrix cells do not apply and why. The suite uses it to decide
// which specs exist; the matrix tool uses it to mark the missing cells N/A with the reason.
// A cell is never N/A because a spec failed.
package rules

import (
	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// Feature is a matrix row.
type Feature struct {
	Name        string
	Description string
	// MinLevel is the first Kafka protocol level that has the feature ("" = every level).
	MinLevel string
	// NeedsControl features need a server the suite starts and can restart.
	NeedsControl bool
	// Lacking names clients that do not have the feature, with the reason.
	Lacking map[string]string
}

// Features are the matrix rows in report order.
var Features = []Feature{
	{Name: "produce", Description: "Produce with acks 0/1/all; keys, null values, headers, timestamps; exact offsets"},
	{Name: "idempotence", Description: "Idempotent producer (InitProducerId, sequence numbers): a batch retried after a lost response is written once",
		Lacking: map[string]string{"kafka-go": "kafka-go has no idempotent producer"}},
	{Name: "fetch", Description: "Fetch from the start, from a middle offset inside a batch, long poll, and an oversized first record under small fetch limits (KIP-74)"},
	{Name: "compression", Description: "gzip, snappy and lz4 batches (zstd from 2.1) produced, stored and fetched back, also from inside a batch"},
	{Name: "large-records", Description: "A 3 MiB record (over Kafka's 1 MiB default) round-trips; a batch over the server's 4 MiB maximum gets MESSAGE_TOO_LARGE and is not written"},
	{Name: "offsets", Description: "ListOffsets earliest, latest and by timestamp; OffsetCommit/OffsetFetch with metadata"},
	{Name: "admin", Description: "CreatePartitions, DescribeConfigs and DeleteTopics; UNKNOWN_TOPIC_OR_PARTITION for a missing topic, INVALID_PARTITIONS for a shrink"},
	{Name: "offset-reset", Description: "A committed offset beyond the log end is reset by the consumer's policy: earliest and latest",
		Lacking: map[string]string{"kafka-go": "kafka-go's ConsumerGroup applies StartOffset only to partitions without a committed offset; it has no reset policy for an out-of-range one"}},
	{Name: "groups", Description: "Consumer groups: commit and resume; 1-3 members rebalancing with each assignor the client has; members leaving"},
	{Name: "static-membership", Description: "Static membership (group.instance.id): a crashed member rejoining under its instance id gets its partitions back at once, replacing its old self", MinLevel: "2.3",
		Lacking: map[string]string{"kafka-go": "kafka-go's ConsumerGroup has no group.instance.id (static membership)"}},
	{Name: "group-admin", Description: "DescribeGroups, ListGroups and DeleteGroups (NON_EMPTY_GROUP while members remain)", MinLevel: "1.1"},
	{Name: "mixed-group", Description: "One group with a franz-go, a sarama and a kafka-go member sharing the range assignor"},
	{Name: "durability", Description: "Records, offsets and committed offsets survive a server restart", NeedsControl: true},
	{Name: "tls", Description: "SSL listener: produce, fetch and a consumer group over TLS, the server verified against the test CA", NeedsControl: true},
	{Name: "mtls", Description: "SSL listener requiring client certificates: a CA-signed one is accepted; none, or one from an untrusted CA, is refused", NeedsControl: true},
	{Name: "sasl-plain", Description: "SASL/PLAIN (on Pulsar: tenant/namespace and a token Pulsar verifies): produce, fetch and a committing group; a wrong password gets SASL_AUTHENTICATION_FAILED", NeedsControl: true},
	{Name: "authorization", Description: "An authenticated principal without grants gets TOPIC_AUTHORIZATION_FAILED for a topic and GROUP_AUTHORIZATION_FAILED for a group; its produce fails and writes nothing", NeedsControl: true,
		Lacking: map[string]string{"kafka-go": "kafka-go answers Metadata from its transport's cache and reports a topic the principal may not see as UNKNOWN_TOPIC_OR_PARTITION (produce: \"topic not found\"), so TOPIC_AUTHORIZATION_FAILED never reaches the application (same against Apache Kafka)"}},
}

// Clients are the matrix columns, in report order.
var Clients = []string{"franz-go", "sarama", "kafka-go"}

// pinnable clients cap their own request versions; the others need a server listener per level.
var pinnable = map[string]bool{"franz-go": true, "sarama": true}

// Target says what the matrix runs against.
type Target struct {
	Name string
	// LevelListeners is true when the target can advertise a single level's versions
	// (the reference server), so non-pinnable clients get a column per level.
	LevelListeners bool
	// Controllable is true when the suite starts the server and can restart it.
	Controllable bool
}

// Levels are the protocol levels of the matrix, ascending.
func Levels() []string { return protocol.LevelNames() }

// Applies says whether a cell exists, and if not, why.
func Applies(feature, client, level string, t Target) (bool, string) {
	var f *Feature
	for i := range Features {
		if Features[i].Name == feature {
			f = &Features[i]
		}
	}
	if f == nil {
		return false, "unknown feature"
	}
	if f.MinLevel != "" && level < f.MinLevel {
		return false, "needs protocol level " + f.MinLevel + " or newer"
	}
	if why, ok := f.Lacking[client]; ok {
		return false, why
	}
	if f.NeedsControl && !t.Controllable {
		return false, "needs a server the suite starts and restarts"
	}
	if !pinnable[client] && !t.LevelListeners {
		return false, client + " negotiates versions from ApiVersions; per-level runs need the reference server's level listeners"
	}
	return true, ""
}

// TargetNamed returns what the matrix knows of a target by its name. The reference server has
// level listeners of its own; other targets get them from level proxies in front of them.
func TargetNamed(name string) Target {
	return Target{Name: name, LevelListeners: true, Controllable: name == "reference" || name == "kafka"}
}
