package server

// DeleteGroups, key 42, versions 0–2.
//
// Deletes empty groups and their committed offsets (tombstones in Pulsar). NON_EMPTY_GROUP
// while members remain, GROUP_ID_NOT_FOUND for an unknown group, COORDINATOR_NOT_AVAILABLE
// when Pulsar did not store the deletion, GROUP_AUTHORIZATION_FAILED without consume on the
// namespace or when the group's Pulsar subscription permission lists other roles
// (authorize.go); a denied group is left as it is.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteGroups, 0, 2, handleDeleteGroups) }

func handleDeleteGroups(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, gid := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = gid
		if rg.ErrorCode = rc.groupDenied(ctx, gid); rg.ErrorCode == 0 {
			rg.ErrorCode = code(rc.s.groups.Delete(ctx, gid))
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}
