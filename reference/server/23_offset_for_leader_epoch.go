package server

// OffsetForLeaderEpoch, key 23, versions 0–3 (v4 is flexible and newer than 2.6; each
// listener's level caps it: 1.0–1.1 serve v0, 2.0 v1, 2.1–2.2 v2, 2.3–2.6 v3).
//
// This gateway is the only leader every partition has had, so every partition has one leader
// epoch, 0, from its first offset on (Metadata reports leader epoch 0). Per partition, as
// Kafka's leader answers:
//   - v2+ current_leader_epoch: -1 skips the check; below 0 gets FENCED_LEADER_EPOCH (the
//     client's epoch is older than the leader's), above 0 UNKNOWN_LEADER_EPOCH (newer).
//   - leader_epoch -1 (undefined) answers epoch -1 and end offset -1; 0, the current epoch,
//     answers epoch 0 and the high watermark (its log end: one replica, so they are equal);
//     above 0, an epoch this partition never had, answers -1/-1 with no error; below -1,
//     older than any epoch it had, answers that epoch and the log start, where epoch 0 begins
//     (Kafka's epoch cache is truncated to the log start).
//   - The response's leader_epoch is on the wire from v1.
//
// Authorization: Pulsar's consume grant on the topic (Kafka asks DESCRIBE on the topic, or
// CLUSTER_ACTION for brokers; consumers use this API to detect log truncation, as they do
// ListOffsets), TOPIC_AUTHORIZATION_FAILED without it. Then, as Kafka:
// UNKNOWN_TOPIC_OR_PARTITION for an unknown topic or partition or a name no topic can have,
// NOT_LEADER_OR_FOLLOWER when the topic could not be looked up, KAFKA_STORAGE_ERROR when
// Pulsar failed. v3's replica_id: consumers send -1; there are no
// follower replicas, so any other id is answered as a consumer is.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

func init() { register(kmsg.OffsetForLeaderEpoch, 0, 3, handleOffsetForLeaderEpoch) }

// partitionEpoch is every partition's leader epoch.
const partitionEpoch = 0

func handleOffsetForLeaderEpoch(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.OffsetForLeaderEpochRequest)
	s := rc.s
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	topics := rc.resolver(ctx, kmsg.OffsetForLeaderEpoch)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
		rt.Topic = t.Topic
		topic := topics.topic(t.Topic)
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition() // epoch -1, end offset -1
			rp.Partition = p.Partition
			current := p.CurrentLeaderEpoch
			if req.Version < 2 {
				current = -1 // not on the wire
			}
			if e := topic.partition(p.Partition); e != nil {
				rp.ErrorCode = e.Code
			} else if err := s.epochEndOffset(ctx, partition.TP{Topic: t.Topic, Partition: p.Partition}, current, p.LeaderEpoch, &rp); err != nil {
				s.log.Error("offset for leader epoch", "topic", t.Topic, "partition", p.Partition, "err", err)
				rp = kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.KafkaStorageError.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// epochEndOffset fills rp for one existing partition, reading from storage only what the
// answer needs.
func (s *Server) epochEndOffset(ctx context.Context, tp partition.TP, current, requested int32, rp *kmsg.OffsetForLeaderEpochResponseTopicPartition) error {
	if e := checkCurrentEpoch(current); e != nil {
		rp.ErrorCode = e.Code
		return nil
	}
	var offset int64
	switch need := epochNeeds(requested); need {
	case needHighWatermark, needLogStart:
		p, err := s.logs.Partition(tp)
		if err != nil {
			return err
		}
		if need == needHighWatermark {
			offset, err = p.HighWatermark(ctx)
		} else {
			offset, err = p.LogStart(ctx)
		}
		if err != nil {
			return err
		}
	}
	rp.LeaderEpoch, rp.EndOffset = epochAnswer(requested, offset)
	return nil
}

// checkCurrentEpoch is Kafka's fencing check of the client's current leader epoch (-1: none).
func checkCurrentEpoch(current int32) *kerr.Error {
	switch {
	case current == -1:
		return nil
	case current < partitionEpoch:
		return kerr.FencedLeaderEpoch
	case current > partitionEpoch:
		return kerr.UnknownLeaderEpoch
	}
	return nil
}

// What an answer for a requested epoch is computed from.
const (
	needNothing = iota
	needHighWatermark
	needLogStart
)

func epochNeeds(requested int32) int {
	switch {
	case requested == partitionEpoch:
		return needHighWatermark
	case requested < -1:
		return needLogStart
	}
	return needNothing
}

// epochAnswer is the (leader epoch, end offset) answered for a requested epoch, given the
// offset epochNeeds asked for (the high watermark for the current epoch, the log start for an
// epoch older than any). -1/-1 is Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET.
func epochAnswer(requested int32, offset int64) (int32, int64) {
	switch epochNeeds(requested) {
	case needHighWatermark:
		return partitionEpoch, offset
	case needLogStart:
		return requested, offset
	}
	return -1, -1
}
