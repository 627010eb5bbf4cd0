package server

import (
	"reflect"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
)

// listedGroups is what ListGroups shows a trusted connection (or admin when sasl), sorted.
func (e *env) listedGroups(sasl bool) []string {
	c := e.dial()
	if sasl {
		c = e.dialAs("admin")
	}
	var out []string
	for _, g := range c.do(kmsg.NewPtrListGroupsRequest(), 0).(*kmsg.ListGroupsResponse).Groups {
		out = append(out, g.Group)
	}
	slices.Sort(out)
	return out
}

// createsNoGroup is a case sending req (for group g, which does not exist; another group
// does) as user and expecting code: the refused request must leave the groups as they were.
func createsNoGroup(user string, req func(*env) kmsg.Request, code func(kmsg.Response) int16, want *kerr.Error) func(*testing.T, *env, int16) {
	return func(t *testing.T, e *env, v int16) {
		e.groups.Commit(e.ctx, "other", "", nil, -1, nil)
		before, count := e.listedGroups(user != ""), len(e.groups.List(nil))
		wantCode(t, "refused request", code(e.connect(user).do(req(e), v)), want)
		if after := e.listedGroups(user != ""); !reflect.DeepEqual(after, before) || len(e.groups.List(nil)) != count {
			t.Errorf("groups %v (%d) after the refused request; want %v (%d) as before", after, len(e.groups.List(nil)), before, count)
		}
		if got := e.groups.Describe(grp).State; got != "Dead" {
			t.Errorf("group %s is %s; want it unknown (Dead)", grp, got)
		}
	}
}

func TestRefusedRequestsCreateNoGroup(t *testing.T) {
	joinCode := func(r kmsg.Response) int16 { return r.(*kmsg.JoinGroupResponse).ErrorCode }
	join := func(edit func(*kmsg.JoinGroupRequest)) func(*env) kmsg.Request {
		return func(*env) kmsg.Request {
			req := joinReq("", nil, "range")
			edit(req)
			return req
		}
	}
	t.Run("JoinGroup", func(t *testing.T) {
		forVersions(t, kmsg.JoinGroup, []versionCase{
			{name: "without consume on the namespace", opts: sasl, run: createsNoGroup("reader",
				join(func(*kmsg.JoinGroupRequest) {}), joinCode, kerr.GroupAuthorizationFailed)},
			{name: "a session timeout out of bounds", run: createsNoGroup("",
				join(func(r *kmsg.JoinGroupRequest) { r.SessionTimeoutMillis = 1 << 30 }), joinCode, kerr.InvalidSessionTimeout)},
			{name: "no protocol type", run: createsNoGroup("",
				join(func(r *kmsg.JoinGroupRequest) { r.ProtocolType = "" }), joinCode, kerr.InconsistentGroupProtocol)},
			{name: "an unknown member id", run: createsNoGroup("",
				join(func(r *kmsg.JoinGroupRequest) { r.MemberID = "made-up" }), joinCode, kerr.UnknownMemberID)},
			{name: "an unknown member id of a static member", from: 5, run: createsNoGroup("",
				join(func(r *kmsg.JoinGroupRequest) { r.MemberID, r.InstanceID = "made-up", kmsg.StringPtr("i1") }), joinCode, kerr.UnknownMemberID)},
		})
	})

	commitCode := func(r kmsg.Response) int16 { return committed(r).ErrorCode }
	commit := func(partition int32, member string) func(*env) kmsg.Request {
		return func(*env) kmsg.Request {
			req := commitReq(grp, topic, partition, 5)
			if member != "" {
				req.MemberID, req.Generation = member, 3
			}
			return req
		}
	}
	t.Run("OffsetCommit", func(t *testing.T) {
		forVersions(t, kmsg.OffsetCommit, []versionCase{
			{name: "without consume on the namespace", opts: sasl, run: createsNoGroup("reader",
				commit(0, ""), commitCode, kerr.GroupAuthorizationFailed)},
			{name: "without consume on the only topic", run: createsNoGroup("consumer", commit(0, ""), commitCode, kerr.TopicAuthorizationFailed),
				opts: []envOpt{withSASL(), func(s *setup) { s.authz = func(m *auth.Memory) Authorizer { return topicDenied{m} } }}},
			{name: "only a partition that does not exist", run: createsNoGroup("", commit(nParts, ""), commitCode, kerr.UnknownTopicOrPartition)},
			{name: "a member of a group that does not exist", from: 1, run: createsNoGroup("", commit(0, "made-up"), commitCode, kerr.UnknownMemberID)},
		})
	})
}
