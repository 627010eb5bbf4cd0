package group

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
)

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
	done, gerr := c.drop(gid)
	if gerr != nil {
		return gerr
	}
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

// drop forgets an empty group and queues the deletion of its records; done reports the write.
func (c *Coordinator) drop(gid string) (done <-chan error, gerr *kerr.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok || g.state == Dead {
		return nil, kerr.GroupIDNotFound
	}
	if len(g.members) > 0 || g.state != Empty {
		return nil, kerr.NonEmptyGroup
	}
	recs := []record{{key: groupKey(gid)}}
	for k := range g.offsets {
		recs = append(recs, record{key: offsetKey(gid, k.topic, k.partition)})
	}
	if c.closed {
		return nil, kerr.CoordinatorNotAvailable
	}
	g.state = Dead
	delete(c.groups, gid)
	// Queued behind the group's earlier metadata writes, so none of them revives it.
	ch := make(chan error, 1)
	c.out.put(writeJob{recs: recs, done: ch})
	return ch, nil
}

// Count is how many groups the coordinator holds.
func (c *Coordinator) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.groups)
}
