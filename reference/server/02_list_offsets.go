package server

// ListOffsets, key 2, versions 0–5.
//
// Timestamp -2 answers the log start offset, -1 the high watermark (the isolation level does
// not matter: there are no transactions, so the last stable offset is the high watermark).
// The log start is the one storage keeps (the first stored offset, or where DeleteRecords
// moved it), so earliest, Fetch and DeleteRecords always agree.
// A timestamp >= 0 answers the first offset at or after the log start whose record timestamp
// is at or after it, found by seeking the Pulsar topic by publish time and reading forward
// (records below the log start are never answered: the search restarts at the log start); no
// record that late answers offset -1 (v1+), as Kafka does. v0 answers up to max_num_offsets
// old-style offsets ([hwm, logStart] as Kafka does for latest; [logStart] for earliest).
// Errors per partition: TOPIC_AUTHORIZATION_FAILED (consume), UNKNOWN_TOPIC_OR_PARTITION (also
// for a name no topic can have, as Kafka), NOT_LEADER_OR_FOLLOWER when the topic could not be
// looked up, KAFKA_STORAGE_ERROR when Pulsar failed.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

func init() { register(kmsg.ListOffsets, 0, 5, handleListOffsets) }

func handleListOffsets(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.ListOffsetsRequest)
	s := rc.s
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	topics := rc.resolver(ctx, kmsg.ListOffsets)
	for _, t := range req.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = t.Topic
		topic := topics.topic(t.Topic)
		for _, p := range t.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition = p.Partition
			rp.Timestamp, rp.Offset, rp.LeaderEpoch = -1, -1, -1
			if e := topic.partition(p.Partition); e != nil {
				rp.ErrorCode = e.Code
			} else {
				tp := partition.TP{Topic: t.Topic, Partition: p.Partition}
				off, ts, err := s.lookupOffset(ctx, tp, p.Timestamp)
				if err != nil {
					s.log.Error("list offsets", "topic", t.Topic, "partition", p.Partition, "err", err)
					rp.ErrorCode = kerr.KafkaStorageError.Code
				} else {
					rp.Offset, rp.Timestamp = off, ts
					if req.Version == 0 {
						rp.OldStyleOffsets = oldStyle(ctx, s, tp, p.Timestamp, off, p.MaxNumOffsets)
					}
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// lookupOffset answers one partition: the offset and, for a timestamp query, the timestamp of
// the record found.
func (s *Server) lookupOffset(ctx context.Context, tp partition.TP, ts int64) (int64, int64, error) {
	p, err := s.logs.Partition(tp)
	if err != nil {
		return 0, 0, err
	}
	switch ts {
	case -1:
		off, err := p.HighWatermark(ctx)
		return off, -1, err
	case -2:
		off, err := p.LogStart(ctx)
		return off, -1, err
	default:
		return p.OffsetForTimestamp(ctx, ts)
	}
}

func oldStyle(ctx context.Context, s *Server, tp partition.TP, ts, off int64, max int32) []int64 {
	if max <= 0 || off < 0 {
		return []int64{}
	}
	out := []int64{off}
	if ts == -1 && max > 1 {
		if ls, _, err := s.lookupOffset(ctx, tp, -2); err == nil && ls != off {
			out = append(out, ls)
		}
	}
	return out
}
