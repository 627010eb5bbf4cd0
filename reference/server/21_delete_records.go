package server

// DeleteRecords, key 21, versions 0–2 (v2 is flexible; each listener's level caps it: 1.0
// serves v0, 2.0–2.5 v1, 2.6 v2).
//
// Moves a partition's log start offset, as Kafka does (KIP-107). Per partition: offset -1 means
// the high watermark; a negative offset or one above the high watermark gets
// OFFSET_OUT_OF_RANGE; an offset at or below the current log start changes nothing and answers
// the current log start as the low watermark; otherwise the log start moves to the offset and
// the low watermark answered is the new log start. From then on Fetch below it gets
// OFFSET_OUT_OF_RANGE, ListOffsets earliest answers it, a timestamp lookup never answers below
// it and Produce (v5+) and Fetch responses carry it: they all read storage's log start.
//
// Records are not physically removed: Pulsar's retention governs the bytes. The new log start
// is written to the compacted Pulsar topic __kop_log_start (key "<topic>/<partition>") and
// acknowledged by Pulsar before the response is sent, so every gateway and every restart
// agree on it (reference/internal/storage/logstart.go). A deleted topic's log starts are
// deleted with it, so a topic created again under the name starts at 0.
//
// Partitions are moved concurrently (at most 32 at a time). Errors per partition:
// TOPIC_AUTHORIZATION_FAILED without Pulsar's produce grant on the topic (Kafka's DELETE on the
// topic maps to Pulsar's produce: the permission to change the topic's data), then
// UNKNOWN_TOPIC_OR_PARTITION for an unknown topic or partition or a name no topic can have
// (Kafka's order and codes), NOT_LEADER_OR_FOLLOWER when the topic could not be looked up,
// OFFSET_OUT_OF_RANGE, REQUEST_TIMED_OUT when the lookup or the new log start did not complete
// within the request's timeout (a timeout <= 0 waits up to two minutes: with one replica
// Kafka completes at once), KAFKA_STORAGE_ERROR when Pulsar failed, UNKNOWN_SERVER_ERROR when
// the partition's work panicked (logged with its stack). A failed partition answers low
// watermark -1.
//
// Test-only fault faults.IgnoreLogStart: every partition that passes the checks answers success
// with the requested offset (-1: the high watermark) as its low watermark, and nothing is
// stored.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

func init() { register(kmsg.DeleteRecords, 0, 2, handleDeleteRecords) }

const (
	maxDeleteRecordsWait = 2 * time.Minute
	// deleteRecordsParallel bounds the partitions one request moves at once (a request may
	// name millions).
	deleteRecordsParallel = 32
)

func handleDeleteRecords(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.DeleteRecordsRequest)
	s := rc.s
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	timeout := time.Duration(req.TimeoutMillis) * time.Millisecond
	if timeout <= 0 || timeout > maxDeleteRecordsWait {
		timeout = maxDeleteRecordsWait
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	topics := rc.resolver(ctx, kmsg.DeleteRecords).within(wctx)
	store := !s.cfg.Faults.On(faults.IgnoreLogStart)
	var wg sync.WaitGroup
	sem := make(chan struct{}, deleteRecordsParallel)
	resp.Topics = make([]kmsg.DeleteRecordsResponseTopic, len(req.Topics))
	for ti, t := range req.Topics {
		rt := &resp.Topics[ti]
		*rt = kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.DeleteRecordsResponseTopicPartition, len(t.Partitions))
		topic := topics.topic(t.Topic)
		for pi, p := range t.Partitions {
			rp := &rt.Partitions[pi]
			*rp = kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition, rp.LowWatermark = p.Partition, -1
			if e := topic.partition(p.Partition); e != nil {
				rp.ErrorCode = e.Code
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func(tp partition.TP, offset int64) {
				defer func() { <-sem; wg.Done() }()
				defer recoverAs(s.log, fmt.Sprintf("DeleteRecords %s/%d", tp.Topic, tp.Partition), func() { rp.ErrorCode = kerr.UnknownServerError.Code })
				part, err := s.logs.Partition(tp)
				var (
					low int64
					e   *kerr.Error
				)
				if err == nil {
					low, e, err = deletePartitionRecords(wctx, part, offset, store)
				}
				switch {
				case err != nil:
					s.log.Error("delete records", "topic", tp.Topic, "partition", tp.Partition, "offset", offset, "err", err)
					rp.ErrorCode = timeoutOr(wctx, ctx, kerr.KafkaStorageError).Code
				case e != nil:
					rp.ErrorCode = e.Code
				default:
					rp.LowWatermark = low
				}
			}(partition.TP{Topic: t.Topic, Partition: p.Partition}, p.Offset)
		}
	}
	wg.Wait()
	return resp, nil
}

// timeoutOr is REQUEST_TIMED_OUT when the request's own timeout (wctx) ran out while the
// connection (ctx) is still there, else e.
func timeoutOr(wctx, ctx context.Context, e *kerr.Error) *kerr.Error {
	if errors.Is(wctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return kerr.RequestTimedOut
	}
	return e
}

// truncatable is the part of a partition DeleteRecords uses (*storage.Partition).
type truncatable interface {
	HighWatermark(ctx context.Context) (int64, error)
	LogStart(ctx context.Context) (int64, error)
	DeleteBefore(ctx context.Context, offset int64) error
}

// deletePartitionRecords applies one partition of a DeleteRecords request and returns the low
// watermark to answer, or Kafka's error for the request, or a storage error. store false is
// the fault faults.IgnoreLogStart: the answer claims the requested offset and nothing moves.
func deletePartitionRecords(ctx context.Context, p truncatable, requested int64, store bool) (int64, *kerr.Error, error) {
	hwm, err := p.HighWatermark(ctx)
	if err != nil {
		return 0, nil, err
	}
	ls, err := p.LogStart(ctx)
	if err != nil {
		return 0, nil, err
	}
	target, move, e := deleteRecordsTarget(requested, hwm, ls)
	switch {
	case e != nil:
		return 0, e, nil
	case !store:
		return target, nil, nil
	case !move:
		return ls, nil, nil
	}
	if err := p.DeleteBefore(ctx, target); err != nil {
		return 0, nil, err
	}
	// Read back: a concurrent DeleteRecords (here or on another gateway) may have moved it
	// further, and the answer is the log start now, as Kafka's low watermark is.
	ls, err = p.LogStart(ctx)
	if err != nil {
		return 0, nil, err
	}
	return ls, nil, nil
}

// deleteRecordsTarget is Kafka's decision for one partition, given its high watermark and log
// start: the offset asked for (-1 is the high watermark), whether the log start must move to
// it, or OFFSET_OUT_OF_RANGE.
func deleteRecordsTarget(requested, hwm, logStart int64) (target int64, move bool, e *kerr.Error) {
	if requested == -1 {
		requested = hwm
	}
	switch {
	case requested < 0 || requested > hwm:
		return 0, false, kerr.OffsetOutOfRange
	case requested <= logStart:
		return requested, false, nil
	}
	return requested, true, nil
}
