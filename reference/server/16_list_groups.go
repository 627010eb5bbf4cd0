package server

// ListGroups, key 16, versions 0–4.
//
// Lists every group this gateway coordinates with its protocol type; v4 adds the state and
// the states filter. A principal sees only the groups it may use (Kafka lists only the groups
// the principal may describe): none without consume on the namespace, and not those whose
// Pulsar subscription permission lists other roles (authorize.go).

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
)

func init() { register(kmsg.ListGroups, 0, 4, handleListGroups) }

func handleListGroups(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	if !rc.permits(ctx, auth.Consume, "") {
		return resp, nil // no group to show: one check, not one a group
	}
	listed := rc.s.groups.List(req.StatesFilter)
	sort.Slice(listed, func(i, j int) bool { return listed[i].Group < listed[j].Group })
	failed := false
	for _, l := range listed {
		// Hidden groups are not denials worth a log line each; a failed check is logged once.
		ok, err := rc.mayUseGroup(ctx, l.Group)
		if err != nil && !failed {
			failed = true
			rc.conn.logger().Error("authorization check failed; hiding the group", "group", l.Group, "err", err)
		}
		if !ok {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState = l.Group, l.ProtocolType, string(l.State)
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
