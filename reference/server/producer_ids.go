package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
)

// Producer ids belong to the principal they were issued to (idempotence.IDs): InitProducerId
// refuses to act on another principal's id, and Produce refuses its batches. A request's
// context carries its principal (conn.handle), so the partition writers need no more arguments.

type principalKey struct{}

// withPrincipal is ctx carrying the principal that sent the request; nil on listeners without
// SASL.
func withPrincipal(ctx context.Context, p *auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// producerOwner is whom a producer id requested under ctx belongs to: the principal's role,
// "" on listeners without SASL.
func producerOwner(ctx context.Context) string {
	if p, _ := ctx.Value(principalKey{}).(*auth.Principal); p != nil {
		return p.Role
	}
	return ""
}

// producerIDRefused answers a partition's idempotent batches from producer id pid with
// UNKNOWN_PRODUCER_ID, and says so, when pid was issued to another principal. An unknown id is
// bound to this one (idempotence.IDs.Claim). UNKNOWN_PRODUCER_ID is the produce path's answer
// for an id the broker holds no producer state for, and for this principal there is none: it
// tells the caller nothing about the id's owner, and a client recovers from it by asking for a
// fresh id (INVALID_PRODUCER_ID_MAPPING is the transaction coordinator's answer about
// transactional ids, which this gateway does not serve).
func (s *Server) producerIDRefused(ctx context.Context, pid int64, rp *kmsg.ProduceResponseTopicPartition) bool {
	owner := producerOwner(ctx)
	if s.pids.Claim(pid, owner) {
		return false
	}
	s.log.Warn("produce: refused another principal's producer id", "producer_id", pid, "principal", owner)
	rp.ErrorCode = kerr.UnknownProducerID.Code
	return true
}
