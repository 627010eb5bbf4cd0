// Package clients drives real Kafka clients (franz-go, sarama, kafka-go) through one small
// interface so every conformance spec runs unchanged against each of them, pinned to a Kafka
// protocol level.
package clients

import (
	"context"
	"errors"
	"fmt"
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
	// Consume reads n records of one partition starting at offset.
	Consume(ctx context.Context, topic string, partition int32, offset int64, n int) ([]Record, error)
	// ListOffset answers Earliest, Latest, or the first offset at or after a millisecond timestamp.
	ListOffset(ctx context.Context, topic string, partition int32, query int64) (int64, error)
	Close()
}

// Target says where the endpoint under test is.
type Target struct {
	Name      string            // reference, kafka, external
	Bootstrap string            // host:port of the default listener
	Levels    map[string]string // level -> host:port of a listener capped to that level (reference only)
}

// Kind describes one client library.
type Kind struct {
	Name string
	// Pinnable clients cap their own request versions to a level. The others negotiate from
	// ApiVersions, so a level needs a server listener that advertises only that level.
	Pinnable bool
	New      func(t Target, level string) (Client, error)
}

// Kinds is every client under test, in report order.
var Kinds = []Kind{
	{Name: "franz-go", Pinnable: true, New: newFranz},
	{Name: "sarama", Pinnable: true, New: newSarama},
	{Name: "kafka-go", Pinnable: false, New: newKafkaGo},
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

// byOffset sorts consumed records for stable comparisons.
func byOffset(recs []Record) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].Offset < recs[j].Offset })
}
