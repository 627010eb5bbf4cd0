package server

// ListGroups, key 16, versions 0–4.
//
// Lists every group this gateway coordinates with its protocol type; v4 adds the state and
// the states filter. A principal without consume on the namespace sees no groups (Kafka lists
// only the groups the principal may describe).

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ListGroups, 0, 4, handleListGroups) }

func handleListGroups(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	if rc.groupDenied(ctx) != 0 {
		return resp, nil // Kafka lists only the groups the principal may see
	}
	listed := rc.s.groups.List(req.StatesFilter)
	sort.Slice(listed, func(i, j int) bool { return listed[i].Group < listed[j].Group })
	for _, l := range listed {
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState = l.Group, l.ProtocolType, string(l.State)
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
