package server

// FindCoordinator, key 10, versions 0–3.
//
// This gateway coordinates every group: the answer is always the broker the client is talking
// to, as advertised on its listener. Transaction coordinators (key type 1) do not exist here:
// COORDINATOR_NOT_AVAILABLE. A principal that may not use the group (consume on the namespace,
// and the group's Pulsar subscription permission absent or listing its role; authorize.go) gets
// GROUP_AUTHORIZATION_FAILED, as Kafka answers without DESCRIBE on the group.
//
// Nothing is asked of Pulsar per request: without SASL the answer is the listener's own
// address, and the grants come from one read of the namespace's policies shared by every
// request for 2 s (concurrent misses wait for one read; package auth).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.FindCoordinator, 0, 3, handleFindCoordinator) }

// coordinatorGroup is the key type of consumer group coordinators (1 is transactions).
const coordinatorGroup int8 = 0

func handleFindCoordinator(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if req.CoordinatorType != coordinatorGroup {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		msg := "transactions are not supported by this server"
		resp.ErrorMessage = &msg
		resp.NodeID = -1
		return resp, nil
	}
	if resp.ErrorCode = rc.groupDenied(ctx, req.CoordinatorKey); resp.ErrorCode != 0 {
		resp.NodeID = -1
		return resp, nil
	}
	resp.NodeID, resp.Host, resp.Port = rc.s.cfg.NodeID, rc.listener.AdvertisedHost, rc.listener.AdvertisedPort
	return resp, nil
}
