// Package clients drives real Kafka clients (franz-go, sarama, kafka-go) through one small
// interface, split by role (Producer, Consumer, Admin, GroupClient), so every conformance spec
// runs unchanged against each of them, pinned to a Kafka protocol level. Each operation takes
// a config struct saying how the client is set up for it (ProduceConfig, ConsumeConfig,
// GroupConfig).
package clients

import (
	"context"
	"sort"
	"time"
)

// Header is a record header; a nil Value is null.
type Header struct {
	Key   string
	Value []byte
}

// Record is what specs produce and consume. A nil Key or Value is null.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	Timestamp time.Time
	// HighWatermark is the partition's high watermark in the fetch response that carried a
	// consumed record, where the client exposes it (0: not known; produced records have none).
	HighWatermark int64
}

// Acks is the producer acknowledgement mode.
type Acks int

// Kafka's acks values.
const (
	AcksNone   Acks = 0
	AcksLeader Acks = 1
	AcksAll    Acks = -1
)

// Special ListOffsets queries.
const (
	Earliest int64 = -2
	Latest   int64 = -1
)

// Client is one Kafka client library pinned to one protocol level, in the roles every adapter
// has. What only some clients can do are optional interfaces a spec type-asserts its client to
// (GroupProtocol, RecordDeleter, LeaderEpochs, AutoCreator, Transactional, TopicConfigurer,
// AppendTimes; the rules say which clients lack which feature).
type Client interface {
	Producer
	Consumer
	Admin
	GroupClient
	Close()
}

// Producer writes records.
type Producer interface {
	// Produce sends recs (each to its Partition) with a producer set up as cfg says and returns
	// them with offsets filled in (offsets are -1 with AcksNone, where Kafka returns none).
	Produce(ctx context.Context, cfg ProduceConfig, recs []Record) ([]Record, error)
}

// Consumer reads partitions by offset.
type Consumer interface {
	// Consume reads n records of one partition starting at offset, with cfg's fetch settings.
	Consume(ctx context.Context, cfg ConsumeConfig, topic string, partition int32, offset int64, n int) ([]Record, error)
	// ListOffset answers Earliest, Latest, or the first offset at or after a millisecond timestamp.
	ListOffset(ctx context.Context, topic string, partition int32, query int64) (int64, error)
}

// Admin manages topics and consumer groups. Errors carry the Kafka code (see ErrorCode).
type Admin interface {
	// CreateTopic creates a topic with replication factor 1.
	CreateTopic(ctx context.Context, topic string, partitions int32) error
	// TopicPartitions is a topic's partition count from Metadata, without auto-creating it;
	// an unknown topic is an error with UNKNOWN_TOPIC_OR_PARTITION.
	TopicPartitions(ctx context.Context, topic string) (int32, error)
	// DeleteTopic, CreatePartitions (to a new total count) and TopicConfigs (the named
	// configs' values).
	DeleteTopic(ctx context.Context, topic string) error
	CreatePartitions(ctx context.Context, topic string, count int32) error
	TopicConfigs(ctx context.Context, topic string, names []string) (map[string]string, error)
	// DescribeGroup reports a group's state and members; an unknown group is Dead with none.
	DescribeGroup(ctx context.Context, group string) (GroupDescription, error)
	// ListGroups returns the ids of every group the broker knows.
	ListGroups(ctx context.Context) ([]string, error)
	// DeleteGroup deletes a group and its committed offsets.
	DeleteGroup(ctx context.Context, group string) error
}

// GroupClient takes part in consumer groups: as a member, or committing and fetching a
// group's offsets from outside it.
type GroupClient interface {
	// Join starts a member of a consumer group.
	Join(ctx context.Context, cfg GroupConfig) (GroupConsumer, error)
	// CommitOffsets commits as a client outside the group (generation -1), with metadata.
	CommitOffsets(ctx context.Context, group string, offsets []Offset) error
	// FetchOffsets returns the group's committed offsets for partitions 0..n-1 of topic
	// (Offset -1 where nothing was committed).
	FetchOffsets(ctx context.Context, group, topic string, n int32) ([]Offset, error)
}

