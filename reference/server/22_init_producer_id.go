package server

// InitProducerId, key 22, versions 0–3.
//
// Idempotent producers (no transactional id) get a fresh producer id at epoch 0; from v3 a
// producer that names its current id and epoch gets the epoch bumped (KIP-360), or a new id
// once the epoch is exhausted. Transactions are not served: a transactional id gets
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, a clear and final answer, rather than a retriable
// error a client would retry forever.

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.InitProducerID, 0, 3, handleInitProducerID) }

func handleInitProducerID(_ context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		rc.s.log.Info("init producer id: transactions are not served", "transactional_id", *req.TransactionalID)
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp, nil
	}
	if req.Version >= 3 && req.ProducerID >= 0 && req.ProducerEpoch >= 0 && req.ProducerEpoch < math.MaxInt16-1 {
		resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = rc.s.pids.Next(), 0
	return resp, nil
}
