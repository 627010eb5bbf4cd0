package clients

import (
	"context"
	"fmt"

	kafka "github.com/segmentio/kafka-go"
)

func (k *kafkaGo) DescribeGroup(ctx context.Context, group string) (GroupDescription, error) {
	resp, err := k.client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return GroupDescription{}, err
	}
	if len(resp.Groups) != 1 {
		return GroupDescription{}, fmt.Errorf("kafka-go: described %d groups, asked for 1", len(resp.Groups))
	}
	g := resp.Groups[0]
	if g.Error != nil {
		return GroupDescription{}, g.Error
	}
	d := GroupDescription{State: g.GroupState}
	for _, m := range g.Members {
		md := MemberDescription{ClientID: m.ClientID, Assigned: map[string][]int32{}}
		for _, t := range m.MemberAssignments.Topics {
			for _, p := range t.Partitions {
				md.Assigned[t.Topic] = append(md.Assigned[t.Topic], int32(p))
			}
		}
		md.Assigned = assignedCopy(md.Assigned)
		d.Members = append(d.Members, md)
	}
	return d, nil
}

func (k *kafkaGo) ListGroups(ctx context.Context) ([]string, error) {
	resp, err := k.client.ListGroups(ctx, &kafka.ListGroupsRequest{})
	if err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	var out []string
	for _, g := range resp.Groups {
		out = append(out, g.GroupID)
	}
	return out, nil
}

func (k *kafkaGo) DeleteGroup(ctx context.Context, group string) error {
	resp, err := k.client.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return err
	}
	return resp.Errors[group]
}