// ConsumeConfig is how a consumer fetches. The zero value is the client's defaults, reading
// uncommitted.
type ConsumeConfig struct {
	MaxBytes          int32 // per fetch response (0: the client's default)
	PartitionMaxBytes int32 // per partition (0: the client's default)
	// MaxWait and MinBytes, when set, are sent as the Fetch request's max wait and min bytes
	// (long poll: the server holds the fetch until MinBytes are there or MaxWait has passed).
	MaxWait  time.Duration
	MinBytes int32
	// Isolation is the fetch isolation level (KIP-98): read_committed returns only records of
	// committed transactions (and non-transactional ones), skipping aborted records and
	// transaction markers.
	Isolation Isolation
}

// Isolation is a consumer's fetch isolation level (KIP-98).
type Isolation int8

// Kafka's isolation levels.
const (
	ReadUncommitted Isolation = 0
	ReadCommitted   Isolation = 1
)

// ClientMaxMessageBytes is the producers' own size limit, far above the servers' so the server
// under test is what accepts or refuses a large record.
const ClientMaxMessageBytes = 16 << 20

// ProduceConfig is how a producer is set up. Its zero value has acks=0 (AcksNone): say Acks.
type ProduceConfig struct {
	Acks        Acks
	Compression string // "", none, gzip, snappy, lz4, zstd
	Idempotent  bool   // enable.idempotence: InitProducerId, sequence numbers, retries
}

// Codecs are the compression codecs, with the first level that has each (zstd: KIP-110, 2.1).
var Codecs = []struct{ Name, MinLevel string }{
	{"gzip", ""}, {"snappy", ""}, {"lz4", ""}, {"zstd", "2.1"},
}

// Offset is a committed (or to-be-committed) position: the next offset to read.
type Offset struct {
	Topic     string
	Partition int32
	Offset    int64
	Metadata  string
}

// GroupConfig configures a group consumer.
type GroupConfig struct {
	Group          string
	Topics         []string
	Balancer       string // range, roundrobin, sticky, cooperative-sticky
	InstanceID     string // static membership when set
	ResetLatest    bool   // auto.offset.reset=latest; earliest otherwise
	SessionTimeout time.Duration
	// API picks the group consumer of clients that have more than one (other clients ignore
	// it): "" the client's group API with assignments; "reader" kafka-go's kafka.Reader with
	// GroupID (Assigned() returns nil: a Reader does not expose its assignment).
	API string
}

// Group timing the adapters use unless a spec sets its own: a short heartbeat so members learn
// of a rebalance within a fraction of a second instead of Kafka's default 3 s.
const (
	DefaultSessionTimeout = 10 * time.Second
	HeartbeatInterval     = 300 * time.Millisecond
)

func (g GroupConfig) session() time.Duration {
	if g.SessionTimeout > 0 {
		return g.SessionTimeout
	}
	return DefaultSessionTimeout
}

// GroupDescription is what DescribeGroups says of a group.
type GroupDescription struct {
	State   string // Kafka's names: Empty, Stable, PreparingRebalance, ..., Dead
	Members []MemberDescription
}

// MemberDescription is one member of a described group.
type MemberDescription struct {
	ClientID string
	Assigned map[string][]int32 // decoded consumer-protocol assignment, sorted
}

// GroupConsumer is one member of a consumer group, committing by hand.
type GroupConsumer interface {
	// Poll returns records as they arrive (at least one, unless ctx ends first).
	Poll(ctx context.Context) ([]Record, error)
	// Assigned is the current assignment, per topic, sorted.
	Assigned() map[string][]int32
	// Commit commits the given offsets within the member's generation.
	Commit(ctx context.Context, offsets []Offset) error
	// Vanish severs the member's connections without leaving the group, as a crash would;
	// the coordinator only notices when the session times out. Close still releases it.
	Vanish()
	// Close leaves the group.
	Close()
}

// assignedCopy returns a sorted copy of an assignment map.
func assignedCopy(m map[string][]int32) map[string][]int32 {
	out := make(map[string][]int32, len(m))
	for t, ps := range m {
		cp := append([]int32(nil), ps...)
		sort.Slice(cp, func(i, j int) bool { return cp[i] < cp[j] })
		if len(cp) > 0 {
			out[t] = cp
		}
	}
	return out
}
