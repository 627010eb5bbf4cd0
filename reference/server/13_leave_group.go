package server

// LeaveGroup, key 13, versions 0–4.
//
// Removes members (v0–2: the one member; v3+: a batch, static members by instance id) and
// rebalances the rest. UNKNOWN_MEMBER_ID for a member the group does not have (per member from
// v3), FENCED_INSTANCE_ID for an instance id owned by another member; GROUP_AUTHORIZATION_FAILED
// without consume on the namespace or when the group's Pulsar subscription permission lists
// other roles (authorize.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

func init() { register(kmsg.LeaveGroup, 0, 4, handleLeaveGroup) }

func handleLeaveGroup(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if resp.ErrorCode = rc.groupDenied(ctx, req.Group); resp.ErrorCode != 0 {
		return resp, nil
	}
	var leaving []group.LeaveMember
	if req.Version < 3 {
		leaving = []group.LeaveMember{{MemberID: req.MemberID}}
	} else {
		for _, m := range req.Members {
			leaving = append(leaving, group.LeaveMember{MemberID: m.MemberID, InstanceID: m.InstanceID})
		}
	}
	gerr, errs := rc.s.groups.Leave(req.Group, leaving)
	resp.ErrorCode = code(gerr)
	if req.Version < 3 {
		if gerr == nil && len(errs) == 1 {
			resp.ErrorCode = code(errs[0])
		}
		return resp, nil
	}
	for i, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = m.MemberID, m.InstanceID
		if i < len(errs) {
			rm.ErrorCode = code(errs[i])
		} else {
			rm.ErrorCode = code(gerr)
		}
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}
