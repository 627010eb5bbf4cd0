package server

// DescribeGroups, key 15, versions 0–5.
//
// Reports each group's state, protocol type, protocol and members (with metadata and
// assignment only while Stable, as Kafka does). An unknown group is reported Dead without an
// error code, as Kafka reports it. A group the principal may not use (consume on the
// namespace, and the group's Pulsar subscription permission absent or listing its role;
// authorize.go) gets GROUP_AUTHORIZATION_FAILED and nothing of it is shown.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeGroups, 0, 5, handleDescribeGroups) }

func handleDescribeGroups(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, gid := range req.Groups {
		if denied := rc.groupDenied(ctx, gid); denied != 0 {
			rg := kmsg.NewDescribeGroupsResponseGroup()
			rg.Group, rg.ErrorCode = gid, denied
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		s := rc.s.groups.Describe(gid)
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group, rg.State, rg.ProtocolType, rg.Protocol = gid, string(s.State), s.ProtocolType, s.Protocol
		rg.AuthorizedOperations = authorizedOperationsOmitted
		for _, m := range s.Members {
			rm := kmsg.NewDescribeGroupsResponseGroupMember()
			rm.MemberID, rm.InstanceID, rm.ClientID, rm.ClientHost = m.MemberID, m.InstanceID, m.ClientID, m.ClientHost
			rm.ProtocolMetadata, rm.MemberAssignment = nonNil(m.Metadata), nonNil(m.Assignment)
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
