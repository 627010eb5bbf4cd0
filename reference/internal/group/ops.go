package group

import (
	"context"
	"encoding/json"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/reference/faults"
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
	c.mu.Lock()
	g := c.groupLocked(r.Group)
	if len(g.members) > 0 && (g.protocolType != r.ProtocolType || !supportsAll(g, r.Protocols)) {
		c.mu.Unlock()
		return JoinResult{Err: kerr.InconsistentGroupProtocol, MemberID: r.MemberID}
	}
	var m *member
	switch {
	case r.MemberID == "" && r.InstanceID != nil && g.statics[*r.InstanceID] != "":
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
			res := JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, Leader: g.leader, MemberID: m.id}
			c.persistGroupLocked(g)
			c.mu.Unlock()
			return res
		}
	case r.MemberID == "" && r.InstanceID == nil && r.RequireKnownMemberID:
		id, gid := newMemberID(r.ClientID), g.id
		g.pending[id] = time.AfterFunc(r.SessionTimeout, func() { c.expirePending(gid, id) })
		c.mu.Unlock()
		return JoinResult{Err: kerr.MemberIDRequired, MemberID: id}
	case r.MemberID == "":
		prefix := r.ClientID
		if r.InstanceID != nil {
			prefix = *r.InstanceID
		}
		m = &member{id: newMemberID(prefix)}
	case fencedLocked(g, r.MemberID, r.InstanceID):
		c.mu.Unlock()
		return JoinResult{Err: kerr.FencedInstanceID, MemberID: r.MemberID}
	default:
		var ok bool
		if m, ok = g.members[r.MemberID]; !ok {
			t := g.pending[r.MemberID]
			if t == nil {
				c.mu.Unlock()
				return JoinResult{Err: kerr.UnknownMemberID, MemberID: r.MemberID}
			}
			t.Stop()
			delete(g.pending, r.MemberID)
			m = &member{id: r.MemberID}
		} else if r.InstanceID != nil && (m.instanceID == nil || *m.instanceID != *r.InstanceID) {
			c.mu.Unlock()
			return JoinResult{Err: kerr.FencedInstanceID, MemberID: r.MemberID}
		}
	}
	_, known := g.members[m.id]
	isNew := !known
	if isNew {
		g.members[m.id] = m
		g.order = append(g.order, m.id)
		if r.InstanceID != nil {
			g.statics[*r.InstanceID] = m.id
		}
	}
	changed := !sameProtocols(m.protocols, r.Protocols)
	m.instanceID, m.clientID, m.clientHost = r.InstanceID, r.ClientID, r.ClientHost
	m.session, m.rebalance, m.protocols = r.SessionTimeout, r.Rebalance, r.Protocols
	g.protocolType = r.ProtocolType
	ch := make(chan JoinResult, 1)
	if m.joinCh != nil { // a duplicate join from the same member replaces the first
		m.joinCh <- JoinResult{Err: kerr.UnknownMemberID, MemberID: m.id}
	}
	m.joinCh = ch
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
			ch <- JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, Leader: g.leader, MemberID: m.id}
		}
	case CompletingRebalance:
		if isNew || changed {
			c.prepareRebalanceLocked(g)
		} else {
			m.joinCh = nil
			ch <- c.currentJoinLocked(g, m)
		}
	case PreparingRebalance:
		c.maybeCompleteJoinLocked(g)
	}
	c.mu.Unlock()
	select {
	case res := <-ch:
		return res
	case <-ctx.Done():
		return JoinResult{Err: kerr.RebalanceInProgress, MemberID: m.id}
	}
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

