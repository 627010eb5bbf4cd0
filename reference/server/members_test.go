package server

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

// The membership checks SyncGroup, Heartbeat and OffsetCommit share, in Kafka's order.

// memberProbe is an API a group member sends: a request as member at generation (with its
// static instance id, if any), and the code answered.
type memberProbe struct {
	key kmsg.Key
	// static is the first version with instance ids; commits send members from v1.
	static, members int16
	req             func(member string, generation int32, instance *string) kmsg.Request
	code            func(kmsg.Response) int16
}

func syncReq(member string, generation int32, instance *string) kmsg.Request {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.MemberID, req.Generation, req.InstanceID = grp, member, generation, instance
	return req
}

func heartbeatReq(member string, generation int32, instance *string) kmsg.Request {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation, req.InstanceID = grp, member, generation, instance
	return req
}

func memberCommitReq(member string, generation int32, instance *string) kmsg.Request {
	req := commitReq(grp, topic, 0, 5)
	req.MemberID, req.Generation, req.InstanceID = member, generation, instance
	return req
}

var memberProbes = []memberProbe{
	{kmsg.SyncGroup, 3, 0, syncReq, func(r kmsg.Response) int16 { return r.(*kmsg.SyncGroupResponse).ErrorCode }},
	{kmsg.Heartbeat, 3, 0, heartbeatReq, func(r kmsg.Response) int16 { return r.(*kmsg.HeartbeatResponse).ErrorCode }},
	{kmsg.OffsetCommit, 7, 1, memberCommitReq, func(r kmsg.Response) int16 { return committed(r).ErrorCode }},
}

func TestMembership(t *testing.T) {
	instance := kmsg.StringPtr("i1")
	type scenario struct {
		name   string
		static bool
		user   string
		send   func(e *env, p memberProbe) kmsg.Request
		want   *kerr.Error
	}
	scenarios := []scenario{
		{name: "a member of the stable group", send: func(e *env, p memberProbe) kmsg.Request {
			m := e.stable(nil)
			return p.req(m.MemberID, m.Generation, nil)
		}},
		{name: "an unknown member is UNKNOWN_MEMBER_ID", want: kerr.UnknownMemberID, send: func(e *env, p memberProbe) kmsg.Request {
			m := e.stable(nil)
			return p.req("nobody", m.Generation, nil)
		}},
		{name: "another generation is ILLEGAL_GENERATION", want: kerr.IllegalGeneration, send: func(e *env, p memberProbe) kmsg.Request {
			m := e.stable(nil)
			return p.req(m.MemberID, m.Generation+1, nil)
		}},
		{name: "a static member's old id is FENCED_INSTANCE_ID", static: true, want: kerr.FencedInstanceID,
			send: func(e *env, p memberProbe) kmsg.Request {
				old := e.stable(instance)
				e.join("", instance) // the instance restarts under a new member id
				return p.req(old.MemberID, old.Generation, instance)
			}},
		{name: "without consume on the namespace GROUP_AUTHORIZATION_FAILED", user: "reader", want: kerr.GroupAuthorizationFailed,
			send: func(e *env, p memberProbe) kmsg.Request {
				m := e.stable(nil)
				return p.req(m.MemberID, m.Generation, nil)
			}},
	}
	for _, p := range memberProbes {
		var cases []versionCase
		for _, sc := range scenarios {
			c := versionCase{name: sc.name, from: p.members, run: func(t *testing.T, e *env, v int16) {
				wantCode(t, kmsg.NameForKey(p.key.Int16()), p.code(e.connect(sc.user).do(sc.send(e, p), v)), sc.want)
			}}
			if sc.static {
				c.from = p.static
			}
			if sc.user != "" {
				c.opts = sasl
			}
			cases = append(cases, c)
		}
		t.Run(kmsg.NameForKey(p.key.Int16()), func(t *testing.T) { forVersions(t, p.key, cases) })
	}
}

// syncWith is the leader's SyncGroup handing out one assignment per member.
func syncWith(leader group.JoinResult, assignments map[string]string) kmsg.Request {
	req := syncReq(leader.MemberID, leader.Generation, nil).(*kmsg.SyncGroupRequest)
	for id, a := range assignments {
		req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: []byte(a)})
	}
	return req
}

func TestSyncGroup(t *testing.T) {
	forVersions(t, kmsg.SyncGroup, []versionCase{
		{name: "the leader hands out assignments, a follower waits for its own", run: func(t *testing.T, e *env, v int16) {
			leader, follower := e.twoMembers()
			cf := e.dial()
			corr := cf.send(syncReq(follower.MemberID, follower.Generation, nil), v)
			rl := e.dial().do(syncWith(leader, map[string]string{leader.MemberID: "a", follower.MemberID: "b"}), v).(*kmsg.SyncGroupResponse)
			rf := cf.recv(syncReq("", 0, nil), v, corr).(*kmsg.SyncGroupResponse)
			if rl.ErrorCode != 0 || rf.ErrorCode != 0 || string(rl.MemberAssignment) != "a" || string(rf.MemberAssignment) != "b" {
				t.Errorf("leader %+v follower %+v", rl, rf)
			}
			if v >= 5 && (*rf.ProtocolType != "consumer" || *rf.Protocol != "range") {
				t.Errorf("protocol %v %v", *rf.ProtocolType, *rf.Protocol)
			}
		}},
		{name: "during a rebalance REBALANCE_IN_PROGRESS", run: func(t *testing.T, e *env, v int16) {
			first, _ := e.rebalancing()
			r := e.dial().do(syncReq(first.MemberID, first.Generation, nil), v).(*kmsg.SyncGroupResponse)
			wantCode(t, "sync", r.ErrorCode, kerr.RebalanceInProgress)
		}},
		{name: "another protocol is INCONSISTENT_GROUP_PROTOCOL", from: 5, run: func(t *testing.T, e *env, v int16) {
			m := e.stable(nil)
			req := syncReq(m.MemberID, m.Generation, nil).(*kmsg.SyncGroupRequest)
			req.ProtocolType, req.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("sticky")
			wantCode(t, "sync", e.dial().do(req, v).(*kmsg.SyncGroupResponse).ErrorCode, kerr.InconsistentGroupProtocol)
		}},
	})
}

func TestHeartbeat(t *testing.T) {
	beats := func(during func(e *env) group.JoinResult, want *kerr.Error) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			m := during(e)
			wantCode(t, "heartbeat", e.dial().do(heartbeatReq(m.MemberID, m.Generation, nil), v).(*kmsg.HeartbeatResponse).ErrorCode, want)
		}
	}
	forVersions(t, kmsg.Heartbeat, []versionCase{
		{name: "an unknown group is UNKNOWN_MEMBER_ID", run: beats(func(*env) group.JoinResult { return group.JoinResult{MemberID: "m"} }, kerr.UnknownMemberID)},
		{name: "a rebalance collecting joins is REBALANCE_IN_PROGRESS", run: beats(func(e *env) group.JoinResult {
			first, _ := e.rebalancing()
			return first
		}, kerr.RebalanceInProgress)},
		{name: "a completed join waiting for its sync is no error", run: beats(func(e *env) group.JoinResult {
			_, follower := e.twoMembers()
			return follower
		}, nil)},
	})
}
