package server

// InitProducerId, key 22, versions 0–3.
//
// Idempotent producers (no transactional id) get a fresh producer id at epoch 0, a random
// positive 63-bit number no one can guess from another (package idempotence), bound to the
// principal asking ("" on listeners without SASL; producer_ids.go). As in Kafka, a producer id
// and epoch named without a transactional id (v3, KIP-360) are not bumped: the answer is a
// fresh id, so no connection can bump, and so fence, an id handed to another. Naming an id
// issued to another principal is refused with INVALID_PRODUCER_ID_MAPPING (the id is not
// assigned to the one asking; final, so a client does not retry it); an id this gateway does
// not know (from before a restart) is not refused.
// Transactions are not served: a transactional id gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED, a
// clear and final answer, rather than a retriable error a client would retry forever.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.InitProducerID, 0, 3, handleInitProducerID) }

func handleInitProducerID(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		rc.s.log.Info("init producer id: transactions are not served", "transactional_id", *req.TransactionalID)
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp, nil
	}
	asker := producerOwner(ctx)
	if req.Version >= 3 && req.ProducerID >= 0 {
		if owner, known := rc.s.pids.Owner(req.ProducerID); known && owner != asker {
			rc.conn.logger().Warn("init producer id: refused another principal's producer id", "producer_id", req.ProducerID)
			resp.ErrorCode = kerr.InvalidProducerIDMapping.Code
			return resp, nil
		}
	}
	id, ok := rc.s.pids.Next(asker)
	if !ok {
		rc.s.log.Error("init producer id: no fresh producer id")
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp, nil
}
