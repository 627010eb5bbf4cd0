package server

// OffsetFetch, key 9, versions 0–7.
//
// Returns committed offsets with their metadata (and leader epoch from v5); a partition with
// no commit answers offset -1 and empty metadata, as Kafka does. A null topic list (v2+) asks
// for every offset the group has. require_stable (v7) needs nothing here: there are no
// transactions, so no offset is ever pending. An empty group id is INVALID_GROUP_ID; a group
// the principal may not use (consume on the namespace, and the group's Pulsar subscription
// permission absent or listing its role; authorize.go) is GROUP_AUTHORIZATION_FAILED and
// shows no offset. v2+ carry such an error for the group; v0–1 have no place for it but the
// partitions, so every partition asked answers it with offset -1, as Kafka answers.

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
		return offsetFetchError(req, resp, kerr.InvalidGroupID.Code), nil
	}
	if denied := rc.groupDenied(ctx, req.Group); denied != 0 {
		return offsetFetchError(req, resp, denied), nil
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

// offsetFetchError answers the whole request with code: for the group from v2, before v2 in
// every partition asked (offset -1, no metadata), as Kafka's OffsetFetch error response does.
func offsetFetchError(req *kmsg.OffsetFetchRequest, resp *kmsg.OffsetFetchResponse, code int16) *kmsg.OffsetFetchResponse {
	resp.ErrorCode = code
	if req.Version >= 2 {
		return resp
	}
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			md := ""
			rp.Partition, rp.Offset, rp.Metadata, rp.ErrorCode = p, -1, &md, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
