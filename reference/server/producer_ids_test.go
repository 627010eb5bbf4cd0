package server

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
)

// Producer ids belong to the principal they were issued to: "admin" and "writer" may both
// produce, but neither may write with, or have InitProducerId act on, the other's id.

// withWriter adds the SASL user "writer", who may produce and consume like admin.
func (e *env) withWriter() {
	e.auth.AddUser("writer", "writer-pw", "writer")
	e.auth.Grant("writer", "", auth.Produce, auth.Consume)
}

// initProducerID asks for an id (naming id/epoch from v3, -1/-1 for none).
func (c *client) initProducerID(v int16, id int64, epoch int16) *kmsg.InitProducerIDResponse {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.ProducerID, req.ProducerEpoch = id, epoch
	return c.do(req, v).(*kmsg.InitProducerIDResponse)
}

func TestProduceRefusesAnotherPrincipalsProducerID(t *testing.T) {
	forVersions(t, kmsg.Produce, []versionCase{
		{name: "another principal's producer id is UNKNOWN_PRODUCER_ID and nothing is written", opts: sasl, run: func(t *testing.T, e *env, v int16) {
			e.withWriter()
			admin, writer := e.dialAs("admin"), e.dialAs("writer")
			pid := admin.initProducerID(0, -1, -1).ProducerID
			b := batch{values: []string{"forged"}, pid: pid, epoch: 0, seq: 0}
			r := writer.produceTo(0, b.encode(t), v)
			wantCode(t, "writer with admin's id", r.ErrorCode, kerr.UnknownProducerID)
			if r.BaseOffset != -1 || e.highWatermark(0) != 0 {
				t.Fatalf("base offset %d, high watermark %d: nothing must be written", r.BaseOffset, e.highWatermark(0))
			}
			// The owner writes with it, from sequence 0: the refusal left no producer state.
			b.values = []string{"mine"}
			if r := admin.produceTo(0, b.encode(t), v); r.ErrorCode != 0 || r.BaseOffset != 0 {
				t.Fatalf("admin with its own id: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
			}
		}},
		{name: "an id this gateway does not know is its first user's", opts: sasl, run: func(t *testing.T, e *env, v int16) {
			e.withWriter()
			admin, writer := e.dialAs("admin"), e.dialAs("writer")
			b := batch{values: []string{"a"}, pid: 424242, epoch: 0, seq: 0} // issued before a restart, say
			wantCode(t, "writer first", writer.produceTo(0, b.encode(t), v).ErrorCode, nil)
			b.seq = 1
			wantCode(t, "admin next", admin.produceTo(0, b.encode(t), v).ErrorCode, kerr.UnknownProducerID)
			wantCode(t, "writer again", writer.produceTo(0, b.encode(t), v).ErrorCode, nil)
		}},
	})
}

func TestInitProducerIDRefusesAnotherPrincipalsID(t *testing.T) {
	forVersions(t, kmsg.InitProducerID, []versionCase{
		{name: "naming another principal's id is INVALID_PRODUCER_ID_MAPPING", from: 3, opts: sasl, run: func(t *testing.T, e *env, v int16) {
			e.withWriter()
			admin, writer := e.dialAs("admin"), e.dialAs("writer")
			owned := admin.initProducerID(v, -1, -1)
			r := writer.initProducerID(v, owned.ProducerID, owned.ProducerEpoch)
			wantCode(t, "writer names admin's id", r.ErrorCode, kerr.InvalidProducerIDMapping)
			if r.ProducerID != -1 || r.ProducerEpoch != -1 {
				t.Errorf("producer %d epoch %d, want -1/-1", r.ProducerID, r.ProducerEpoch)
			}
			// Its owner naming it gets a fresh id (never a bump without a transactional id).
			if r := admin.initProducerID(v, owned.ProducerID, owned.ProducerEpoch); r.ErrorCode != 0 || r.ProducerID == owned.ProducerID || r.ProducerID <= 0 {
				t.Errorf("admin names its own id: %v, id %d", kerr.ErrorForCode(r.ErrorCode), r.ProducerID)
			}
			// An id the gateway does not know is not refused.
			if r := writer.initProducerID(v, 424242, 3); r.ErrorCode != 0 || r.ProducerID <= 0 {
				t.Errorf("an unknown id: %v, id %d", kerr.ErrorForCode(r.ErrorCode), r.ProducerID)
			}
		}},
		{name: "ids are issued to the principal asking", opts: sasl, run: func(t *testing.T, e *env, v int16) {
			e.withWriter()
			id := e.dialAs("writer").initProducerID(v, -1, -1).ProducerID
			if owner, known := e.srv.pids.Owner(id); !known || owner != "writer" {
				t.Errorf("id %d belongs to %q (known %v), want writer", id, owner, known)
			}
		}},
	})
}
