package server

// JoinGroup, key 11, versions 0–7.
//
// Joins a consumer group through the coordinator (reference/internal/group): blocks until the
// join phase completes, then answers with the generation, the chosen protocol, the leader, and
// for the leader every member's metadata. v4+: a member without an id first gets
// MEMBER_ID_REQUIRED with its id (KIP-394); v5+: group.instance.id makes a static member.
// Errors: GROUP_AUTHORIZATION_FAILED (no consume on the namespace, or the group's Pulsar
// subscription permission lists other roles; authorize.go), INVALID_GROUP_ID,
// INVALID_SESSION_TIMEOUT, INCONSISTENT_GROUP_PROTOCOL, UNKNOWN_MEMBER_ID (also a member id of a
// group that does not exist), FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS (the server stopped
// while the join waited), GROUP_MAX_SIZE_REACHED (a new member of a group at --group-max-size,
// at every version, as Kafka 2.2+ answers), COORDINATOR_NOT_AVAILABLE (a new group beyond
// --max-groups, or a v4+ join without a member id while the group has
// --group-max-pending-members ids handed out). A refused join creates no group.

import (
	"context"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

func init() { register(kmsg.JoinGroup, 0, 7, handleJoinGroup) }

func handleJoinGroup(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.JoinGroupRequest)
	jr := group.JoinRequest{
		Group: req.Group, MemberID: req.MemberID, InstanceID: req.InstanceID,
		ClientID: rc.clientID(), ClientHost: rc.clientHost(),
		SessionTimeout:       time.Duration(req.SessionTimeoutMillis) * time.Millisecond,
		Rebalance:            time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond,
		ProtocolType:         req.ProtocolType,
		RequireKnownMemberID: req.Version >= 4,
	}
	if req.Version == 0 {
		jr.Rebalance = jr.SessionTimeout
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	if resp.ErrorCode = rc.groupDenied(ctx, req.Group); resp.ErrorCode != 0 {
		proto := ""
		resp.Generation, resp.MemberID, resp.Protocol = -1, req.MemberID, &proto
		return resp, nil
	}
	res := rc.s.groups.Join(ctx, jr)
	resp.ErrorCode = code(res.Err)
	resp.MemberID = res.MemberID
	resp.Generation = -1
	if res.Err != nil {
		proto := ""
		resp.Protocol = &proto
		return resp, nil
	}
	resp.Generation, resp.LeaderID = res.Generation, res.Leader
	resp.ProtocolType, resp.Protocol = &res.ProtocolType, &res.Protocol
	for _, m := range res.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = m.MemberID, m.InstanceID, m.Metadata
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}

func (rc *reqCtx) clientID() string {
	if rc.header.ClientID == nil {
		return ""
	}
	return *rc.header.ClientID
}

// clientHost is the peer address as Kafka reports it ("/127.0.0.1").
func (rc *reqCtx) clientHost() string {
	host, _, err := net.SplitHostPort(rc.conn.c.RemoteAddr().String())
	if err != nil {
		return ""
	}
	return "/" + host
}
