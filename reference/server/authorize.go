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
// auto-creation) or consume (Fetch, ListOffsets, OffsetForLeaderEpoch, DescribeConfigs,
// committing offsets); consumer groups need consume on the namespace. A failed check denies and
// is logged: authorization fails closed. Names no topic can have are never asked about: the
// Pulsar authorizer answers them with the namespace's grants (package auth).

// allowed says whether the connection may take action on topic ("" for the namespace).
func (rc *reqCtx) allowed(ctx context.Context, action auth.Action, topic string) bool {
	p := rc.conn.principal
	if p == nil || rc.s.cfg.Faults.On(faults.AuthorizeAll) {
		return true
	}
	ok, err := rc.s.cfg.Auth.Allowed(ctx, p.Role, action, topic)
	if err != nil {
		rc.conn.log.Error("authorization check failed; denying", "action", action, "topic", topic, "err", err)
		return false
	}
	if !ok {
		rc.conn.log.Info("denied", "action", action, "topic", topic)
	}
	return ok
}

// describable says whether the connection may see a topic (it may produce or consume).
func (rc *reqCtx) describable(ctx context.Context, topic string) bool {
	return rc.conn.principal == nil || rc.allowed(ctx, auth.Consume, topic) || rc.allowed(ctx, auth.Produce, topic)
}

// denied returns which of topics the connection may not take action on (nil when all are fine).
func (rc *reqCtx) denied(ctx context.Context, action auth.Action, topics []string) map[string]bool {
	if rc.conn.principal == nil {
		return nil
	}
	var out map[string]bool
	for _, t := range topics {
		if out[t] {
			continue
		}
		if !rc.allowed(ctx, action, t) {
			if out == nil {
				out = map[string]bool{}
			}
			out[t] = true
		}
	}
	return out
}

// groupDenied is GROUP_AUTHORIZATION_FAILED's code when the connection may not use consumer
// groups, else 0.
func (rc *reqCtx) groupDenied(ctx context.Context) int16 {
	if rc.allowed(ctx, auth.Consume, "") {
		return 0
	}
	return kerr.GroupAuthorizationFailed.Code
}
