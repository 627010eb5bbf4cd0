// Package storage keeps Kafka partitions in Pulsar: Kafka topic t, partition N is the Pulsar
// topic persistent://<tenant>/<namespace>/P-partition-N, where P = naming.ToPulsar(t) (t itself
// unless t contains "-partition-"). Offsets are Pulsar's broker entry indexes
// (AppendIndexMetadataInterceptor), so they are continuous (but for gaps Pulsar's index can
// leave after a failed write, served like a compacted Kafka log's), survive a gateway restart and are
// the same for every gateway. Log starts moved by DeleteRecords are kept in a compacted Pulsar
// topic (logstart.go). Nothing here keeps data only in memory: memory holds caches (sparse
// offset index, reusable readers, the log start table) that are rebuilt from Pulsar.
// A Store is the server's partition.Store in production.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/internal/pulsarwire"
)

var errNoIndex = errors.New("pulsar message has no broker entry index: enable " +
	"brokerEntryMetadataInterceptors=AppendIndexMetadataInterceptor and " +
	"exposingBrokerEntryMetadataToClientEnabled=true on the broker")

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("storage closed")

// Config says where Pulsar is and how topics are named.
type Config struct {
	ServiceURL string // pulsar://host:6650
	Tenant     string
	Namespace  string
	Logger     *slog.Logger
	Token      string // Pulsar token of the gateway itself, when Pulsar requires authentication
	// OperationTimeout bounds each Pulsar operation (connect, send, read).
	OperationTimeout time.Duration
	// MaxEntryBytes is the largest Pulsar entry a Kafka batch may become (the broker's
	// maxMessageSize; default 5 MiB, Pulsar's default).
	MaxEntryBytes int
	// PartitionIdle is how long a partition goes unused before it is parked (park.go); 0 never
	// parks.
	PartitionIdle time.Duration
	// Ledgers lists a topic's ledgers so a fetch far from any known offset can bisect the
	// topic's entries; without it such a fetch reads forward from the nearest known entry.
	Ledgers LedgerLister
	// Faults are deliberate defects for the suite's mutation check (faults.HeadersHidden);
	// empty in production.
	Faults faults.Set
	// Stage, when set, is told how long each stage of an append took (metrics): "write",
	// from sending a batch to Pulsar's acknowledgement, and "offset", from that to knowing
	// the batch's offset.
	Stage func(stage string, d time.Duration)
}

var _ partition.Store = (*Store)(nil)

// Store owns the Pulsar client and the open partitions.
type Store struct {
	cfg    Config
	client pulsar.Client
	wire   *pulsarwire.Client // appends' producers; nil when the service URL needs pulsar-client-go
	chains atomic.Uint64      // numbers the pipelined producers made (partition.Chain)
	log    *slog.Logger

	mu     sync.Mutex
	parts  map[partition.TP]*Partition
	starts *logStarts // nil until OpenLogStarts
	closed bool
	done   chan struct{} // closed by Close: stops parking

	// newTail opens a partition's tail reader and newReader a fetch reader (Pulsar readers;
	// tests replace them).
	newTail   func(topic string, start pulsar.MessageID) (tailReader, error)
	newReader func(topic string, start pulsar.MessageID, queue int) (reader, error)
}

// Open connects to Pulsar. It does not wait for the broker: the first operation does.
func Open(cfg Config) (*Store, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = 30 * time.Second
	}
	if cfg.MaxEntryBytes <= 0 {
		cfg.MaxEntryBytes = 5 << 20
	}
	opts := pulsar.ClientOptions{
		URL:               cfg.ServiceURL,
		OperationTimeout:  cfg.OperationTimeout,
		ConnectionTimeout: 10 * time.Second,
		Logger:            plog.NewLoggerWithSlog(cfg.Logger.With("component", "pulsar-client")),
	}
	if cfg.Token != "" {
		opts.Authentication = pulsar.NewAuthenticationToken(cfg.Token)
	}
	client, err := pulsar.NewClient(opts)
	if err != nil {
		return nil, fmt.Errorf("pulsar client for %s: %w", cfg.ServiceURL, err)
	}
	s := &Store{cfg: cfg, client: client, log: cfg.Logger, parts: map[partition.TP]*Partition{}, done: make(chan struct{})}
	if pulsarwire.Supported(cfg.ServiceURL) {
		// Appends go through the pipelined producer; another service URL (several hosts)
		// keeps pulsar-client-go's, one batch in flight per partition.
		if s.wire, err = pulsarwire.NewClient(cfg.ServiceURL, cfg.Token, cfg.OperationTimeout,
			cfg.Logger.With("component", "pulsar-producer")); err != nil {
			client.Close()
			return nil, err
		}
	}
	s.newTail = func(topic string, start pulsar.MessageID) (tailReader, error) {
		return s.openReader(topic, start, tailQueue)
	}
	s.newReader = s.openReader
	if cfg.PartitionIdle > 0 {
		go s.parkLoop(cfg.PartitionIdle, s.done)
	}
	return s, nil
}

