package group

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
)

// SyncResult answers a SyncGroup.
type SyncResult struct {
	Err          *kerr.Error
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// Sync runs a SyncGroup: the leader hands out assignments, everyone receives theirs.
func (c *Coordinator) Sync(ctx context.Context, gid, memberID string, instanceID *string, generation int32, protocolType, protocol *string, assignments map[string][]byte) SyncResult {
	ch, res := c.sync(gid, memberID, instanceID, generation, protocolType, protocol, assignments)
	if ch == nil {
		return res
	}
	select {
	case res := <-ch:
		return res
	case <-ctx.Done():
		return SyncResult{Err: kerr.RebalanceInProgress}
	}
}

// sync is the part of a SyncGroup that runs under the lock: it answers now (a nil channel), or
// returns the channel the answer will come on.
func (c *Coordinator) sync(gid, memberID string, instanceID *string, generation int32, protocolType, protocol *string, assignments map[string][]byte) (<-chan SyncResult, SyncResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	var m *member
	if ok {
		m = g.members[memberID]
	}
	switch {
	case ok && fencedLocked(g, memberID, instanceID):
		return nil, SyncResult{Err: kerr.FencedInstanceID}
	case !ok || m == nil:
		return nil, SyncResult{Err: kerr.UnknownMemberID}
	case instanceID != nil && (m.instanceID == nil || *m.instanceID != *instanceID):
		return nil, SyncResult{Err: kerr.FencedInstanceID}
	case generation != g.generation:
		return nil, SyncResult{Err: kerr.IllegalGeneration}
	case protocolType != nil && *protocolType != g.protocolType || protocol != nil && *protocol != g.protocol:
		return nil, SyncResult{Err: kerr.InconsistentGroupProtocol}
	}
	c.touchLocked(g, m)
	switch g.state {
	case PreparingRebalance:
		return nil, SyncResult{Err: kerr.RebalanceInProgress}
	case Stable:
		return nil, SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.assignment}
	case CompletingRebalance:
	default:
		return nil, SyncResult{Err: kerr.UnknownMemberID}
	}
	ch := make(chan SyncResult, 1)
	if m.syncCh != nil {
		m.syncCh <- SyncResult{Err: kerr.RebalanceInProgress}
	}
	m.syncCh = ch
	if memberID == g.leader {
		for _, o := range g.members {
			o.assignment = assignments[o.id]
			if o.assignment == nil {
				o.assignment = []byte{}
			}
		}
		g.state = Stable
		c.persistGroupLocked(g)
		for _, o := range g.members {
			if o.syncCh != nil {
				o.syncCh <- SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: o.assignment}
				o.syncCh = nil
			}
		}
	}
	return ch, SyncResult{}
}

// fencedLocked: a static instance now known under another member id fences the old one
// (Kafka checks this before whether the member id is known).
func fencedLocked(g *group, memberID string, instanceID *string) bool {
	if instanceID == nil {
		return false
	}
	cur, ok := g.statics[*instanceID]
	return ok && cur != memberID
}

// Heartbeat keeps a member alive and tells it when to rejoin.
func (c *Coordinator) Heartbeat(gid, memberID string, instanceID *string, generation int32) *kerr.Error {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok {
		return kerr.UnknownMemberID
	}
	m, ok := g.members[memberID]
	switch {
	case fencedLocked(g, memberID, instanceID):
		return kerr.FencedInstanceID
	case !ok:
		return kerr.UnknownMemberID
	case instanceID != nil && (m.instanceID == nil || *m.instanceID != *instanceID):
		return kerr.FencedInstanceID
	case generation != g.generation:
		return kerr.IllegalGeneration
	}
	c.touchLocked(g, m)
	// Only a rebalance that still collects joins is news to a member. Members of a completed
	// join may heartbeat before every SyncGroup is in; as Kafka does, that is no error, so
	// they do not rejoin a rebalance that is already over.
	if g.state == PreparingRebalance {
		return kerr.RebalanceInProgress
	}
	return nil
}

// LeaveMember names a leaving member (by member id, or by instance id for static members).
type LeaveMember struct {
	MemberID   string
	InstanceID *string
}

// Leave removes members; the error per member says who was unknown.
func (c *Coordinator) Leave(gid string, leaving []LeaveMember) (*kerr.Error, []*kerr.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok {
		return kerr.UnknownMemberID, nil
	}
	errs := make([]*kerr.Error, len(leaving))
	for i, l := range leaving {
		id := l.MemberID
		if l.InstanceID != nil {
			sid, known := g.statics[*l.InstanceID]
			if !known {
				errs[i] = kerr.UnknownMemberID
				continue
			}
			if id != "" && id != sid {
				errs[i] = kerr.FencedInstanceID
				continue
			}
			id = sid
		}
		m, known := g.members[id]
		if !known {
			errs[i] = kerr.UnknownMemberID
			continue
		}
		c.log.Info("group member left", "group", gid, "member", id)
		c.removeMemberLocked(g, m)
	}
	return nil, errs
}
