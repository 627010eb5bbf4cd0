package server

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

// leaveReq is a LeaveGroup of one member: by member id (every version), or from v3 by member
// id and instance id.
func leaveReq(member string, instance *string, v int16) *kmsg.LeaveGroupRequest {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = grp
	if v < 3 {
		req.MemberID = member
	} else {
		req.Members = []kmsg.LeaveGroupRequestMember{{MemberID: member, InstanceID: instance}}
	}
	return req
}

// leaveCode is the answer for the one member who left: per member from v3.
func leaveCode(r kmsg.Response) (int16, int16) {
	resp := r.(*kmsg.LeaveGroupResponse)
	if len(resp.Members) == 1 {
		return resp.ErrorCode, resp.Members[0].ErrorCode
	}
	return resp.ErrorCode, resp.ErrorCode
}

func TestLeaveGroup(t *testing.T) {
	instance := kmsg.StringPtr("i1")
	// leaves is a case where someone leaves the stable group of one member (static with
	// instance, if not nil): the answers for the request and the member, the state after.
	leaves := func(static *string, who func(m group.JoinResult) (string, *string), top, member *kerr.Error, state group.State) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			id, inst := who(e.stable(static))
			gotTop, gotMember := leaveCode(e.dial().do(leaveReq(id, inst, v), v))
			wantCode(t, "leave", gotTop, top)
			wantCode(t, "member", gotMember, member)
			if s := e.groups.Describe(grp).State; s != state {
				t.Errorf("group %s, want %s", s, state)
			}
		}
	}
	itself := func(m group.JoinResult) (string, *string) { return m.MemberID, nil }
	nobody := func(group.JoinResult) (string, *string) { return "nobody", nil }
	byInstance := func(group.JoinResult) (string, *string) { return "", instance }
	otherWithInstance := func(group.JoinResult) (string, *string) { return "nobody", instance }
	forVersions(t, kmsg.LeaveGroup, []versionCase{
		{name: "the only member leaves: the group is empty", run: leaves(nil, itself, nil, nil, group.Empty)},
		{name: "an unknown member is UNKNOWN_MEMBER_ID", below: 3, run: leaves(nil, nobody, kerr.UnknownMemberID, kerr.UnknownMemberID, group.Stable)},
		{name: "an unknown member is UNKNOWN_MEMBER_ID for that member", from: 3, run: leaves(nil, nobody, nil, kerr.UnknownMemberID, group.Stable)},
		{name: "a static member leaves by instance id", from: 3, run: leaves(instance, byInstance, nil, nil, group.Empty)},
		{name: "another member's instance id is FENCED_INSTANCE_ID", from: 3, run: leaves(instance, otherWithInstance, nil, kerr.FencedInstanceID, group.Stable)},
		{name: "an unknown group is UNKNOWN_MEMBER_ID", run: func(t *testing.T, e *env, v int16) {
			top, _ := leaveCode(e.dial().do(leaveReq("m", nil, v), v))
			wantCode(t, "leave", top, kerr.UnknownMemberID)
		}},
		{name: "without consume on the namespace GROUP_AUTHORIZATION_FAILED", opts: sasl, run: func(t *testing.T, e *env, v int16) {
			top, _ := leaveCode(e.dialAs("reader").do(leaveReq("m", nil, v), v))
			wantCode(t, "leave", top, kerr.GroupAuthorizationFailed)
		}},
	})
}

// describeGroup is one group as DescribeGroups answers it, as "group state protocol-type protocol
// code [member client host metadata assignment]".
func describeGroup(c *client, v int16, gid string) string {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{gid}
	g := c.do(req, v).(*kmsg.DescribeGroupsResponse).Groups[0]
	out := fmt.Sprintf("%s %s %s %s %v", g.Group, g.State, g.ProtocolType, g.Protocol, kerr.ErrorForCode(g.ErrorCode))
	for _, m := range g.Members {
		out += fmt.Sprintf(" [%s %s %q %q]", m.ClientID, m.ClientHost, m.ProtocolMetadata, m.MemberAssignment)
	}
	if v >= 3 && g.AuthorizedOperations != math.MinInt32 {
		out += " with authorized operations"
	}
	return out
}

func TestDescribeGroups(t *testing.T) {
	describes := func(user string, prepare func(*env), gid, want string) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			prepare(e)
			if got := describeGroup(e.connect(user), v, gid); got != want {
				t.Errorf("%s, want %s", got, want)
			}
		}
	}
	stable := func(e *env) { e.stable(nil) }
	forVersions(t, kmsg.DescribeGroups, []versionCase{
		{name: "a stable group shares metadata and assignments",
			run: describes("", stable, grp, `g Stable consumer range <nil> [c  "m" "assigned"]`)},
		{name: "a rebalancing group does not", run: describes("", func(e *env) { e.rebalancing() }, grp,
			`g PreparingRebalance consumer  <nil> [c  "" ""] [c  "" ""]`)},
		{name: "members that joined on the wire show their host", run: func(t *testing.T, e *env, v int16) {
			e.dial().joinAlone(4, nil)
			if got, want := describeGroup(e.dial(), v, grp), `g CompletingRebalance consumer  <nil> [ /127.0.0.1 "" ""]`; got != want {
				t.Errorf("%s, want %s", got, want)
			}
		}},
		{name: "an unknown group is Dead without an error", run: describes("", stable, "nosuch", "nosuch Dead   <nil>")},
		{name: "without consume on the namespace GROUP_AUTHORIZATION_FAILED", opts: sasl,
			run: describes("reader", stable, grp, "g    "+kerr.GroupAuthorizationFailed.Error())},
	})
}