// SyncResult answers a SyncGroup.
type SyncResult struct {
	Err          *kerr.Error
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// Sync runs a SyncGroup: the leader hands out assignments, everyone receives theirs.
func (c *Coordinator) Sync(ctx context.Context, gid, memberID string, instanceID *string, generation int32, protocolType, protocol *string, assignments map[string][]byte) SyncResult {
	c.mu.Lock()
	g, ok := c.groups[gid]
	var m *member
	if ok {
		m = g.members[memberID]
	}
	switch {
	case ok && fencedLocked(g, memberID, instanceID):
		c.mu.Unlock()
		return SyncResult{Err: kerr.FencedInstanceID}
	case !ok || m == nil:
		c.mu.Unlock()
		return SyncResult{Err: kerr.UnknownMemberID}
	case instanceID != nil && (m.instanceID == nil || *m.instanceID != *instanceID):
		c.mu.Unlock()
		return SyncResult{Err: kerr.FencedInstanceID}
	case generation != g.generation:
		c.mu.Unlock()
		return SyncResult{Err: kerr.IllegalGeneration}
	case protocolType != nil && *protocolType != g.protocolType || protocol != nil && *protocol != g.protocol:
		c.mu.Unlock()
		return SyncResult{Err: kerr.InconsistentGroupProtocol}
	}
	c.touchLocked(g, m)
	switch g.state {
	case PreparingRebalance:
		c.mu.Unlock()
		return SyncResult{Err: kerr.RebalanceInProgress}
	case Stable:
		res := SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.assignment}
		c.mu.Unlock()
		return res
	case CompletingRebalance:
	default:
		c.mu.Unlock()
		return SyncResult{Err: kerr.UnknownMemberID}
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
	c.mu.Unlock()
	select {
	case res := <-ch:
		return res
	case <-ctx.Done():
		return SyncResult{Err: kerr.RebalanceInProgress}
	}
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
	c.mu.Lock()
	g := c.groupLocked(gid)
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
	c.mu.Unlock()
	if gerr != nil {
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
	c.mu.Lock()
	g = c.groupLocked(gid)
	for _, i := range keep {
		oc := commits[i]
		g.offsets[tp{oc.Topic, oc.Partition}] = storedOffset{Offset: oc.Offset, LeaderEpoch: oc.LeaderEpoch, Metadata: oc.Metadata, CommittedAt: now}
	}
	c.mu.Unlock()
	return nil, errs
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

// MemberSummary describes a member for DescribeGroups.
type MemberSummary struct {
	MemberID, ClientID, ClientHost string
	InstanceID                     *string
	Metadata, Assignment           []byte
}

// Summary describes a group for DescribeGroups.
type Summary struct {
	State        State
	ProtocolType string
	Protocol     string
	Members      []MemberSummary
}

// Describe summarises a group; an unknown group is Dead, as Kafka reports it.
func (c *Coordinator) Describe(gid string) Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok {
		return Summary{State: Dead}
	}
	s := Summary{State: g.state, ProtocolType: g.protocolType}
	if g.state == Stable {
		s.Protocol = g.protocol
	}
	for _, id := range g.order {
		m := g.members[id]
		ms := MemberSummary{MemberID: m.id, ClientID: m.clientID, ClientHost: m.clientHost, InstanceID: m.instanceID}
		if g.state == Stable { // Kafka shares metadata and assignments only when stable
			ms.Metadata, ms.Assignment = metadataFor(m, g.protocol), m.assignment
		}
		s.Members = append(s.Members, ms)
	}
	return s
}

// Listed is one ListGroups entry.
type Listed struct {
	Group, ProtocolType string
	State               State
}

// List returns every group, optionally only those in the given states.
func (c *Coordinator) List(states []string) []Listed {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Listed
	for id, g := range c.groups {
		if len(states) > 0 && !contains(states, string(g.state)) {
			continue
		}
		out = append(out, Listed{Group: id, ProtocolType: g.protocolType, State: g.state})
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Delete removes empty groups with their offsets.
func (c *Coordinator) Delete(ctx context.Context, gid string) *kerr.Error {
	c.mu.Lock()
	g, ok := c.groups[gid]
	if !ok || g.state == Dead {
		c.mu.Unlock()
		return kerr.GroupIDNotFound
	}
	if len(g.members) > 0 || g.state != Empty {
		c.mu.Unlock()
		return kerr.NonEmptyGroup
	}
	recs := []record{{key: groupKey(gid)}}
	for k := range g.offsets {
		recs = append(recs, record{key: offsetKey(gid, k.topic, k.partition)})
	}
	if c.closed {
		c.mu.Unlock()
		return kerr.CoordinatorNotAvailable
	}
	g.state = Dead
	delete(c.groups, gid)
	// Queued behind the group's earlier metadata writes, so none of them revives it.
	done := make(chan error, 1)
	c.writes <- writeJob{recs: recs, done: done}
	c.mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			c.log.Error("deleting group", "group", gid, "err", err)
			return kerr.CoordinatorNotAvailable
		}
		return nil
	case <-ctx.Done():
		return kerr.RequestTimedOut // the delete stays queued and completes
	}
}
