package group

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// JoinRequest is a JoinGroup request.
type JoinRequest struct {
	Group, MemberID           string
	InstanceID                *string
	ClientID, ClientHost      string
	SessionTimeout, Rebalance time.Duration
	ProtocolType              string
	Protocols                 []Protocol
	RequireKnownMemberID      bool // JoinGroup v4+: an unknown member gets MEMBER_ID_REQUIRED first
}

// JoinMember is a member as the leader sees it.
type JoinMember struct {
	MemberID   string
	InstanceID *string
	Metadata   []byte
}

// JoinResult answers a JoinGroup.
type JoinResult struct {
	Err          *kerr.Error
	Generation   int32
	ProtocolType string
	Protocol     string
	Leader       string
	MemberID     string
	Members      []JoinMember
}

// Join runs a JoinGroup; it blocks until the join phase completes (or ctx ends).
func (c *Coordinator) Join(ctx context.Context, r JoinRequest) JoinResult {
	switch {
	case r.Group == "":
		return JoinResult{Err: kerr.InvalidGroupID, MemberID: r.MemberID}
	case r.SessionTimeout < c.cfg.MinSessionTimeout || r.SessionTimeout > c.cfg.MaxSessionTimeout:
		return JoinResult{Err: kerr.InvalidSessionTimeout, MemberID: r.MemberID}
	case r.ProtocolType == "" || len(r.Protocols) == 0:
		return JoinResult{Err: kerr.InconsistentGroupProtocol, MemberID: r.MemberID}
	}
	if r.Rebalance <= 0 {
		r.Rebalance = r.SessionTimeout // JoinGroup v0 has no rebalance timeout
	}
	ch, res := c.join(r)
	if ch == nil {
		return res
	}
	select {
	case res := <-ch:
		return res
	case <-ctx.Done():
		return JoinResult{Err: kerr.RebalanceInProgress, MemberID: res.MemberID}
	}
}

