// Package clients drives real Kafka clients (franz-go, sarama, kafka-go) through one small
// interface so every conformance spec runs unchanged against each of them, pinned to a Kafka
// protocol level.
package clients

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
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

// Client is one Kafka client library pinned to one protocol level.
type Client interface {
	// CreateTopic creates a topic with replication factor 1.
	CreateTopic(ctx context.Context, topic string, partitions int32) error
	// Produce sends recs (each to its Partition) and returns them with offsets filled in
	// (offsets are -1 with AcksNone, where Kafka returns none).
	Produce(ctx context.Context, acks Acks, recs []Record) ([]Record, error)
	// ProduceWith is Produce with the producer's settings spelled out.
	ProduceWith(ctx context.Context, cfg ProduceConfig, recs []Record) ([]Record, error)
	// Consume reads n records of one partition starting at offset.
	Consume(ctx context.Context, topic string, partition int32, offset int64, n int) ([]Record, error)
	// ConsumeWith is Consume with fetch size limits.
	ConsumeWith(ctx context.Context, cfg ConsumeConfig, topic string, partition int32, offset int64, n int) ([]Record, error)
	// ListOffset answers Earliest, Latest, or the first offset at or after a millisecond timestamp.
	ListOffset(ctx context.Context, topic string, partition int32, query int64) (int64, error)
	// CommitOffsets commits as a client outside the group (generation -1), with metadata.
	CommitOffsets(ctx context.Context, group string, offsets []Offset) error
	// FetchOffsets returns the group's committed offsets for partitions 0..n-1 of topic
	// (Offset -1 where nothing was committed).
	FetchOffsets(ctx context.Context, group, topic string, n int32) ([]Offset, error)
	// Consumer joins a consumer group.
	Consumer(ctx context.Context, cfg GroupConfig) (GroupConsumer, error)
	// TopicPartitions is a topic's partition count from Metadata, without auto-creating it;
	// an unknown topic is an error with UNKNOWN_TOPIC_OR_PARTITION.
	TopicPartitions(ctx context.Context, topic string) (int32, error)
	// DeleteTopic, CreatePartitions (to a new total count) and TopicConfigs (the named
	// configs' values) return errors that carry the Kafka code.
	DeleteTopic(ctx context.Context, topic string) error
	CreatePartitions(ctx context.Context, topic string, count int32) error
	TopicConfigs(ctx context.Context, topic string, names []string) (map[string]string, error)
	// DescribeGroup reports a group's state and members; an unknown group is Dead with none.
	DescribeGroup(ctx context.Context, group string) (GroupDescription, error)
	// ListGroups returns the ids of every group the broker knows.
	ListGroups(ctx context.Context) ([]string, error)
	// DeleteGroup deletes a group and its committed offsets; the error carries the Kafka
	// error code (see ErrorCode).
	DeleteGroup(ctx context.Context, group string) error
	Close()
}

// ConsumeConfig sets a consumer's fetch limits (0: the client's default).
type ConsumeConfig struct {
	MaxBytes          int32 // per fetch response
	PartitionMaxBytes int32 // per partition
	// MaxWait and MinBytes, when set, are sent as the Fetch request's max wait and min bytes
	// (long poll: the server holds the fetch until MinBytes are there or MaxWait has passed).
	MaxWait  time.Duration
	MinBytes int32
}

// ClientMaxMessageBytes is the producers' own size limit, far above the servers' so the server
// under test is what accepts or refuses a large record.
const ClientMaxMessageBytes = 16 << 20

// ProduceConfig is how a producer is set up.
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

// Target says where the endpoint under test is.
type Target struct {
	Name      string            // reference, kafka, external
	Bootstrap string            // host:port of the default listener
	Levels    map[string]string // level -> host:port of a listener capped to that level
	// Secure are the TLS listeners by name (SSL: server TLS; MTLS: client certificates
	// required), each with level listeners of its own; CertDir holds their certificates.
	Secure  map[string]Endpoint `json:",omitempty"`
	CertDir string              `json:",omitempty"`
	// Users are the SASL principals by role (UserAllowed, ...) on the SASL listener.
	Users map[string]Credentials `json:",omitempty"`
	// TLS and SASL, when set, are how clients connect (see Over and OverSASL).
	TLS  *tls.Config  `json:"-"`
	SASL *Credentials `json:"-"`
	// FailFast asks clients not to retry failed requests, so a refused connection surfaces as
	// the client's error instead of retries until a deadline.
	FailFast bool `json:"-"`
	// ClientID prefixes the client id every client sends ("<ClientID>.<client name>"), so the
	// wire tap can tell one spec's requests from another's; empty uses a fixed id.
	ClientID string `json:"-"`
	// WireURL is the wire tap recording every request by client id (package wiretap): the
	// reference server's debug endpoint, or the suite's level proxies.
	WireURL string `json:",omitempty"`
	// Pulsar is where the target keeps its data, for targets on Pulsar the suite can reach.
	Pulsar *Pulsar `json:",omitempty"`
}

// PulsarListener is the name of the Pulsar listener advertised to the suite's own clients.
const PulsarListener = "external"

