package server

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

// offsetsOf lists what the coordinator holds for group gid on partitions 0 and 1 of "t", as
// "offset/epoch/metadata".
func (e *env) offsetsOf(gid string) []string {
	var out []string
	for _, c := range e.groups.Fetch(gid, map[string][]int32{topic: {0, 1}}) {
		out = append(out, fmt.Sprintf("%d/%d/%s", c.Offset, c.LeaderEpoch, c.Metadata))
	}
	return out
}

// topicDenied is an authorizer that refuses everything on topic "t" and asks the memory one
// about the rest. With Pulsar's grants a principal that may use groups may consume every
// topic; this one shows OffsetCommit's check of the topic itself.
type topicDenied struct{ Authorizer }

func (a topicDenied) Allowed(ctx context.Context, role string, action auth.Action, t string) (bool, error) {
	if t == topic {
		return false, nil
	}
	return a.Authorizer.Allowed(ctx, role, action, t)
}

func TestOffsetCommit(t *testing.T) {
	// commits is a case committing req to group g: the answers per partition and what the
	// coordinator then holds for partitions 0 and 1 (E: the leader epoch, sent from v6).
	commits := func(user string, req func(*env) *kmsg.OffsetCommitRequest, want []*kerr.Error, held ...string) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			r := e.connect(user).do(req(e), v).(*kmsg.OffsetCommitResponse)
			for i, p := range r.Topics[0].Partitions {
				wantCode(t, fmt.Sprint("partition ", p.Partition), p.ErrorCode, want[i])
			}
			epoch := "-1"
			if v >= 6 {
				epoch = "0"
			}
			want := strings.Split(strings.ReplaceAll(strings.Join(held, " "), "E", epoch), " ")
			if got := e.offsetsOf(grp); !reflect.DeepEqual(got, want) {
				t.Errorf("held %v, want %v", got, want)
			}
		}
	}
	standalone := func(*env) *kmsg.OffsetCommitRequest { return commitReq(grp, topic, 0, 5) }
	nothing := []string{"-1/-1/", "-1/-1/"}
	tooLong := func(*env) *kmsg.OffsetCommitRequest {
		req := commitReq(grp, topic, 0, 5)
		req.Topics[0].Partitions[0].Metadata = kmsg.StringPtr(strings.Repeat("x", 4097))
		return req
	}
	forVersions(t, kmsg.OffsetCommit, []versionCase{
		{name: "a standalone commit is stored with its metadata", run: commits("", standalone, []*kerr.Error{nil}, "5/E/md", "-1/-1/")},
		{name: "a partition the topic does not have fails alone", run: commits("", func(*env) *kmsg.OffsetCommitRequest {
			req := commitReq(grp, topic, 0, 5)
			req.Topics[0].Partitions = append(req.Topics[0].Partitions, kmsg.OffsetCommitRequestTopicPartition{Partition: 9, Offset: 1})
			return req
		}, []*kerr.Error{nil, kerr.UnknownTopicOrPartition}, "5/E/md", "-1/-1/")},
		{name: "metadata over 4096 bytes is OFFSET_METADATA_TOO_LARGE", run: commits("", tooLong, []*kerr.Error{kerr.OffsetMetadataTooLarge}, nothing...)},
		{name: "an empty group id is INVALID_GROUP_ID", run: func(t *testing.T, e *env, v int16) {
			wantCode(t, "commit", committed(e.dial().do(commitReq("", topic, 0, 5), v)).ErrorCode, kerr.InvalidGroupID)
		}},
		{name: "a commit Pulsar does not store is COORDINATOR_NOT_AVAILABLE", run: commits("", func(e *env) *kmsg.OffsetCommitRequest {
			e.state.Fail(errors.New("bookies down"))
			return commitReq(grp, topic, 0, 5)
		}, []*kerr.Error{kerr.CoordinatorNotAvailable}, nothing...)},
		{name: "a join waiting for its sync is REBALANCE_IN_PROGRESS", from: 1, run: commits("", func(e *env) *kmsg.OffsetCommitRequest {
			leader, _ := e.twoMembers()
			return memberCommitReq(leader.MemberID, leader.Generation, nil).(*kmsg.OffsetCommitRequest)
		}, []*kerr.Error{kerr.RebalanceInProgress}, nothing...)},
		{name: "without consume on the topic TOPIC_AUTHORIZATION_FAILED", run: commits("consumer", standalone,
			[]*kerr.Error{kerr.TopicAuthorizationFailed}, nothing...),
			opts: []envOpt{withSASL(), func(s *setup) { s.authz = func(m *auth.Memory) Authorizer { return topicDenied{m} } }}},
	})
}

func TestOffsetFetch(t *testing.T) {
	// fetches is a case asking for the offsets of "t" (nil: every topic) after a commit of
	// offset 5 at leader epoch 3 to partition 0: "partition:offset/epoch/metadata" (epochs
	// from v5).
	fetches := func(partitions []int32, want ...string) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			md := "md"
			e.groups.Commit(e.ctx, grp, "", nil, -1, []group.OffsetCommit{{Topic: topic, Offset: 5, LeaderEpoch: 3, Metadata: &md}})
			req := kmsg.NewPtrOffsetFetchRequest()
			req.Group = grp
			if partitions != nil {
				req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: partitions}}
			}
			r := e.dial().do(req, v).(*kmsg.OffsetFetchResponse)
			var got []string
			for _, p := range r.Topics[0].Partitions {
				epoch := p.LeaderEpoch
				if v < 5 {
					epoch = 3 // not on the wire
				}
				got = append(got, fmt.Sprintf("%d:%d/%d/%s", p.Partition, p.Offset, epoch, *p.Metadata))
			}
			if r.ErrorCode != 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("%v %v, want %v", kerr.ErrorForCode(r.ErrorCode), got, want)
			}
		}
	}
	refused := func(user, gid string, want *kerr.Error) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			req := kmsg.NewPtrOffsetFetchRequest()
			req.Group = gid
			wantCode(t, "offset fetch", e.connect(user).do(req, v).(*kmsg.OffsetFetchResponse).ErrorCode, want)
		}
	}
	forVersions(t, kmsg.OffsetFetch, []versionCase{
		{name: "committed offsets with their metadata", run: fetches([]int32{0}, "0:5/3/md")},
		{name: "no commit is offset -1 and no metadata", run: func(t *testing.T, e *env, v int16) {
			req := kmsg.NewPtrOffsetFetchRequest()
			req.Group, req.Topics = grp, []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{1}}}
			p := e.dial().do(req, v).(*kmsg.OffsetFetchResponse).Topics[0].Partitions[0]
			if p.Offset != -1 || *p.Metadata != "" || v >= 5 && p.LeaderEpoch != -1 {
				t.Errorf("%+v", p)
			}
		}},
		{name: "a null topic list is every committed offset", from: 2, run: fetches(nil, "0:5/3/md")},
		// Before v2 the answer has no group-level error code.
		{name: "an empty group id is INVALID_GROUP_ID", from: 2, run: refused("", "", kerr.InvalidGroupID)},
		{name: "without consume on the namespace GROUP_AUTHORIZATION_FAILED", from: 2, opts: sasl, run: refused("reader", grp, kerr.GroupAuthorizationFailed)},
	})
}
