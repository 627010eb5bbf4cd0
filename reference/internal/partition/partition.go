// Package partition is the seam between the Kafka handlers and where partitions are kept: a
// partition log with Kafka's offsets (Log) and the set of them (Store). Package storage keeps
// them in Pulsar; Memory keeps them in memory for in-process tests of the handlers. The seam
// lives here, not in the server, because a Store hands out Logs: both implementations must
// name the same interface.
package partition

import (
	"context"
	"errors"

	"github.com/kop-conformance/kop-conformance/reference/records"
)

// ErrBatchTooLarge is a batch the storage cannot keep as one unit (Produce answers
// MESSAGE_TOO_LARGE).
var ErrBatchTooLarge = errors.New("batch too large to store as one unit")

// TP is a Kafka topic partition.
type TP struct {
	Topic     string
	Partition int32
}

// Batch is a run of consecutive records stored together (one Pulsar entry: a produced batch).
type Batch struct {
	Records []records.Record
	// Producer is the idempotent producer that wrote the batch, when it was one and the run
	// starts at the batch's first record.
	Producer *Producer
}

// Producer names an idempotent producer's batch (KIP-98): the producer id and epoch and the
// sequence numbers of the batch's first and last records. The log keeps it with the batch so
// that what a producer wrote can be read back after a restart or a write in doubt.
type Producer struct {
	ID                int64
	Epoch             int16
	FirstSeq, LastSeq int32
}

// ProducerBatch is an idempotent batch the log holds and the offset of its first record.
type ProducerBatch struct {
	Producer
	Base int64
}

// Log is one partition as the handlers see it: Kafka offsets, continuous from the first record,
// a log start that DeleteRecords moves, and a high watermark whose advance wakes long polls.
type Log interface {
	// Append stores records as one batch, all or nothing, and returns the offset of the first
	// one; prod is the idempotent producer that sent them, or nil. An error means the batch may
	// or may not be stored (Pulsar did not answer): RecentProducers tells, for an idempotent one.
	// A stored batch whose offset could not be learned is answered with offset -1 and no error.
	Append(ctx context.Context, recs []records.Record, prod *Producer) (int64, error)
	// Begin is Append in two steps: it returns once the batch is on its way, and wait gives
	// Append's outcome. Batches begun one after another are stored in that order, whether or
	// not the earlier ones are acknowledged yet. An error from Begin means nothing was sent.
	Begin(ctx context.Context, w Write) (wait Wait, chain Chain, err error)
	// RecentProducers returns the idempotent batches among the last n records the log holds,
	// oldest first, once every write the storage acknowledged is known (a write in doubt has
	// landed or never will).
	RecentProducers(ctx context.Context, n int64) ([]ProducerBatch, error)
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

// Write is a batch for Log.Begin.
type Write struct {
	Records  []records.Record
	Producer *Producer // the idempotent producer that sent them, or nil
	// After is set for a batch that must not be stored unless the one before it is (the
	// next batch of an idempotent producer): that one's chain. When its writer has failed,
	// Begin refuses with ErrChainBroken and sends nothing.
	After Chain
	// Compress says the client compressed the batch: it is stored compressed too.
	Compress bool
}

// Chain names the writer a batch was sent with (Log.Begin): batches sent with one are stored
// in order, and if one fails every later one fails too. 0 is none.
type Chain uint64

// Broken is the chain of a batch whose write failed before Begin returned (a store that
// writes one batch at a time): one that follows it is refused with ErrChainBroken.
const Broken Chain = 1<<64 - 1

// ErrChainBroken is Begin refusing a batch whose predecessor's writer failed: the predecessor
// may not be stored, so this one must not be either, until the caller knows.
var ErrChainBroken = errors.New("the batch before this one is in doubt")

// Wait is the second step of Log.Begin: the first record's offset, or why the batch may not
// be stored. It is called once.
type Wait func() (int64, error)

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