// Pulsar is the Pulsar cluster behind a Kafka-on-Pulsar target.
type Pulsar struct {
	ServiceURL string // pulsar://host:port, reachable from the suite
	AdminURL   string // http://host:port
	Token      string `json:",omitempty"` // a superuser token when Pulsar authenticates
	Tenant     string
	Namespace  string
}

// ClientIDFor is the client id a client of the named library sends on t.
func (t Target) ClientIDFor(kind string) string {
	if t.ClientID == "" {
		return "kop-conformance-" + kind
	}
	return t.ClientID + "." + kind
}

// Credentials are a SASL username and password, and the mechanism to present them with
// (Mechanism* constants; "" is PLAIN). For OAUTHBEARER, User is the subject of the unsecured
// token the client mints (see UnsecuredJWT) and Password is unused.
type Credentials struct {
	User, Password string
	Mechanism      string `json:",omitempty"`
}

// The principals of the security specs, by role (Target.Users).
const (
	UserAllowed       = "allowed"        // may use the suite's topics and groups
	UserWrongPassword = "wrong-password" // the allowed user with a password the server refuses
	UserDenied        = "denied"         // authenticates, but has no permissions
	UserConsumeOnly   = "consume-only"   // may read topics and use groups, but not produce
)

// Endpoint is a listener and its level-capped companions.
type Endpoint struct {
	Bootstrap string
	Levels    map[string]string
}

// Over is the target reached through its secure listener name with the client TLS config cfg.
func (t Target) Over(name string, cfg *tls.Config) (Target, error) {
	ep, ok := t.Secure[name]
	if !ok {
		return Target{}, fmt.Errorf("target %s has no %s listener", t.Name, name)
	}
	t.Bootstrap, t.Levels, t.TLS = ep.Bootstrap, ep.Levels, cfg
	return t, nil
}

// OverSASL is the target reached through its SASL listener as the user of the given role.
func (t Target) OverSASL(role string) (Target, error) {
	u, ok := t.Users[role]
	if !ok {
		return Target{}, fmt.Errorf("target %s has no SASL user %q", t.Name, role)
	}
	t, err := t.Over("SASL", nil)
	t.SASL = &u
	return t, err
}

// Kind describes one client library.
type Kind struct {
	Name string
	// Balancers are the group assignors the client implements, by protocol name.
	Balancers []string
	// BalancerMinLevel is the first level at which the client offers an assignor, where it
	// needs one.
	BalancerMinLevel map[string]string
	// Pinnable clients cap their own request versions to a level. The others negotiate from
	// ApiVersions, so a level needs a server listener that advertises only that level.
	Pinnable bool
	// EmptyAsNull clients return an empty key, value or header value as null when consuming
	// (kafka-go's Reader reads a zero length as no bytes at all), so null and empty cannot be
	// told apart through them; they produce the two distinctly.
	EmptyAsNull bool
	New         func(t Target, level string) (Client, error)
}

// adapters are the kinds by client name (matrix/dims names the clients and their order).
var adapters = map[string]Kind{
	// franz-go's cooperative-sticky is client-side (KIP-429 over any JoinGroup version), so it
	// runs at every level; sarama refuses a cooperative strategy below 2.4 in its config check.
	dims.FranzGo: {Pinnable: true, New: newFranz, Balancers: []string{"range", "roundrobin", "sticky", "cooperative-sticky"}},
	dims.Sarama: {Pinnable: true, New: newSarama, Balancers: []string{"range", "roundrobin", "sticky", "cooperative-sticky"},
		BalancerMinLevel: map[string]string{"cooperative-sticky": "2.4"}},
	dims.KafkaGo: {Pinnable: false, EmptyAsNull: true, New: newKafkaGo, Balancers: []string{"range", "roundrobin"}},
}

// Kinds is every client under test, in report order (dims.Clients). A client without an
// adapter stops the program: its column would be empty.
var Kinds = func() []Kind {
	var out []Kind
	for _, name := range dims.Clients() {
		k, ok := adapters[name]
		if !ok {
			panic("clients: no adapter for client " + name)
		}
		k.Name = name
		out = append(out, k)
	}
	return out
}()

// KindNamed returns the kind of the named client.
func KindNamed(name string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// ErrNoLevelListener means a non-pinnable client was asked for a level the target cannot emulate.
var ErrNoLevelListener = errors.New("target has no listener for this protocol level")

func levelAddr(t Target, level string) (string, error) {
	addr, ok := t.Levels[level]
	if !ok {
		return "", fmt.Errorf("%w %s", ErrNoLevelListener, level)
	}
	return addr, nil
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

// drain waits for one record, then takes whatever else is already queued
// without waiting; ok is false when ctx ended first.
func drain(ctx context.Context, ch <-chan Record) (out []Record, ok bool) {
	select {
	case r := <-ch:
		out = append(out, r)
	case <-ctx.Done():
		return nil, false
	}
	for {
		select {
		case r := <-ch:
			out = append(out, r)
		default:
			return out, true
		}
	}
}

// byOffset sorts consumed records for stable comparisons.
func byOffset(recs []Record) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].Offset < recs[j].Offset })
}