func TestListGroups(t *testing.T) {
	// lists is a case listing groups (filtered by states) after a stable "g" and an empty "h".
	lists := func(user string, states []string, want ...string) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			e.stable(nil)
			e.groups.Commit(e.ctx, "h", "", nil, -1, nil)
			req := kmsg.NewPtrListGroupsRequest()
			req.StatesFilter = states
			r := e.connect(user).do(req, v).(*kmsg.ListGroupsResponse)
			var got []string
			for _, g := range r.Groups {
				got = append(got, g.Group+" "+g.ProtocolType+" "+g.GroupState)
			}
			if r.ErrorCode != 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("%v %v, want %v", kerr.ErrorForCode(r.ErrorCode), got, want)
			}
		}
	}
	forVersions(t, kmsg.ListGroups, []versionCase{
		{name: "every group with its protocol type", below: 4, run: lists("", nil, "g consumer ", "h  ")},
		{name: "with its state", from: 4, run: lists("", nil, "g consumer Stable", "h  Empty")},
		{name: "filtered by state", from: 4, run: lists("", []string{"Empty"}, "h  Empty")},
		{name: "none without consume on the namespace", opts: sasl, run: lists("reader", nil)},
	})
}

func TestDeleteGroups(t *testing.T) {
	deletes := func(user string, prepare func(*env), gid string, want *kerr.Error) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			e.groups.Commit(e.ctx, "h", "", nil, -1, []group.OffsetCommit{{Topic: topic, Offset: 5, LeaderEpoch: -1}})
			if prepare != nil {
				prepare(e)
			}
			req := kmsg.NewPtrDeleteGroupsRequest()
			req.Groups = []string{gid}
			wantCode(t, gid, e.connect(user).do(req, v).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode, want)
			if gone := e.groups.Describe("h").State == group.Dead; gone != (want == nil) {
				t.Errorf("group h deleted: %v", gone)
			}
		}
	}
	forVersions(t, kmsg.DeleteGroups, []versionCase{
		{name: "an empty group goes with its offsets", run: func(t *testing.T, e *env, v int16) {
			deletes("", nil, "h", nil)(t, e, v)
			if c := e.groups.Fetch("h", map[string][]int32{topic: {0}}); c[0].Offset != -1 {
				t.Errorf("offset %d left", c[0].Offset)
			}
		}},
		{name: "a group with members is NON_EMPTY_GROUP", run: deletes("", func(e *env) { e.stable(nil) }, grp, kerr.NonEmptyGroup)},
		{name: "an unknown group is GROUP_ID_NOT_FOUND", run: deletes("", nil, "nosuch", kerr.GroupIDNotFound)},
		{name: "a deletion Pulsar does not store is COORDINATOR_NOT_AVAILABLE", run: func(t *testing.T, e *env, v int16) {
			e.groups.Commit(e.ctx, "h", "", nil, -1, nil)
			e.state.Fail(errors.New("bookies down"))
			req := kmsg.NewPtrDeleteGroupsRequest()
			req.Groups = []string{"h"}
			wantCode(t, "h", e.dial().do(req, v).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode, kerr.CoordinatorNotAvailable)
		}},
		{name: "without consume on the namespace GROUP_AUTHORIZATION_FAILED", opts: sasl, run: deletes("reader", nil, "h", kerr.GroupAuthorizationFailed)},
	})
}

func TestFindCoordinator(t *testing.T) {
	finds := func(user string, keyType int8, want *kerr.Error, node int32) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			req := kmsg.NewPtrFindCoordinatorRequest()
			req.CoordinatorKey, req.CoordinatorType = grp, keyType
			r := e.connect(user).do(req, v).(*kmsg.FindCoordinatorResponse)
			wantCode(t, "find coordinator", r.ErrorCode, want)
			if r.NodeID != node || node >= 0 && (r.Host != "127.0.0.1" || r.Port != e.port) {
				t.Errorf("node %d at %s:%d, want %d", r.NodeID, r.Host, r.Port, node)
			}
		}
	}
	forVersions(t, kmsg.FindCoordinator, []versionCase{
		{name: "this broker coordinates every group", run: finds("", 0, nil, node)},
		{name: "transaction coordinators are COORDINATOR_NOT_AVAILABLE", from: 1, run: finds("", 1, kerr.CoordinatorNotAvailable, -1)},
		{name: "without consume on the namespace GROUP_AUTHORIZATION_FAILED", opts: sasl, run: finds("reader", 0, kerr.GroupAuthorizationFailed, -1)},
	})
}
