// Package rules declares the matrix: its rows (features), which cells do not apply and why,
// which features a target does not serve, and which APIs each feature's specs must be seen to
// send. The suite uses it to decide which specs exist and what their wire traffic must show;
// the matrix tool uses it to mark the missing cells N/A or "not served" with the reason. A
// cell is never N/A because a spec failed. The columns (clients) and levels are matrix/dims'.
package rules

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// Feature is a matrix row.
type Feature struct {
	Name        string
	Description string
	// MinLevel is the first Kafka protocol level that has the feature ("" = every level).
	MinLevel string
	// NeedsControl features need a server the suite starts and can restart.
	NeedsControl bool
	// NeedsPulsar features need a target that stores its data in a Pulsar the suite reaches.
	NeedsPulsar bool
	// Lacking names clients that do not have the feature, with the reason.
	Lacking map[string]string
	// NotServedBy names targets that do not serve the feature, with the reason: their cells
	// are shown as "not served", and no spec runs there.
	NotServedBy map[string]string
	// APIs are requests every spec of the feature must be seen to send (by each client it
	// drives), so a spec that never exercised its feature cannot pass.
	APIs []kmsg.Key
}

// Features are the matrix rows in report order.
var Features = []Feature{
	{Name: "produce", Description: "Produce with acks 0/1/all; keys, null values, headers, timestamps; exact offsets", APIs: []kmsg.Key{kmsg.Produce, kmsg.Fetch}},
	{Name: "idempotence", Description: "Idempotent producer (InitProducerId, sequence numbers): a batch retried after a lost response is written once",
		Lacking: map[string]string{dims.KafkaGo: "kafka-go has no idempotent producer"}, APIs: []kmsg.Key{kmsg.InitProducerID, kmsg.Produce}},
	{Name: "fetch", Description: "Fetch from the start and from inside a batch; long poll parked before the produce that wakes it (wake-up latency bounded), max wait honoured when nothing comes, min bytes; high watermark and log start in responses; an oversized first record under small limits (KIP-74)", APIs: []kmsg.Key{kmsg.Fetch}},
	{Name: "compression", Description: "gzip, snappy and lz4 batches (zstd from 2.1) produced, stored and fetched back, also from inside a batch", APIs: []kmsg.Key{kmsg.Produce, kmsg.Fetch}},
	{Name: "large-records", Description: "A 3 MiB record (over Kafka's 1 MiB default) round-trips; a batch over the server's 4 MiB maximum gets MESSAGE_TOO_LARGE and is not written", APIs: []kmsg.Key{kmsg.Produce}},
	{Name: "concurrent-produce", Description: "A 32-partition topic written by four concurrent producers reads back complete, in per-partition order, with continuous offsets", APIs: []kmsg.Key{kmsg.Produce, kmsg.Fetch}},
	{Name: "offsets", Description: "ListOffsets earliest, latest and by timestamp (spread over batches, past the last record, in the future); OffsetCommit/OffsetFetch with metadata", APIs: []kmsg.Key{kmsg.ListOffsets}},
	{Name: "topics", Description: "Topics auto-created on first use, Kafka's naming rules (INVALID_TOPIC_EXCEPTION; names like t-partition-3 that collide with the storage mapping work), TOPIC_ALREADY_EXISTS, and UNKNOWN_TOPIC_OR_PARTITION for produce, fetch and ListOffsets to a missing topic or partition", APIs: []kmsg.Key{kmsg.Metadata}},
	{Name: "admin", Description: "CreatePartitions, DescribeConfigs and DeleteTopics; UNKNOWN_TOPIC_OR_PARTITION for a missing topic, INVALID_PARTITIONS for a shrink", APIs: []kmsg.Key{kmsg.CreatePartitions, kmsg.DescribeConfigs, kmsg.DeleteTopics}},
	{Name: "delete-records", Description: "DeleteRecords moves the log start: ListOffsets earliest follows it, a fetch below it gets OFFSET_OUT_OF_RANGE, records above it stay; deleting up to the high watermark empties the partition and the log continues",
		Lacking: map[string]string{dims.KafkaGo: "kafka-go has no DeleteRecords call"}, APIs: []kmsg.Key{kmsg.DeleteRecords, kmsg.ListOffsets}},
	{Name: "leader-epoch", Description: "OffsetForLeaderEpoch answers leader epoch 0 and the log end for epoch 0, an undefined epoch and offset for a later epoch, and UNKNOWN_LEADER_EPOCH for a current epoch from the future (2.1+)",
		Lacking: map[string]string{dims.Sarama: "sarama has no OffsetForLeaderEpoch call", dims.KafkaGo: "kafka-go has no OffsetForLeaderEpoch call"}, APIs: []kmsg.Key{kmsg.OffsetForLeaderEpoch}},
	{Name: "offset-reset", Description: "A committed offset out of range is reset by the consumer's policy: past the log end to earliest and to latest, below the log start (after DeleteRecords) to earliest; exact positions",
		Lacking: map[string]string{dims.KafkaGo: "kafka-go's ConsumerGroup applies StartOffset only to partitions without a committed offset; it has no reset policy for an out-of-range one"}, APIs: []kmsg.Key{kmsg.OffsetCommit, kmsg.JoinGroup, kmsg.Fetch}},
	{Name: "groups", Description: "Consumer groups: commit and resume; committed offsets handed over exactly when a member leaves or dies; 1-3 members rebalancing with each assignor the client has; eviction after the session timeout, not before and not much after", APIs: []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup}},
	{Name: "commit-fencing", Description: "OffsetCommit from a stale generation, an unknown member and during a rebalance gets ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID and REBALANCE_IN_PROGRESS; nothing is stored", APIs: []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.OffsetCommit}},
	{Name: "static-membership", Description: "Static membership (group.instance.id): a crashed member rejoining under its instance id gets its partitions back at once, replacing its old self", MinLevel: "2.3",
		Lacking: map[string]string{dims.KafkaGo: "kafka-go's ConsumerGroup has no group.instance.id (static membership)"}, APIs: []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup}},
	{Name: "group-admin", Description: "DescribeGroups and ListGroups of an active and an empty group; DeleteGroups from 1.1 (NON_EMPTY_GROUP while members remain, offsets gone after)", APIs: []kmsg.Key{kmsg.DescribeGroups, kmsg.ListGroups}},
	{Name: "mixed-group", Description: "One group with a franz-go, a sarama and a kafka-go member sharing the range assignor", APIs: []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup}},
	{Name: "interop", Description: "Kafka and Pulsar clients share one log: Kafka records read by a Pulsar consumer and reader (key, value, headers as properties, event time, order), Pulsar messages (batched or not) read by Kafka clients with continuous offsets, both producers interleaved on one partition, a Pulsar subscription and a Kafka group consuming independently, topics created on either side seen by the other",
		NeedsPulsar: true, APIs: []kmsg.Key{kmsg.Metadata}},
	{Name: "hostile", Description: "After hostile requests to a gateway under a memory cap (a gzip bomb claiming 104,857,599 records, CreateTopics with 2,000,000 partitions, a path-traversal topic name, a 2 GiB frame, frames announced and never sent), each refused with its code and storing nothing, the client still produces and consumes exactly, and the gateway was never OOM-killed or restarted",
		NeedsControl: true, NeedsPulsar: true, APIs: []kmsg.Key{kmsg.Produce, kmsg.Fetch}},
	{Name: "metrics", Description: "The gateway's Prometheus endpoint (--metrics-addr) counts what the client did: Produce and Fetch requests and their latency, bytes received and sent, open connections and partitions",
		NeedsControl: true, NotServedBy: map[string]string{"kafka": "Apache Kafka exposes its metrics over JMX, not a Prometheus endpoint"}, APIs: []kmsg.Key{kmsg.Produce, kmsg.Fetch}},
	{Name: "durability", Description: "Records, offsets and committed offsets survive a server restart", NeedsControl: true, APIs: []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.ListOffsets, kmsg.OffsetFetch}},
	{Name: "tls", Description: "SSL listener: produce, fetch and a consumer group over TLS, the server verified against the test CA", NeedsControl: true, APIs: []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.JoinGroup}},
	{Name: "mtls", Description: "SSL listener requiring client certificates: a CA-signed one is accepted; none, or one from an untrusted CA, is refused", NeedsControl: true, APIs: []kmsg.Key{kmsg.Produce, kmsg.Fetch}},
	{Name: "sasl-plain", Description: "SASL/PLAIN (on Pulsar: tenant/namespace and a token Pulsar verifies): produce, fetch and a committing group; a wrong password gets SASL_AUTHENTICATION_FAILED", NeedsControl: true, APIs: []kmsg.Key{kmsg.SASLHandshake}},
	{Name: "authorization", Description: "An authenticated principal gets exactly what it was granted: without grants TOPIC_AUTHORIZATION_FAILED for Metadata, Produce, Fetch and ListOffsets and GROUP_AUTHORIZATION_FAILED for JoinGroup, OffsetCommit and OffsetFetch, writing nothing (codes as each client reports them against Apache Kafka); with consume-only grants it reads and commits but cannot produce", NeedsControl: true,
		APIs: []kmsg.Key{kmsg.Metadata}},
	{Name: "transactions", Description: "Transactional producer: committed records are read by read_committed consumers, aborted ones are not",
		Lacking:     map[string]string{dims.KafkaGo: "kafka-go has no transactional producer"},
		NotServedBy: map[string]string{"reference": "transactions are not served: a transactional id gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED"}, APIs: []kmsg.Key{kmsg.InitProducerID, kmsg.EndTxn}},
	{Name: "sasl-scram", Description: "SASL/SCRAM-SHA-256 and SHA-512: produce and fetch as a SCRAM user; a wrong password gets SASL_AUTHENTICATION_FAILED", NeedsControl: true,
		NotServedBy: map[string]string{"reference": "SASL offers PLAIN only (tokens verified by Pulsar); SCRAM is not served"}, APIs: []kmsg.Key{kmsg.SASLHandshake}},
	{Name: "sasl-oauthbearer", Description: "SASL/OAUTHBEARER with an unsecured JWT: produce and fetch as the token's principal", NeedsControl: true,
		Lacking:     map[string]string{dims.KafkaGo: "kafka-go has no OAUTHBEARER mechanism"},
		NotServedBy: map[string]string{"reference": "SASL offers PLAIN only; OAUTHBEARER is not served"}, APIs: []kmsg.Key{kmsg.SASLHandshake}},
	{Name: "log-append-time", Description: "A topic with message.timestamp.type=LogAppendTime: the broker stamps records with its own time, in the produce response and on consumed records",
		Lacking:     map[string]string{dims.KafkaGo: "kafka-go's record reader ignores a batch's LogAppendTime attribute and max timestamp: consumed records keep the producer's timestamp"},
		NotServedBy: map[string]string{"reference": "LogAppendTime is not served: records keep the producer's timestamp (CreateTopics refuses message.timestamp.type=LogAppendTime)"}, APIs: []kmsg.Key{kmsg.Produce, kmsg.Fetch}},
}

