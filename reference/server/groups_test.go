package server

import (
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

// Consumer group "g": its members join with protocol "range" (metadata "m"), a 10 s session
// and rebalance timeout.

const grp = "g"

var sasl = []envOpt{withSASL()}

func joinReq(member string, instance *string, protocols ...string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID, req.InstanceID, req.ProtocolType = grp, member, instance, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
	for _, p := range protocols {
		req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: []byte("m")})
	}
	return req
}

// join sends a JoinGroup at version v.
func (c *client) join(req *kmsg.JoinGroupRequest, v int16) *kmsg.JoinGroupResponse {
	return c.do(req, v).(*kmsg.JoinGroupResponse)
}

// joinAlone joins the empty group at JoinGroup v, with the id MEMBER_ID_REQUIRED hands out
// from v4.
func (c *client) joinAlone(v int16, instance *string) *kmsg.JoinGroupResponse {
	c.t.Helper()
	r := c.join(joinReq("", instance, "range"), v)
	if v >= 4 && instance == nil {
		wantCode(c.t, "first join", r.ErrorCode, kerr.MemberIDRequired)
		r = c.join(joinReq(r.MemberID, nil, "range"), v)
	}
	wantCode(c.t, "join", r.ErrorCode, nil)
	return r
}

// join joins the group through the coordinator itself (a test's setup, not under test).
func (e *env) join(member string, instance *string) group.JoinResult {
	return e.groups.Join(e.ctx, group.JoinRequest{Group: grp, MemberID: member, InstanceID: instance,
		ClientID: "c", SessionTimeout: 10 * time.Second, Rebalance: 10 * time.Second, ProtocolType: "consumer",
		Protocols: []group.Protocol{{Name: "range", Metadata: []byte("m")}}})
}

// stable is a group whose one member (instance, if not nil) has synced: the member.
func (e *env) stable(instance *string) group.JoinResult {
	m := e.join("", instance)
	if s := e.groups.Sync(e.ctx, grp, m.MemberID, instance, m.Generation, nil, nil,
		map[string][]byte{m.MemberID: []byte("assigned")}); s.Err != nil {
		e.t.Fatal(s.Err)
	}
	return m
}

// rebalancing is a stable group a second member is joining: the first member must rejoin.
// It returns the first member and the second's join result, once there is one.
func (e *env) rebalancing() (group.JoinResult, <-chan group.JoinResult) {
	first := e.stable(nil)
	second := make(chan group.JoinResult, 1)
	go func() { second <- e.join("", nil) }()
	// The first member learns of the rebalance from its heartbeat, as a client does.
	for e.groups.Heartbeat(grp, first.MemberID, nil, first.Generation) == nil {
		runtime.Gosched()
	}
	return first, second
}

// twoMembers is a group in its second generation, the first member leading, before any sync.
func (e *env) twoMembers() (leader, follower group.JoinResult) {
	first, second := e.rebalancing()
	return e.join(first.MemberID, nil), <-second
}

func TestJoinGroup(t *testing.T) {
	// refused is a case whose join req (made for the env) by user is answered code.
	refused := func(user string, req func(e *env) *kmsg.JoinGroupRequest, want *kerr.Error) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			r := e.connect(user).join(req(e), v)
			wantCode(t, "join", r.ErrorCode, want)
			if r.Generation != -1 || r.Protocol == nil || *r.Protocol != "" {
				t.Errorf("generation %d protocol %v, want -1 and an empty protocol", r.Generation, r.Protocol)
			}
		}
	}
	fixed := func(req *kmsg.JoinGroupRequest) func(*env) *kmsg.JoinGroupRequest {
		return func(*env) *kmsg.JoinGroupRequest { return req }
	}
	noGroup := joinReq("", nil, "range")
	noGroup.Group = ""
	longSession := joinReq("", nil, "range")
	longSession.SessionTimeoutMillis = int32(time.Hour.Milliseconds())
	forVersions(t, kmsg.JoinGroup, []versionCase{
		{name: "a lone member joins and leads", run: func(t *testing.T, e *env, v int16) {
			r := e.dial().joinAlone(v, nil)
			if r.Generation != 1 || r.LeaderID != r.MemberID || r.Protocol == nil || *r.Protocol != "range" ||
				len(r.Members) != 1 || string(r.Members[0].ProtocolMetadata) != "m" || v >= 7 && *r.ProtocolType != "consumer" {
				t.Errorf("%+v", r)
			}
		}},
		{name: "a static member takes over its instance and fences the old id", from: 5, run: func(t *testing.T, e *env, v int16) {
			c, instance := e.dial(), kmsg.StringPtr("i1")
			old := c.joinAlone(v, instance)
			renewed := c.join(joinReq("", instance, "range"), v)
			wantCode(t, "rejoin by instance", renewed.ErrorCode, nil)
			wantCode(t, "old id", c.join(joinReq(old.MemberID, instance, "range"), v).ErrorCode, kerr.FencedInstanceID)
		}},
		{name: "an empty group id is INVALID_GROUP_ID", run: refused("", fixed(noGroup), kerr.InvalidGroupID)},
		{name: "a session timeout out of bounds is INVALID_SESSION_TIMEOUT", run: refused("", fixed(longSession), kerr.InvalidSessionTimeout)},
		{name: "no protocols is INCONSISTENT_GROUP_PROTOCOL", run: refused("", fixed(joinReq("", nil)), kerr.InconsistentGroupProtocol)},
		{name: "a protocol the group does not speak is INCONSISTENT_GROUP_PROTOCOL", run: refused("", func(e *env) *kmsg.JoinGroupRequest {
			e.stable(nil)
			return joinReq("", nil, "sticky")
		}, kerr.InconsistentGroupProtocol)},
		{name: "an unknown member id is UNKNOWN_MEMBER_ID", run: refused("", fixed(joinReq("made-up", nil, "range")), kerr.UnknownMemberID)},
		{name: "without consume on the namespace GROUP_AUTHORIZATION_FAILED", opts: sasl,
			run: refused("reader", fixed(joinReq("", nil, "range")), kerr.GroupAuthorizationFailed)},
		{name: "a join waiting when the server stops is REBALANCE_IN_PROGRESS", run: func(t *testing.T, e *env, v int16) {
			e.stable(nil)
			c := e.dial()
			c.served() // accepted before the listener closes
			req := joinReq("", nil, "range")
			if v >= 4 {
				req.MemberID = c.join(req, v).MemberID // MEMBER_ID_REQUIRED
			}
			corr := c.send(req, v) // waits for the first member to rejoin
			e.stop()
			wantCode(t, "join", c.recv(joinReq("", nil), v, corr).(*kmsg.JoinGroupResponse).ErrorCode, kerr.RebalanceInProgress)
		}},
	})
}
