package clients

import (
	"context"

	"github.com/IBM/sarama"
)

var _ GroupProtocol = (*saramaClient)(nil)

// sarama's group requests at a level use the versions its own consumer group sends there.

func (s *saramaClient) coordinator(group string) (*sarama.Broker, error) {
	if err := s.client.RefreshCoordinator(group); err != nil {
		return nil, err
	}
	return s.client.Coordinator(group)
}

func (s *saramaClient) JoinGroup(_ context.Context, group, memberID, topic string) (Joined, error) {
	b, err := s.coordinator(group)
	if err != nil {
		return Joined{}, err
	}
	req := sarama.NewJoinGroupRequest(s.cfg.Version)
	req.GroupId, req.MemberId, req.ProtocolType = group, memberID, "consumer"
	req.SessionTimeout = int32(rawSession.Milliseconds())
	if req.Version >= 1 {
		req.RebalanceTimeout = int32(rawRebalance.Milliseconds())
	}
	if err := req.AddGroupProtocolMetadata("range", &sarama.ConsumerGroupMemberMetadata{Topics: []string{topic}}); err != nil {
		return Joined{}, err
	}
	for attempt := 0; ; attempt++ {
		resp, err := b.JoinGroup(req)
		if err != nil {
			return Joined{}, err
		}
		if resp.Err == sarama.ErrMemberIdRequired && attempt == 0 {
			req.MemberId = resp.MemberId
			continue
		}
		if resp.Err != sarama.ErrNoError {
			return Joined{}, resp.Err
		}
		return Joined{MemberID: resp.MemberId, Generation: resp.GenerationId, Leader: resp.LeaderId == resp.MemberId}, nil
	}
}

func (s *saramaClient) SyncGroup(_ context.Context, group string, j Joined, topic string, partitions []int32) error {
	b, err := s.coordinator(group)
	if err != nil {
		return err
	}
	req := &sarama.SyncGroupRequest{GroupId: group, MemberId: j.MemberID, GenerationId: j.Generation}
	v := s.cfg.Version
	switch {
	case v.IsAtLeast(sarama.V2_5_0_0):
		req.Version = 5
	case v.IsAtLeast(sarama.V2_4_0_0):
		req.Version = 4
	case v.IsAtLeast(sarama.V2_3_0_0):
		req.Version = 3
	case v.IsAtLeast(sarama.V2_0_0_0):
		req.Version = 2
	default:
		req.Version = 1
	}
	if req.Version >= 5 {
		protocolType, protocol := "consumer", "range"
		req.ProtocolType, req.ProtocolName = &protocolType, &protocol
	}
	if j.Leader {
		a := &sarama.ConsumerGroupMemberAssignment{Topics: map[string][]int32{topic: partitions}}
		if err := req.AddGroupAssignmentMember(j.MemberID, a); err != nil {
			return err
		}
	}
	resp, err := b.SyncGroup(req)
	if err != nil {
		return err
	}
	if resp.Err != sarama.ErrNoError {
		return resp.Err
	}
	return nil
}

func (s *saramaClient) CommitAs(_ context.Context, group, memberID string, generation int32, offsets []Offset) ([]int16, error) {
	b, err := s.coordinator(group)
	if err != nil {
		return nil, err
	}
	req := sarama.NewOffsetCommitRequest(s.cfg, group)
	req.ConsumerGroupGeneration, req.ConsumerID = generation, memberID
	for _, o := range offsets {
		req.AddBlock(o.Topic, o.Partition, o.Offset, 0, o.Metadata)
	}
	resp, err := b.CommitOffset(req)
	if err != nil {
		return nil, err
	}
	codes := make([]int16, len(offsets))
	for i, o := range offsets {
		codes[i] = -1
		if e, ok := resp.Errors[o.Topic][o.Partition]; ok {
			codes[i] = int16(e)
		}
	}
	return codes, nil
}

func (s *saramaClient) LeaveGroup(_ context.Context, group, memberID string) error {
	b, err := s.coordinator(group)
	if err != nil {
		return err
	}
	req := &sarama.LeaveGroupRequest{GroupId: group, MemberId: memberID}
	v := s.cfg.Version
	switch {
	case v.IsAtLeast(sarama.V2_4_0_0):
		req.Version = 4
	case v.IsAtLeast(sarama.V2_0_0_0):
		req.Version = 2
	default:
		req.Version = 1
	}
	if req.Version >= 3 {
		req.Members = []sarama.MemberIdentity{{MemberId: memberID}}
	}
	resp, err := b.LeaveGroup(req)
	if err != nil {
		return err
	}
	if resp.Err != sarama.ErrNoError {
		return resp.Err
	}
	for _, m := range resp.Members {
		if m.Err != sarama.ErrNoError {
			return m.Err
		}
	}
	return nil
}
