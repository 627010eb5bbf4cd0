package server

// OffsetCommit, key 8, versions 0–8.
//
// Stores committed offsets (with metadata and leader epoch) in Pulsar before answering.
// Membership is checked as Kafka does: generation -1 without a member id is a standalone
// commit, allowed while the group has no active members; otherwise UNKNOWN_MEMBER_ID,
// ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID (v7+). Per partition:
// UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE (over 4096 bytes).
// Retention time (v2–4) is accepted and ignored: offsets are kept until the group is deleted.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

func init() { register(kmsg.OffsetCommit.Int16(), 0, 8, handleOffsetCommit) }

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
	groupDenied := rc.groupDenied(ctx) != 0
	for ti, t := range req.Topics {
		n, bad, err := s.lookupTopic(ctx, kmsg.OffsetCommit, t.Topic)
		topicDenied := !groupDenied && !rc.allowed(ctx, auth.Consume, t.Topic)
		for pi, p := range t.Partitions {
			switch {
			case groupDenied:
				errs[slot{ti, pi}] = kerr.GroupAuthorizationFailed
			case topicDenied:
				errs[slot{ti, pi}] = kerr.TopicAuthorizationFailed
			case bad != nil:
				errs[slot{ti, pi}] = bad
			case err != nil:
				errs[slot{ti, pi}] = kerr.CoordinatorNotAvailable
			case p.Partition < 0 || p.Partition >= n:
				errs[slot{ti, pi}] = kerr.UnknownTopicOrPartition
			default:
				epoch := p.LeaderEpoch
				if req.Version < 6 {
					epoch = -1
				}
				commits = append(commits, group.OffsetCommit{Topic: t.Topic, Partition: p.Partition, Offset: p.Offset, LeaderEpoch: epoch, Metadata: p.Metadata})
				slots = append(slots, slot{ti, pi})
			}
		}
	}
	gerr, perr := s.groups.Commit(ctx, req.Group, member, req.InstanceID, generation, commits)
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
