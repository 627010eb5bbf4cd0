package clients

import (
	"context"

	"github.com/twmb/franz-go/pkg/kadm"
)

func (f *franz) DescribeGroup(ctx context.Context, group string) (GroupDescription, error) {
	resp, err := kadm.NewClient(f.admin).DescribeGroups(ctx, group)
	if err != nil {
		return GroupDescription{}, err
	}
	g, ok := resp[group]
	if !ok {
		return GroupDescription{State: "Dead"}, nil
	}
	if g.Err != nil {
		return GroupDescription{}, g.Err
	}
	d := GroupDescription{State: g.State}
	for _, m := range g.Members {
		md := MemberDescription{ClientID: m.ClientID, Assigned: map[string][]int32{}}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				md.Assigned[t.Topic] = t.Partitions
			}
		}
		md.Assigned = assignedCopy(md.Assigned)
		d.Members = append(d.Members, md)
	}
	return d, nil
}

func (f *franz) ListGroups(ctx context.Context) ([]string, error) {
	resp, err := kadm.NewClient(f.admin).ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	return resp.Groups(), nil
}

func (f *franz) DeleteGroup(ctx context.Context, group string) error {
	resp, err := kadm.NewClient(f.admin).DeleteGroups(ctx, group)
	if err != nil {
		return err
	}
	return resp[group].Err
}
