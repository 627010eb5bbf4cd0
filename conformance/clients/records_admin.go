package clients

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// RecordDeleter is a client that can delete a partition's records below an offset
// (DeleteRecords, KIP-107). kafka-go has no such call.
type RecordDeleter interface {
	// DeleteRecords moves the log start of topic/partition up to before (-1: the high
	// watermark) and returns the log start the server reports afterwards.
	DeleteRecords(ctx context.Context, topic string, partition int32, before int64) (int64, error)
}

// LeaderEpochs is a client that can ask OffsetForLeaderEpoch (KIP-101/320). Only franz-go has
// the call.
type LeaderEpochs interface {
	// OffsetForLeaderEpoch asks for the end offset of epoch, checking currentEpoch (-1: no
	// check, or a version without the field); it returns the epoch and end offset answered
	// and the partition's error code.
	OffsetForLeaderEpoch(ctx context.Context, topic string, partition, currentEpoch, epoch int32) (int32, int64, int16, error)
}

var (
	_ RecordDeleter = (*franz)(nil)
	_ RecordDeleter = (*saramaClient)(nil)
	_ LeaderEpochs  = (*franz)(nil)
)

func (f *franz) DeleteRecords(ctx context.Context, topic string, partition int32, before int64) (int64, error) {
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: topic, Partition: partition, At: before})
	resp, err := kadm.NewClient(f.admin).DeleteRecords(ctx, os)
	if err != nil {
		return 0, err
	}
	r, ok := resp.Lookup(topic, partition)
	if !ok {
		return 0, fmt.Errorf("no DeleteRecords answer for %s/%d", topic, partition)
	}
	return r.LowWatermark, r.Err
}

// DeleteRecords goes through sarama's ClusterAdmin, what its users call; that returns no low
// watermark, so the log start is read back with ListOffsets.
func (s *saramaClient) DeleteRecords(ctx context.Context, topic string, partition int32, before int64) (int64, error) {
	adm, err := s.admin()
	if err != nil {
		return 0, err
	}
	if before < 0 {
		if before, err = s.ListOffset(ctx, topic, partition, Latest); err != nil {
			return 0, err
		}
	}
	if err := adm.DeleteRecords(topic, map[int32]int64{partition: before}); err != nil {
		// ClusterAdmin wraps the partitions' codes; unwrap to the first Kafka code.
		var kerrs sarama.KError
		if errors.As(err, &kerrs) {
			return 0, kerrs
		}
		return 0, err
	}
	return s.ListOffset(ctx, topic, partition, Earliest)
}

func (f *franz) OffsetForLeaderEpoch(ctx context.Context, topic string, partition, currentEpoch, epoch int32) (int32, int64, int16, error) {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.ReplicaID = -1
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = partition, currentEpoch, epoch
	rt.Partitions = []kmsg.OffsetForLeaderEpochRequestTopicPartition{rp}
	req.Topics = []kmsg.OffsetForLeaderEpochRequestTopic{rt}
	resp, err := req.RequestWith(ctx, f.admin)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if t.Topic == topic && p.Partition == partition {
				return p.LeaderEpoch, p.EndOffset, p.ErrorCode, nil
			}
		}
	}
	return 0, 0, 0, fmt.Errorf("no OffsetForLeaderEpoch answer for %s/%d: %w", topic, partition, kerr.UnknownServerError)
}
