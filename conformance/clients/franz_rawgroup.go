package clients

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var _ GroupProtocol = (*franz)(nil)

func (f *franz) JoinGroup(ctx context.Context, group, memberID, topic string) (Joined, error) {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", meta.AppendTo(nil)
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID, req.ProtocolType = group, memberID, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = int32(rawSession.Milliseconds()), int32(rawRebalance.Milliseconds())
	req.Protocols = []kmsg.JoinGroupRequestProtocol{p}
	for attempt := 0; ; attempt++ {
		resp, err := req.RequestWith(ctx, f.admin)
		if err != nil {
			return Joined{}, err
		}
		if resp.ErrorCode == kerr.MemberIDRequired.Code && attempt == 0 {
			req.MemberID = resp.MemberID
			continue
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return Joined{}, err
		}
		return Joined{MemberID: resp.MemberID, Generation: resp.Generation, Leader: resp.LeaderID == resp.MemberID}, nil
	}
}

func (f *franz) SyncGroup(ctx context.Context, group string, j Joined, topic string, partitions []int32) error {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.MemberID, req.Generation = group, j.MemberID, j.Generation
	protocolType, protocol := "consumer", "range"
	req.ProtocolType, req.Protocol = &protocolType, &protocol
	if j.Leader {
		a := kmsg.NewConsumerMemberAssignment()
		t := kmsg.NewConsumerMemberAssignmentTopic()
		t.Topic, t.Partitions = topic, partitions
		a.Topics = []kmsg.ConsumerMemberAssignmentTopic{t}
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = j.MemberID, a.AppendTo(nil)
		req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{ga}
	}
	resp, err := req.RequestWith(ctx, f.admin)
	if err != nil {
		return err
	}
	return kerr.ErrorForCode(resp.ErrorCode)
}

func (f *franz) CommitAs(ctx context.Context, group, memberID string, generation int32, offsets []Offset) ([]int16, error) {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = group, memberID, generation
	index := map[string]int{}
	for _, o := range offsets {
		i, ok := index[o.Topic]
		if !ok {
			i = len(req.Topics)
			index[o.Topic] = i
			t := kmsg.NewOffsetCommitRequestTopic()
			t.Topic = o.Topic
			req.Topics = append(req.Topics, t)
		}
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset = o.Partition, o.Offset
		if o.Metadata != "" {
			md := o.Metadata
			p.Metadata = &md
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, p)
	}
	resp, err := req.RequestWith(ctx, f.admin)
	if err != nil {
		return nil, err
	}
	codes := make([]int16, len(offsets))
	for i, o := range offsets {
		codes[i] = -1
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if t.Topic == o.Topic && p.Partition == o.Partition {
					codes[i] = p.ErrorCode
				}
			}
		}
	}
	return codes, nil
}

func (f *franz) LeaveGroup(ctx context.Context, group, memberID string) error {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group, req.MemberID = group, memberID
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = memberID
	req.Members = []kmsg.LeaveGroupRequestMember{m}
	resp, err := req.RequestWith(ctx, f.admin)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	for _, m := range resp.Members {
		if err := kerr.ErrorForCode(m.ErrorCode); err != nil {
			return err
		}
	}
	return nil
}
