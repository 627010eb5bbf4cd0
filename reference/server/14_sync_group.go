package server

// SyncGroup, key 14, versions 0–5.
//
// The leader's SyncGroup hands out the assignments; every member's SyncGroup returns its own
// once the leader's arrived. Errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
// REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID (v3+), INCONSISTENT_GROUP_PROTOCOL (v5+ protocol
// type or name that differs from the group's), GROUP_AUTHORIZATION_FAILED (no consume on the
// namespace, or the group's Pulsar subscription permission lists other roles; authorize.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.SyncGroup, 0, 5, handleSyncGroup) }

func handleSyncGroup(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.SyncGroupRequest)
	if denied := rc.groupDenied(ctx, req.Group); denied != 0 {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode, resp.MemberAssignment = denied, []byte{}
		return resp, nil
	}
	assignments := make(map[string][]byte, len(req.GroupAssignment))
	for _, a := range req.GroupAssignment {
		assignments[a.MemberID] = a.MemberAssignment
	}
	res := rc.s.groups.Sync(ctx, req.Group, req.MemberID, req.InstanceID, req.Generation, req.ProtocolType, req.Protocol, assignments)
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	resp.ErrorCode = code(res.Err)
	if res.Err == nil {
		resp.ProtocolType, resp.Protocol = &res.ProtocolType, &res.Protocol
		resp.MemberAssignment = res.Assignment
	}
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	return resp, nil
}
