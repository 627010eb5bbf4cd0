package group

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/reference/faults"
)

// OffsetCommit is one partition's commit.
type OffsetCommit struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    *string
}

// Commit stores offsets after Kafka's membership checks; the write reaches Pulsar before it
// returns. generation -1 with no member id is a standalone commit, allowed on a group with no
// active members. Per-partition errors come back in order.
func (c *Coordinator) Commit(ctx context.Context, gid, memberID string, instanceID *string, generation int32, commits []OffsetCommit) (*kerr.Error, []*kerr.Error) {
	if gid == "" {
		return kerr.InvalidGroupID, nil
	}
	// A group's commits are checked, written and applied one at a time, in the order they are
	// checked: otherwise a commit checked first (by the partition's previous owner, before a
	// rebalance) could be written last and move the committed offset back over a newer one.
	mu := c.commitLock(gid)
	mu.Lock()
	defer mu.Unlock()
	if gerr := c.commitAllowed(gid, memberID, instanceID, generation); gerr != nil {
		return gerr, nil
	}
	errs := make([]*kerr.Error, len(commits))
	if c.cfg.Faults.On(faults.DropCommits) {
		return nil, errs
	}
	now := time.Now().UnixMilli()
	var recs []record
	var keep []int
	for i, oc := range commits {
		if oc.Metadata != nil && len(*oc.Metadata) > c.cfg.MaxMetadataBytes {
			errs[i] = kerr.OffsetMetadataTooLarge
			continue
		}
		v, _ := json.Marshal(storedOffset{Offset: oc.Offset, LeaderEpoch: oc.LeaderEpoch, Metadata: oc.Metadata, CommittedAt: now})
		recs = append(recs, record{key: offsetKey(gid, oc.Topic, oc.Partition), value: v})
		keep = append(keep, i)
	}
	if len(recs) > 0 {
		if err := c.store.write(ctx, recs); err != nil {
			c.log.Error("committing offsets", "group", gid, "err", err)
			for _, i := range keep {
				errs[i] = kerr.CoordinatorNotAvailable
			}
			return nil, errs
		}
	}
	c.remember(gid, commits, keep, now)
	return nil, errs
}

// commitAllowed runs Kafka's membership checks of an OffsetCommit.
func (c *Coordinator) commitAllowed(gid, memberID string, instanceID *string, generation int32) *kerr.Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[gid]
	if g == nil {
		// Only a commit that may be stored creates its group (Kafka: a standalone commit).
		if (generation >= 0 || memberID != "") && !c.cfg.Faults.On(faults.NoCommitFencing) {
			return kerr.UnknownMemberID
		}
		var gerr *kerr.Error
		if g, gerr = c.newGroupLocked(gid); gerr != nil {
			return gerr
		}
	}
	var gerr *kerr.Error
	// Kafka's order: the member and generation are validated first; a valid commit of the
	// current generation waits for the rebalance only while the group completes it.
	switch {
	case generation < 0 && memberID == "" && len(g.members) == 0:
	case fencedLocked(g, memberID, instanceID):
		gerr = kerr.FencedInstanceID
	case g.members[memberID] == nil:
		gerr = kerr.UnknownMemberID
	case instanceID != nil && (g.members[memberID].instanceID == nil || *g.members[memberID].instanceID != *instanceID):
		gerr = kerr.FencedInstanceID
	case generation != g.generation:
		gerr = kerr.IllegalGeneration
	case g.state == CompletingRebalance:
		gerr = kerr.RebalanceInProgress
	}
	if c.cfg.Faults.On(faults.NoCommitFencing) {
		gerr = nil
	}
	if gerr == nil && g.members[memberID] != nil {
		c.touchLocked(g, g.members[memberID])
	}
	return gerr
}

// remember keeps the commits Pulsar acknowledged (those at the indexes keep).
func (c *Coordinator) remember(gid string, commits []OffsetCommit, keep []int, now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groupLocked(gid)
	for _, i := range keep {
		oc := commits[i]
		g.offsets[tp{oc.Topic, oc.Partition}] = storedOffset{Offset: oc.Offset, LeaderEpoch: oc.LeaderEpoch, Metadata: oc.Metadata, CommittedAt: now}
	}
}

// Committed is a committed offset; Offset -1 means none.
type Committed struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    string
}

// Fetch returns committed offsets for the named partitions, or all of the group's when
// partitions is nil.
func (c *Coordinator) Fetch(gid string, partitions map[string][]int32) []Committed {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[gid]
	var out []Committed
	get := func(topic string, p int32) Committed {
		if g != nil {
			if so, ok := g.offsets[tp{topic, p}]; ok {
				md := ""
				if so.Metadata != nil {
					md = *so.Metadata
				}
				return Committed{Topic: topic, Partition: p, Offset: so.Offset, LeaderEpoch: so.LeaderEpoch, Metadata: md}
			}
		}
		return Committed{Topic: topic, Partition: p, Offset: -1, LeaderEpoch: -1}
	}
	if partitions == nil {
		if g == nil {
			return nil
		}
		for k := range g.offsets {
			out = append(out, get(k.topic, k.partition))
		}
		return out
	}
	for topic, ps := range partitions {
		for _, p := range ps {
			out = append(out, get(topic, p))
		}
	}
	return out
}

// commitLocks order each group's commits (by a hash of the group id: groups sharing a lock only
// wait for each other's Pulsar writes).
const commitStripes = 64

func (c *Coordinator) commitLock(gid string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(gid))
	return &c.commitLocks[h.Sum32()%commitStripes]
}
