package clients

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
)

func (s *saramaClient) admin() (sarama.ClusterAdmin, error) {
	// Closing the admin would close the shared client; it holds no other resources.
	return sarama.NewClusterAdminFromClient(s.client)
}

func (s *saramaClient) DescribeGroup(_ context.Context, group string) (GroupDescription, error) {
	adm, err := s.admin()
	if err != nil {
		return GroupDescription{}, err
	}
	gs, err := adm.DescribeConsumerGroups([]string{group})
	if err != nil {
		return GroupDescription{}, err
	}
	if len(gs) != 1 {
		return GroupDescription{}, fmt.Errorf("sarama: described %d groups, asked for 1", len(gs))
	}
	g := gs[0]
	if g.Err != sarama.ErrNoError {
		return GroupDescription{}, g.Err
	}
	d := GroupDescription{State: g.State}
	for _, m := range g.Members {
		md := MemberDescription{ClientID: m.ClientId, Assigned: map[string][]int32{}}
		a, err := m.GetMemberAssignment()
		if err != nil {
			return GroupDescription{}, fmt.Errorf("decoding member assignment: %w", err)
		}
		if a != nil {
			md.Assigned = assignedCopy(a.Topics)
		}
		d.Members = append(d.Members, md)
	}
	return d, nil
}

func (s *saramaClient) ListGroups(context.Context) ([]string, error) {
	adm, err := s.admin()
	if err != nil {
		return nil, err
	}
	gs, err := adm.ListConsumerGroups()
	if err != nil {
		return nil, err
	}
	var out []string
	for g := range gs {
		out = append(out, g)
	}
	return out, nil
}

func (s *saramaClient) DeleteGroup(_ context.Context, group string) error {
	adm, err := s.admin()
	if err != nil {
		return err
	}
	return adm.DeleteConsumerGroup(group)
}
