package server

// OffsetFetch, key 9, versions 0–7.
//
// Returns committed offsets with their metadata (and leader epoch from v5); a partition with
// no commit answers offset -1 and empty metadata, as Kafka does. A null topic list (v2+) asks
// for every offset the group has. require_stable (v7) needs nothing here: there are no
// transactions, so no offset is ever pending. An empty group id is INVALID_GROUP_ID; without
// consume on the namespace: GROUP_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetFetch, 0, 7, handleOffsetFetch) }

func handleOffsetFetch(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp, nil
	}
	if resp.ErrorCode = rc.groupDenied(ctx); resp.ErrorCode != 0 {
		return resp, nil
	}
	var want map[string][]int32
	if req.Topics != nil {
		want = map[string][]int32{}
		for _, t := range req.Topics {
			want[t.Topic] = append(want[t.Topic], t.Partitions...)
		}
	}
	byTopic := map[string]int{}
	for _, c := range rc.s.groups.Fetch(req.Group, want) {
		i, ok := byTopic[c.Topic]
		if !ok {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = c.Topic
			resp.Topics = append(resp.Topics, rt)
			i = len(resp.Topics) - 1
			byTopic[c.Topic] = i
		}
		rp := kmsg.NewOffsetFetchResponseTopicPartition()
		md := c.Metadata
		rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = c.Partition, c.Offset, c.LeaderEpoch, &md
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	return resp, nil
}