// Target says what the matrix runs against.
type Target struct {
	Name string
	// Controllable is true when the suite starts the server and can restart it.
	Controllable bool
	// Pulsar is true when the target stores its data in a Pulsar the suite can reach.
	Pulsar bool
}

// Lookup returns the feature of that name.
func Lookup(name string) (Feature, bool) {
	i := slices.IndexFunc(Features, func(f Feature) bool { return f.Name == name })
	if i < 0 {
		return Feature{}, false
	}
	return Features[i], true
}

// Applies says whether a cell exists, and if not, why. A feature the target does not serve
// applies (it is a gap of the target, see NotServed), but has no spec on that target.
func Applies(feature, client, level string, t Target) (bool, string) {
	f, ok := Lookup(feature)
	if !ok {
		return false, "unknown feature"
	}
	if f.MinLevel != "" && !dims.LevelAtLeast(level, f.MinLevel) {
		return false, "needs protocol level " + f.MinLevel + " or newer"
	}
	if why, ok := f.Lacking[client]; ok {
		return false, why
	}
	if f.NeedsControl && !t.Controllable {
		return false, "needs a server the suite starts and restarts"
	}
	if f.NeedsPulsar && !t.Pulsar {
		return false, "needs a target that stores its data in Pulsar (Kafka-on-Pulsar)"
	}
	return true, ""
}

// NotServed says whether a target does not serve a feature, and why.
func NotServed(feature string, t Target) (bool, string) {
	f, _ := Lookup(feature)
	why, ok := f.NotServedBy[t.Name]
	return ok, why
}

// Runs says whether the suite has specs for the cell on the target: it applies and is served.
func Runs(feature, client, level string, t Target) bool {
	if ok, _ := Applies(feature, client, level, t); !ok {
		return false
	}
	ns, _ := NotServed(feature, t)
	return !ns
}

// TargetNamed returns what the matrix knows of a target by its name.
func TargetNamed(name string) Target {
	return Target{Name: name, Controllable: name == "reference" || name == "kafka", Pulsar: name == "reference"}
}
