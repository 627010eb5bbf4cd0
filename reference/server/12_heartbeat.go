package server

// Heartbeat, key 12, versions 0–4.
//
// Keeps a member's session alive. REBALANCE_IN_PROGRESS tells the member to rejoin;
// UNKNOWN_MEMBER_ID (also for an unknown group), ILLEGAL_GENERATION and FENCED_INSTANCE_ID
// (v3+) as Kafka; GROUP_AUTHORIZATION_FAILED without consume on the namespace or when the
// group's Pulsar subscription permission lists other roles (authorize.go).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.Heartbeat, 0, 4, handleHeartbeat) }

func handleHeartbeat(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if resp.ErrorCode = rc.groupDenied(ctx, req.Group); resp.ErrorCode != 0 {
		return resp, nil
	}
	resp.ErrorCode = code(rc.s.groups.Heartbeat(req.Group, req.MemberID, req.InstanceID, req.Generation))
	return resp, nil
}