// join is the part of a JoinGroup that runs under the lock: it answers now (a nil channel), or
// returns the channel the answer will come on, with the member id in res.
func (c *Coordinator) join(r JoinRequest) (ch <-chan JoinResult, res JoinResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[r.Group]
	if g == nil {
		// Only a join that may add a member creates its group: a member id of a group that
		// does not exist is unknown, as in Kafka.
		if r.MemberID != "" {
			return nil, JoinResult{Err: kerr.UnknownMemberID, MemberID: r.MemberID}
		}
		var gerr *kerr.Error
		if g, gerr = c.newGroupLocked(r.Group); gerr != nil {
			return nil, JoinResult{Err: gerr, MemberID: r.MemberID}
		}
	}
	if len(g.members) > 0 && (g.protocolType != r.ProtocolType || !supportsAll(g, r.Protocols)) {
		return nil, JoinResult{Err: kerr.InconsistentGroupProtocol, MemberID: r.MemberID}
	}
	var m *member
	switch {
	case r.MemberID == "" && r.InstanceID != nil && g.members[g.statics[*r.InstanceID]] != nil:
		// A static member comes back: it takes over its old identity under a new member id.
		old := g.members[g.statics[*r.InstanceID]]
		if old.joinCh != nil {
			old.joinCh <- JoinResult{Err: kerr.FencedInstanceID, MemberID: old.id}
			old.joinCh = nil
		}
		delete(g.members, old.id)
		old.id = newMemberID(*r.InstanceID)
		g.members[old.id] = old
		for i, id := range g.order {
			if id == g.statics[*r.InstanceID] {
				g.order[i] = old.id
			}
		}
		if g.leader == g.statics[*r.InstanceID] {
			g.leader = old.id
		}
		g.statics[*r.InstanceID] = old.id
		m = old
		if g.state == Stable && sameProtocols(m.protocols, r.Protocols) {
			// No rebalance for a static member that restarts with the same subscription.
			m.clientID, m.clientHost, m.session, m.rebalance = r.ClientID, r.ClientHost, r.SessionTimeout, r.Rebalance
			c.touchLocked(g, m)
			c.persistGroupLocked(g)
			return nil, JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, Leader: g.leader, MemberID: m.id}
		}
	case r.MemberID == "" && r.InstanceID == nil && r.RequireKnownMemberID:
		if len(g.pending) >= c.cfg.MaxPendingMembers {
			c.log.Warn("refusing a join: the group has handed out as many member ids as it may", "group", g.id, "max_pending_members", c.cfg.MaxPendingMembers)
			return nil, JoinResult{Err: kerr.CoordinatorNotAvailable}
		}
		id, gid := newMemberID(r.ClientID), g.id
		g.pending[id] = time.AfterFunc(r.SessionTimeout, func() { c.expirePending(gid, id) })
		return nil, JoinResult{Err: kerr.MemberIDRequired, MemberID: id}
	case r.MemberID == "":
		if r.InstanceID != nil {
			delete(g.statics, *r.InstanceID) // only ever a stale entry: its member is gone
		}
		prefix := r.ClientID
		if r.InstanceID != nil {
			prefix = *r.InstanceID
		}
		m = &member{id: newMemberID(prefix)}
	case fencedLocked(g, r.MemberID, r.InstanceID):
		return nil, JoinResult{Err: kerr.FencedInstanceID, MemberID: r.MemberID}
	default:
		var ok bool
		if m, ok = g.members[r.MemberID]; !ok {
			t := g.pending[r.MemberID]
			if t == nil {
				return nil, JoinResult{Err: kerr.UnknownMemberID, MemberID: r.MemberID}
			}
			t.Stop()
			delete(g.pending, r.MemberID)
			m = &member{id: r.MemberID}
		} else if r.InstanceID != nil && (m.instanceID == nil || *m.instanceID != *r.InstanceID) {
			return nil, JoinResult{Err: kerr.FencedInstanceID, MemberID: r.MemberID}
		}
	}
	_, known := g.members[m.id]
	isNew := !known
	if isNew && len(g.members) >= c.cfg.MaxMembers {
		c.maybeCompleteJoinLocked(g) // the join may have been waiting for this member's id
		return nil, JoinResult{Err: kerr.GroupMaxSizeReached, MemberID: r.MemberID}
	}
	if isNew {
		if g.initial != nil && g.generation == 0 {
			g.joined = true // as in Kafka, only a new group's first join is held again
		}
		g.members[m.id] = m
		g.order = append(g.order, m.id)
		if r.InstanceID != nil {
			g.statics[*r.InstanceID] = m.id
		}
		// A member's instance id is fixed when it joins: a known member rejoining without
		// one stays static, as in Kafka, so g.statics always names a member of the group.
		m.instanceID = r.InstanceID
	}
	changed := !sameProtocols(m.protocols, r.Protocols)
	m.clientID, m.clientHost = r.ClientID, r.ClientHost
	m.session, m.rebalance, m.protocols = r.SessionTimeout, r.Rebalance, r.Protocols
	g.protocolType = r.ProtocolType
	wait := make(chan JoinResult, 1)
	if m.joinCh != nil { // a duplicate join from the same member replaces the first
		m.joinCh <- JoinResult{Err: kerr.UnknownMemberID, MemberID: m.id}
	}
	m.joinCh = wait
	switch g.state {
	case Empty:
		c.prepareRebalanceLocked(g)
	case Stable:
		// A new member, a changed subscription or a rejoining leader rebalances; a follower
		// rejoining unchanged gets the current generation back.
		if isNew || changed || m.id == g.leader {
			c.prepareRebalanceLocked(g)
		} else {
			m.joinCh = nil
			wait <- JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, Leader: g.leader, MemberID: m.id}
		}
	case CompletingRebalance:
		if isNew || changed {
			c.prepareRebalanceLocked(g)
		} else {
			m.joinCh = nil
			wait <- c.currentJoinLocked(g, m)
		}
	case PreparingRebalance:
		c.maybeCompleteJoinLocked(g)
	}
	return wait, JoinResult{MemberID: m.id}
}

func (c *Coordinator) currentJoinLocked(g *group, m *member) JoinResult {
	res := JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, Leader: g.leader, MemberID: m.id}
	if m.id == g.leader {
		for _, id := range g.order {
			o := g.members[id]
			res.Members = append(res.Members, JoinMember{MemberID: o.id, InstanceID: o.instanceID, Metadata: metadataFor(o, g.protocol)})
		}
	}
	return res
}

func supportsAll(g *group, ps []Protocol) bool {
	// The joining member must share at least one protocol with every current member.
	for _, p := range ps {
		all := true
		for _, m := range g.members {
			if !hasProtocol(m, p.Name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func hasProtocol(m *member, name string) bool {
	for _, p := range m.protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}

func sameProtocols(a, b []Protocol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || string(a[i].Metadata) != string(b[i].Metadata) {
			return false
		}
	}
	return true
}
