package clients

import (
	"context"
	"errors"

	kafka "github.com/segmentio/kafka-go"
)

var _ GroupProtocol = (*kafkaGo)(nil)

// kafka-go's Client has a call per group API; the transport finds the coordinator.

func (k *kafkaGo) JoinGroup(ctx context.Context, group, memberID, topic string) (Joined, error) {
	req := &kafka.JoinGroupRequest{GroupID: group, MemberID: memberID, ProtocolType: "consumer",
		SessionTimeout: rawSession, RebalanceTimeout: rawRebalance,
		Protocols: []kafka.GroupProtocol{{Name: "range", Metadata: kafka.GroupProtocolSubscription{Topics: []string{topic}}}}}
	for attempt := 0; ; attempt++ {
		resp, err := k.client.JoinGroup(ctx, req)
		if err != nil {
			return Joined{}, err
		}
		if errors.Is(resp.Error, kafka.MemberIDRequired) && attempt == 0 {
			req.MemberID = resp.MemberID
			continue
		}
		if resp.Error != nil {
			return Joined{}, resp.Error
		}
		return Joined{MemberID: resp.MemberID, Generation: int32(resp.GenerationID), Leader: resp.LeaderID == resp.MemberID}, nil
	}
}

func (k *kafkaGo) SyncGroup(ctx context.Context, group string, j Joined, topic string, partitions []int32) error {
	req := &kafka.SyncGroupRequest{GroupID: group, GenerationID: int(j.Generation), MemberID: j.MemberID,
		ProtocolType: "consumer", ProtocolName: "range"}
	if j.Leader {
		ps := make([]int, len(partitions))
		for i, p := range partitions {
			ps[i] = int(p)
		}
		req.Assignments = []kafka.SyncGroupRequestAssignment{{MemberID: j.MemberID,
			Assignment: kafka.GroupProtocolAssignment{AssignedPartitions: map[string][]int{topic: ps}}}}
	}
	resp, err := k.client.SyncGroup(ctx, req)
	if err != nil {
		return err
	}
	return resp.Error
}

func (k *kafkaGo) CommitAs(ctx context.Context, group, memberID string, generation int32, offsets []Offset) ([]int16, error) {
	topics := map[string][]kafka.OffsetCommit{}
	for _, o := range offsets {
		topics[o.Topic] = append(topics[o.Topic], kafka.OffsetCommit{Partition: int(o.Partition), Offset: o.Offset, Metadata: o.Metadata})
	}
	resp, err := k.client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: int(generation), MemberID: memberID, Topics: topics})
	if err != nil {
		return nil, err
	}
	codes := make([]int16, len(offsets))
	for i, o := range offsets {
		codes[i] = -1
		for _, p := range resp.Topics[o.Topic] {
			if p.Partition == int(o.Partition) {
				codes[i] = ErrorCode(p.Error)
			}
		}
	}
	return codes, nil
}

func (k *kafkaGo) LeaveGroup(ctx context.Context, group, memberID string) error {
	resp, err := k.client.LeaveGroup(ctx, &kafka.LeaveGroupRequest{GroupID: group, Members: []kafka.LeaveGroupRequestMember{{ID: memberID}}})
	if err != nil {
		return err
	}
	if resp.Error != nil {
		return resp.Error
	}
	for _, m := range resp.Members {
		if m.Error != nil {
			return m.Error
		}
	}
	return nil
}
