package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
)

// Authorization: connections on listeners without SASL are trusted, as Kafka's are when no
// authorizer applies; an authenticated principal gets what Pulsar grants its role. Topics need
// produce (Produce, CreateTopics, CreatePartitions, DeleteTopics, DeleteRecords,
// auto-creation) or consume (Fetch, ListOffsets, OffsetForLeaderEpoch, committing offsets),
// and either of them to be described (Metadata, DescribeConfigs); a consumer group needs what
// Pulsar asks of a subscription of its name: consume on the namespace, and the group's
// subscription permission absent or listing the role (auth.Pulsar.GroupAllowed). A failed
// check denies and is logged: authorization fails closed. Names no topic can have are never
// asked about: the Pulsar authorizer answers them with the namespace's grants (package auth).
// Which grant each API needs is in topicAPIs.

// permits says whether the connection may take action on topic ("" for the namespace).
func (rc *reqCtx) permits(ctx context.Context, action auth.Action, topic string) bool {
	if action == describe {
		return rc.permits(ctx, auth.Consume, topic) || rc.permits(ctx, auth.Produce, topic)
	}
	p := rc.conn.principal
	if p == nil || rc.s.cfg.Faults.On(faults.AuthorizeAll) {
		return true
	}
	ok, err := rc.s.cfg.Auth.Allowed(ctx, p.Role, action, topic)
	if err != nil {
		rc.conn.logger().Error("authorization check failed; denying", "action", action, "topic", topic, "err", err)
		return false
	}
	if !ok {
		rc.conn.logger().Info("denied", "action", action, "topic", topic)
	}
	return ok
}

// groupDenied is GROUP_AUTHORIZATION_FAILED's code when the connection may not use consumer
// group gid, else 0.
func (rc *reqCtx) groupDenied(ctx context.Context, gid string) int16 {
	ok, err := rc.mayUseGroup(ctx, gid)
	if err != nil {
		rc.conn.logger().Error("authorization check failed; denying", "group", gid, "err", err)
	} else if !ok {
		rc.conn.logger().Info("denied", "group", gid)
	}
	if ok {
		return 0
	}
	return kerr.GroupAuthorizationFailed.Code
}

// mayUseGroup says whether the connection may use consumer group gid; an error denies.
func (rc *reqCtx) mayUseGroup(ctx context.Context, gid string) (bool, error) {
	p := rc.conn.principal
	if p == nil || rc.s.cfg.Faults.On(faults.AuthorizeAll) {
		return true, nil
	}
	return rc.s.cfg.Auth.GroupAllowed(ctx, p.Role, gid)
}
