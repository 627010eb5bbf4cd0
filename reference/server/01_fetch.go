package server

// Fetch, key 1, versions 4–11 (record batches; the levels 1.0–2.6 never send older).
//
// Reads each partition from its Pulsar topic as uncompressed v2 batches (one per Pulsar entry)
// from the requested offset, which may sit in the middle of a produced batch. Limits: partition
// max bytes and response max bytes, the latter at most the server's fetch max bytes
// (--fetch-max-bytes, Kafka's fetch.max.bytes: 55 MiB by default) whatever the request asks;
// as in Kafka a max bytes of 0 or below is 0, never unbounded. The first record of the first
// partition with data is returned even when larger than any of them (KIP-74). Long poll: when
// fewer than min_bytes are available the request waits up to max_wait_ms and is woken by new
// data, not by polling.
// Errors per partition: TOPIC_AUTHORIZATION_FAILED (consume), UNKNOWN_TOPIC_OR_PARTITION for an
// unknown topic or partition (also for a name no topic can have, as Kafka),
// NOT_LEADER_OR_FOLLOWER when the topic could not be looked up, OFFSET_OUT_OF_RANGE for an
// offset below the log start or above the high watermark, KAFKA_STORAGE_ERROR when Pulsar
// failed; a failed partition answers at once, without waiting. Fetch sessions (KIP-227) are not
// kept: the response session id is 0, which tells the client to send full requests; an
// incremental request (epoch > 0) gets FETCH_SESSION_ID_NOT_FOUND.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

func init() { register(kmsg.Fetch, 4, 11, handleFetch) }

const maxFetchWait = 30 * time.Second

func handleFetch(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.FetchRequest)
	s := rc.s
	if req.SessionEpoch > 0 {
		// Epochs 0 (open a session) and -1 (sessionless) are full requests whatever the
		// session id; a later epoch refers to a session, and none is kept.
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return resp, nil
	}
	wait := time.Duration(req.MaxWaitMillis) * time.Millisecond
	if wait > maxFetchWait {
		wait = maxFetchWait
	}
	deadline := time.Now().Add(wait)
	// As Kafka: the request's max bytes, at most the server's fetch max bytes; 0 or below is 0,
	// which still returns the first record (KIP-74), never an unbounded response.
	maxBytes := max(0, min(int(req.MaxBytes), int(s.cfg.Data.FetchMaxBytes)))
	topics := rc.resolver(ctx, kmsg.Fetch)
	minBytes := int(req.MinBytes)
	if s.cfg.Faults.On(faults.IgnoreMinBytes) {
		minBytes = 1
	}
	for {
		resp, bytes, wake, failed := s.fetchOnce(ctx, req, maxBytes, topics)
		if bytes >= minBytes || failed || len(wake) == 0 || !time.Now().Before(deadline) || s.cfg.Faults.On(faults.NoLongPoll) {
			return resp, nil
		}
		if s.cfg.Faults.On(faults.NoWake) {
			wake = nil // sleep out max wait, deaf to new records
		}
		if !waitAny(ctx, wake, deadline) {
			return s.fetchFinal(ctx, req, maxBytes, topics), nil
		}
	}
}

func (s *Server) fetchFinal(ctx context.Context, req *kmsg.FetchRequest, maxBytes int, topics *topicResolver) *kmsg.FetchResponse {
	resp, _, _, _ := s.fetchOnce(ctx, req, maxBytes, topics)
	return resp
}

