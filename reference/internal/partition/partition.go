// Package partition is the seam between the Kafka handlers and where partitions are kept: a
// partition log with Kafka's offsets (Log) and the set of them (Store). Package storage keeps
// them in Pulsar; Memory keeps them in memory for in-process tests of the handlers. The seam
// lives here, not in the server, because a Store hands out Logs: both implementations must
// name the same interface.
package partition

import (
	"context"

	"github.com/kop-conformance/kop-conformance/reference/records"
)

// TP is a Kafka topic partition.
type TP struct {
	Topic     string
	Partition int32
}

// Batch is a run of consecutive records stored together (one Pulsar entry: a produced batch).
type Batch struct {
	Records []records.Record
}

// Log is one partition as the handlers see it: Kafka offsets, continuous from the first record,
// a log start that DeleteRecords moves, and a high watermark whose advance wakes long polls.
type Log interface {
	// Append stores records as one batch and returns the offset of the first one.
	Append(ctx context.Context, recs []records.Record) (int64, error)
	// Read returns records from offset on, up to maxBytes, but always at least one record when
	// any is available (KIP-74). It never waits for new data: callers long-poll with Changed.
	Read(ctx context.Context, offset int64, maxBytes int) ([]Batch, error)
	// HighWatermark is the offset the next record will get.
	HighWatermark(ctx context.Context) (int64, error)
	// LogStart is the first offset that can be read, never above the high watermark.
	LogStart(ctx context.Context) (int64, error)
	// OffsetForTimestamp is the first offset at or after the log start whose record timestamp
	// is >= ts, with that timestamp, or (-1, -1) when no record is that late.
	OffsetForTimestamp(ctx context.Context, ts int64) (int64, int64, error)
	// Changed returns a channel closed when the high watermark next advances. Take it before
	// reading the high watermark so no advance is missed.
	Changed() <-chan struct{}
	// DeleteBefore moves the log start up to offset (DeleteRecords). The caller has checked that
	// offset is above the current log start and at most the high watermark.
	DeleteBefore(ctx context.Context, offset int64) error
}

// Store opens partition logs. The caller has checked that a topic and partition exist before
// asking for its log.
type Store interface {
	Partition(tp TP) (Log, error)
	// Forget drops a deleted topic's open partitions.
	Forget(topic string)
	// ForgetLogStarts deletes the log starts of every partition of topic, so a topic created
	// again under the name starts at offset 0.
	ForgetLogStarts(ctx context.Context, topic string) error
}
