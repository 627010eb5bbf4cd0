package server

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

// Group authorization follows Pulsar's subscription permissions: "consumer" may consume on the
// namespace, but group "g" has a subscription permission listing only "admin", so every group
// API refuses "consumer" on it with GROUP_AUTHORIZATION_FAILED and leaves it as it was.

// restrictedGroup makes "g" usable by admin only, with offset 5 committed on partition 0 and,
// with members, one stable member (returned).
func (e *env) restrictedGroup(members bool) group.JoinResult {
	m := e.usedGroup(members)
	e.auth.GrantSubscription(grp, "admin")
	return m
}

// usedGroup makes "g" with offset 5 committed on partition 0 and, with members, one stable
// member (returned).
func (e *env) usedGroup(members bool) group.JoinResult {
	e.t.Helper()
	var m group.JoinResult
	if members {
		m = e.stable(nil)
	}
	gen, member := int32(-1), ""
	if members {
		gen, member = m.Generation, m.MemberID
	}
	if gerr, perr := e.groups.Commit(e.ctx, grp, member, nil, gen, []group.OffsetCommit{{Topic: topic, Offset: 5, LeaderEpoch: -1}}); gerr != nil || perr[0] != nil {
		e.t.Fatalf("commit: %v %v", gerr, perr)
	}
	return m
}

// groupState is everything a request could change about "g".
func (e *env) groupState() string {
	return fmt.Sprintf("%+v %v", e.groups.Describe(grp), e.offsetsOf(grp))
}

// groupProbe is one group API's request on "g" (for member m) and its error code for the group.
type groupProbe struct {
	key     kmsg.Key
	members bool // the group has a stable member (else only committed offsets)
	req     func(m group.JoinResult, v int16) kmsg.Request
	code    func(r kmsg.Response, v int16) int16
}

var groupProbes = []groupProbe{
	{kmsg.FindCoordinator, true, func(group.JoinResult, int16) kmsg.Request {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = grp
		return req
	}, func(r kmsg.Response, _ int16) int16 { return r.(*kmsg.FindCoordinatorResponse).ErrorCode }},
	{kmsg.JoinGroup, false, func(group.JoinResult, int16) kmsg.Request { return joinReq("", nil, "range") },
		func(r kmsg.Response, _ int16) int16 { return r.(*kmsg.JoinGroupResponse).ErrorCode }},
	{kmsg.SyncGroup, true, func(m group.JoinResult, _ int16) kmsg.Request {
		req := syncReq(m.MemberID, m.Generation, nil).(*kmsg.SyncGroupRequest)
		req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: m.MemberID, MemberAssignment: []byte("stolen")}}
		return req
	}, func(r kmsg.Response, _ int16) int16 { return r.(*kmsg.SyncGroupResponse).ErrorCode }},
	{kmsg.Heartbeat, true, func(m group.JoinResult, _ int16) kmsg.Request { return heartbeatReq(m.MemberID, m.Generation, nil) },
		func(r kmsg.Response, _ int16) int16 { return r.(*kmsg.HeartbeatResponse).ErrorCode }},
	{kmsg.LeaveGroup, true, func(m group.JoinResult, v int16) kmsg.Request { return leaveReq(m.MemberID, nil, v) },
		func(r kmsg.Response, _ int16) int16 { top, _ := leaveCode(r); return top }},
	{kmsg.OffsetCommit, true, func(m group.JoinResult, v int16) kmsg.Request {
		req := commitReq(grp, topic, 0, 9)
		req.MemberID, req.Generation = m.MemberID, m.Generation
		return req
	}, func(r kmsg.Response, _ int16) int16 { return committed(r).ErrorCode }},
	{kmsg.OffsetFetch, true, func(group.JoinResult, int16) kmsg.Request {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Group, req.Topics = grp, []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{0}}}
		return req
	}, func(r kmsg.Response, v int16) int16 {
		resp := r.(*kmsg.OffsetFetchResponse)
		if v >= 2 {
			return resp.ErrorCode
		}
		p := resp.Topics[0].Partitions[0] // v0–1: the error is the partition's
		if p.ErrorCode != 0 && p.Offset != -1 {
			return -2 // a refusal must not show the offset
		}
		return p.ErrorCode
	}},
	{kmsg.DescribeGroups, true, func(group.JoinResult, int16) kmsg.Request {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{grp}
		return req
	}, func(r kmsg.Response, _ int16) int16 {
		g := r.(*kmsg.DescribeGroupsResponse).Groups[0]
		if g.ErrorCode != 0 && (len(g.Members) > 0 || g.State != "") {
			return -2 // a refusal must not describe the group
		}
		return g.ErrorCode
	}},
	{kmsg.DeleteGroups, false, func(group.JoinResult, int16) kmsg.Request {
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Groups = []string{grp}
		return req
	}, func(r kmsg.Response, _ int16) int16 { return r.(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode }},
}