// fetchOnce reads every requested partition once. It returns the response, the bytes it holds,
// the channels that signal new data for the partitions that were read (each once, however often
// the request names its partition), and whether any partition failed (Kafka answers at once
// when one did).
func (s *Server) fetchOnce(ctx context.Context, req *kmsg.FetchRequest, maxBytes int, topics *topicResolver) (*kmsg.FetchResponse, int, []<-chan struct{}, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	total, failed := 0, false
	var wake []<-chan struct{}
	waits := map[<-chan struct{}]bool{} // a partition named again is waited on once
	for _, t := range req.Topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = t.Topic
		topic := topics.topic(t.Topic)
		for _, fp := range t.Partitions {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition = fp.Partition
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
			rp.PreferredReadReplica = -1
			rp.RecordBatches = []byte{} // Kafka sends empty records, never null; sarama rejects null
			if e := topic.partition(fp.Partition); e != nil {
				rp.ErrorCode = e.Code
			} else {
				limit := int(fp.PartitionMaxBytes)
				if room := maxBytes - total; room < limit {
					limit = room
				}
				ch, size := s.fetchPartition(ctx, partition.TP{Topic: t.Topic, Partition: fp.Partition}, fp.FetchOffset, limit, total == 0, &rp)
				total += size
				if ch != nil && !waits[ch] {
					waits[ch] = true
					wake = append(wake, ch)
				}
			}
			if rp.ErrorCode != 0 {
				failed = true
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, total, wake, failed
}

// fetchPartition fills rp and returns the partition's change channel (taken before reading, so
// an append after the read still wakes the waiter) and the bytes added.
func (s *Server) fetchPartition(ctx context.Context, tp partition.TP, offset int64, limit int, first bool, rp *kmsg.FetchResponseTopicPartition) (<-chan struct{}, int) {
	p, err := s.logs.Partition(tp)
	if err != nil {
		rp.ErrorCode = kerr.KafkaStorageError.Code
		return nil, 0
	}
	ch := p.Changed()
	hwm, err := p.HighWatermark(ctx)
	var ls int64
	if err == nil {
		ls, err = p.LogStart(ctx)
	}
	if err != nil {
		s.log.Error("fetch: partition state", "topic", tp.Topic, "partition", tp.Partition, "err", err)
		s.cfg.Metrics.PulsarError("fetch")
		rp.ErrorCode = kerr.KafkaStorageError.Code
		return nil, 0
	}
	rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = hwm, hwm, ls
	if s.cfg.Faults.On(faults.StaleHighWater) && hwm > 0 {
		rp.HighWatermark, rp.LastStableOffset = hwm-1, hwm-1
	}
	if offset < ls || offset > hwm {
		rp.ErrorCode = kerr.OffsetOutOfRange.Code
		return nil, 0
	}
	if offset == hwm || (limit <= 0 && !first) {
		return ch, 0
	}
	if limit <= 0 {
		limit = 1
	}
	batches, err := p.Read(ctx, offset, limit)
	if err != nil {
		s.log.Error("fetch: read", "topic", tp.Topic, "partition", tp.Partition, "offset", offset, "err", err)
		s.cfg.Metrics.PulsarError("fetch")
		rp.ErrorCode = kerr.KafkaStorageError.Code
		return nil, 0
	}
	size := 0 // about what the batches take, so the buffer is not grown through copies
	for _, b := range batches {
		size += 61
		for _, r := range b.Records {
			size += len(r.Key) + len(r.Value) + 16
		}
	}
	buf := make([]byte, 0, size)
	for i, b := range batches {
		if i == 0 && len(b.Records) > 1 && s.cfg.Faults.On(faults.ReorderRecords) {
			swapContent(&b.Records[0], &b.Records[1])
		}
		buf = records.AppendBatch(buf, b.Records)
	}
	rp.RecordBatches = buf
	return ch, len(buf)
}

// swapContent exchanges two records' content, keeping their offsets (the reorder fault).
func swapContent(a, b *records.Record) {
	a.Offset, b.Offset = b.Offset, a.Offset
	*a, *b = *b, *a
}

// waitAny blocks until one channel closes (true), or the deadline or ctx ends (false).
func waitAny(ctx context.Context, chans []<-chan struct{}, deadline time.Time) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	if len(chans) == 1 {
		select {
		case <-chans[0]:
			return true
		case <-timer.C:
		case <-ctx.Done():
		}
		return false
	}
	woke := make(chan struct{}, 1)
	done := make(chan struct{})
	defer close(done)
	for _, ch := range chans {
		go func(ch <-chan struct{}) {
			select {
			case <-ch:
				select {
				case woke <- struct{}{}:
				default:
				}
			case <-done:
			}
		}(ch)
	}
	select {
	case <-woke:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}
