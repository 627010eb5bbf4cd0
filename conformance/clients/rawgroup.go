package clients

import (
	"context"
	"time"
)

// GroupProtocol drives the consumer group protocol one request at a time through the client's
// own protocol API, so a spec can hold a group in a chosen state and send what the client's
// consumer never would: a commit from a stale generation, from an unknown member, or while
// the group completes a rebalance. Every method returns Kafka's error codes as they came.
type GroupProtocol interface {
	// JoinGroup joins group as a consumer subscribed to topic with the range protocol, or
	// rejoins when memberID is set. MEMBER_ID_REQUIRED (JoinGroup v4+) is answered by joining
	// again with the id it hands out.
	JoinGroup(ctx context.Context, group, memberID, topic string) (Joined, error)
	// SyncGroup syncs a generation; a leader assigns itself partitions of topic.
	SyncGroup(ctx context.Context, group string, j Joined, topic string, partitions []int32) error
	// CommitAs commits offsets as memberID in generation and returns each partition's code.
	CommitAs(ctx context.Context, group, memberID string, generation int32, offsets []Offset) ([]int16, error)
	// LeaveGroup removes the member.
	LeaveGroup(ctx context.Context, group, memberID string) error
}

// Joined is what a JoinGroup answered.
type Joined struct {
	MemberID   string
	Generation int32
	Leader     bool
}

// Timeouts of a hand-driven member: long enough that no timer ends it during a spec.
const (
	rawSession   = 30 * time.Second
	rawRebalance = 30 * time.Second
)