func TestGroupSubscriptionPermission(t *testing.T) {
	for _, p := range groupProbes {
		t.Run(kmsg.NameForKey(p.key.Int16()), func(t *testing.T) {
			forVersions(t, p.key, []versionCase{
				{name: "a role the group's subscription permission does not list is GROUP_AUTHORIZATION_FAILED", opts: sasl,
					run: func(t *testing.T, e *env, v int16) {
						m := e.restrictedGroup(p.members)
						before := e.groupState()
						wantCode(t, "consumer", p.code(e.dialAs("consumer").do(p.req(m, v), v), v), kerr.GroupAuthorizationFailed)
						if after := e.groupState(); after != before {
							t.Errorf("the refused request changed the group:\n%s\nwas\n%s", after, before)
						}
						// The role the permission lists uses the group.
						if got := p.code(e.dialAs("admin").do(p.req(m, v), v), v); got == kerr.GroupAuthorizationFailed.Code || got == -2 {
							t.Errorf("admin: %v", kerr.ErrorForCode(got))
						}
					}},
				{name: "a group without subscription permission is anyone's with consume on the namespace", opts: sasl,
					run: func(t *testing.T, e *env, v int16) {
						m := e.usedGroup(p.members)
						e.auth.GrantSubscription("other", "admin") // another group's permission does not count
						if got := p.code(e.dialAs("consumer").do(p.req(m, v), v), v); got == kerr.GroupAuthorizationFailed.Code || got == -2 {
							t.Errorf("consumer: %v", kerr.ErrorForCode(got))
						}
					}},
			})
		})
	}
}

// ListGroups shows a principal only the groups it may use.
func TestListGroupsHidesRestrictedGroups(t *testing.T) {
	forVersions(t, kmsg.ListGroups, []versionCase{{name: "a group another role's permission lists is hidden", opts: sasl,
		run: func(t *testing.T, e *env, v int16) {
			e.restrictedGroup(true)
			e.groups.Commit(e.ctx, "h", "", nil, -1, nil)
			list := func(user string) []string {
				var out []string
				for _, g := range e.dialAs(user).do(kmsg.NewPtrListGroupsRequest(), v).(*kmsg.ListGroupsResponse).Groups {
					out = append(out, g.Group)
				}
				return out
			}
			if got, want := list("consumer"), []string{"h"}; !reflect.DeepEqual(got, want) {
				t.Errorf("consumer sees %v, want %v", got, want)
			}
			if got, want := list("admin"), []string{grp, "h"}; !reflect.DeepEqual(got, want) {
				t.Errorf("admin sees %v, want %v", got, want)
			}
		}}})
}

// Before v2 OffsetFetch has no group error code: a refusal is every partition's.
func TestOffsetFetchErrorsBeforeV2(t *testing.T) {
	forVersions(t, kmsg.OffsetFetch, []versionCase{{name: "an empty group id is INVALID_GROUP_ID in every partition", below: 2,
		run: func(t *testing.T, e *env, v int16) {
			req := kmsg.NewPtrOffsetFetchRequest()
			req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{0, 1}}}
			r := e.dial().do(req, v).(*kmsg.OffsetFetchResponse)
			if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 2 {
				t.Fatalf("%+v", r.Topics)
			}
			for _, p := range r.Topics[0].Partitions {
				wantCode(t, fmt.Sprint("partition ", p.Partition), p.ErrorCode, kerr.InvalidGroupID)
				if p.Offset != -1 {
					t.Errorf("partition %d: offset %d", p.Partition, p.Offset)
				}
			}
		}}})
}