// tailQueue is the most entries a tail reader has in flight. Every open partition has a tail,
// and under load the tails of many partitions lag at once, each holding what it was sent;
// the gateway's own appends are answered from the tip, not from the tail, so a short queue
// costs them nothing.
const tailQueue = 32

// openReader opens a reader at start, inclusive: the gateway's own on Pulsar's protocol when
// the service URL allows it, else pulsar-client-go's.
func (s *Store) openReader(topic string, start pulsar.MessageID, queue int) (reader, error) {
	if s.wire == nil {
		r, err := s.client.CreateReader(pulsar.ReaderOptions{
			Topic:                   topic,
			StartMessageID:          start,
			StartMessageIDInclusive: true,
			ReceiverQueueSize:       queue,
		})
		if err != nil {
			return nil, err
		}
		return clientReader{r}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.OperationTimeout)
	defer cancel()
	r, err := s.wire.Reader(ctx, topic, wirePosition(start), queue)
	if err != nil {
		return nil, err
	}
	return wireReader{r}, nil
}

// Client is the shared Pulsar client (the group coordinator writes through it too).
func (s *Store) Client() pulsar.Client { return s.client }

// TopicName is the full Pulsar name of a Kafka partition (the topic name must be legal).
func (s *Store) TopicName(tp partition.TP) string {
	return fmt.Sprintf("persistent://%s/%s/%s-partition-%d", s.cfg.Tenant, s.cfg.Namespace, naming.ToPulsar(tp.Topic), tp.Partition)
}

// OpenLogStarts reads the log starts DeleteRecords moved from topic (full Pulsar name of a
// compacted topic the gateway keeps for itself) and keeps following it. Call it once, before
// serving; it returns when every log start written before the call is known.
func (s *Store) OpenLogStarts(ctx context.Context, topic string) error {
	ls, err := openLogStarts(ctx, s.client, topic, s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.starts != nil {
		go ls.close()
		if s.closed {
			return ErrClosed
		}
		return errors.New("log starts already open")
	}
	s.starts = ls
	return nil
}

func (s *Store) logStarts() (*logStarts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.starts == nil {
		return nil, errors.New("the log start topic is not open")
	}
	return s.starts, nil
}

// deletedTo is the offset tp's records were deleted up to by DeleteRecords (0: none).
func (s *Store) deletedTo(tp partition.TP) int64 {
	s.mu.Lock()
	ls := s.starts
	s.mu.Unlock()
	if ls == nil {
		return 0
	}
	return ls.table.get(tp)
}

// ForgetLogStarts deletes the log starts of every partition of topic, so a topic created again
// under the name starts at offset 0. Call it after deleting a topic and before creating one
// (which clears entries left by a deletion made behind the gateway's back). Without entries it
// writes nothing.
func (s *Store) ForgetLogStarts(ctx context.Context, topic string) error {
	ls, err := s.logStarts()
	if err != nil {
		return err
	}
	return ls.forget(ctx, topic)
}

// Partition returns the open partition, opening it (and starting its tail reader) on first use.
// The caller has checked that the topic and partition exist.
func (s *Store) Partition(tp partition.TP) (partition.Log, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if p, ok := s.parts[tp]; ok && !p.failed() {
		return p, nil
	} else if ok {
		go p.close() // could not be opened (Pulsar was down): try again
	}
	p := newPartition(s, tp)
	s.parts[tp] = p
	return p, nil
}

// Forget closes and drops a partition (after its topic was deleted).
func (s *Store) Forget(topic string) {
	s.mu.Lock()
	var drop []*Partition
	for tp, p := range s.parts {
		if tp.Topic == topic {
			drop = append(drop, p)
			delete(s.parts, tp)
		}
	}
	s.mu.Unlock()
	for _, p := range drop {
		p.close()
	}
}

// Close closes every partition and the Pulsar client.
func (s *Store) Close() {
	s.mu.Lock()
	if !s.closed && s.done != nil {
		close(s.done)
	}
	s.closed = true
	parts := s.parts
	s.parts = map[partition.TP]*Partition{}
	starts := s.starts
	s.starts = nil
	s.mu.Unlock()
	for _, p := range parts {
		p.close()
	}
	if starts != nil {
		starts.close()
	}
	if s.wire != nil {
		s.wire.Close()
	}
	s.client.Close()
}

// Open is how many partitions are open (each with its tail reader, and a producer once
// written to).
func (s *Store) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.parts)
}
