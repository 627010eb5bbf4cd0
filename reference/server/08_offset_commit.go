package server

// OffsetCommit, key 8, versions 0–8.
//
// Stores committed offsets (with metadata and leader epoch) in Pulsar before answering.
// Membership is checked as Kafka does: generation -1 without a member id is a standalone
// commit, allowed while the group has no active members; otherwise UNKNOWN_MEMBER_ID,
// ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID (v7+); an empty group id is
// INVALID_GROUP_ID. Per partition: GROUP_AUTHORIZATION_FAILED (consume on the namespace, and the
// group's Pulsar subscription permission absent or listing the role; authorize.go),
// TOPIC_AUTHORIZATION_FAILED (consume on the topic), UNKNOWN_TOPIC_OR_PARTITION (also for a
// name no topic can have), COORDINATOR_NOT_AVAILABLE when the topic could not be looked up or
// Pulsar did not store the commit, OFFSET_METADATA_TOO_LARGE (over 4096 bytes).
// A standalone commit creates its group (COORDINATOR_NOT_AVAILABLE beyond --max-groups); a
// refused one, or one with no partition left to store, creates none.
// Retention time (v2–4) is accepted and ignored: offsets are kept until the group is deleted.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

func init() { register(kmsg.OffsetCommit, 0, 8, handleOffsetCommit) }

func handleOffsetCommit(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.OffsetCommitRequest)
	s := rc.s
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	generation, member := req.Generation, req.MemberID
	if req.Version == 0 {
		generation, member = -1, ""
	}
	// Partitions of unknown topics fail alone; the rest are committed.
	type slot struct{ t, p int }
	var commits []group.OffsetCommit
	var slots []slot
	errs := map[slot]*kerr.Error{}
	groupDenied := rc.groupDenied(ctx, req.Group) != 0
	topics := rc.resolver(ctx, kmsg.OffsetCommit)
	for ti, t := range req.Topics {
		topic := topicState{err: kerr.GroupAuthorizationFailed}
		if !groupDenied {
			topic = topics.topic(t.Topic)
		}
		for pi, p := range t.Partitions {
			if e := topic.partition(p.Partition); e != nil {
				errs[slot{ti, pi}] = e
				continue
			}
			epoch := p.LeaderEpoch
			if req.Version < 6 {
				epoch = -1
			}
			commits = append(commits, group.OffsetCommit{Topic: t.Topic, Partition: p.Partition, Offset: p.Offset, LeaderEpoch: epoch, Metadata: p.Metadata})
			slots = append(slots, slot{ti, pi})
		}
	}
	// As in Kafka, a commit with nothing left to store does not reach the coordinator (which
	// would create the group): no group grant, or no partition the connection may commit.
	var gerr *kerr.Error
	var perr []*kerr.Error
	if !groupDenied && len(commits) > 0 {
		gerr, perr = s.groups.Commit(ctx, req.Group, member, req.InstanceID, generation, commits)
	}
	for i, sl := range slots {
		if gerr != nil {
			errs[sl] = gerr
		} else if perr[i] != nil {
			errs[sl] = perr[i]
		}
	}
	for ti, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for pi, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			if e := errs[slot{ti, pi}]; e != nil {
				rp.ErrorCode = e.Code
			} else if gerr != nil && len(commits) == 0 {
				rp.ErrorCode = gerr.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
