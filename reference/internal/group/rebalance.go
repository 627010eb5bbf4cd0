package group

import (
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/safe"
)

// prepareRebalanceLocked starts a rebalance: members must rejoin within the rebalance timeout.
func (c *Coordinator) prepareRebalanceLocked(g *group) {
	for _, m := range g.members {
		if m.syncCh != nil {
			m.syncCh <- SyncResult{Err: kerr.RebalanceInProgress}
			m.syncCh = nil
		}
	}
	c.log.Info("preparing to rebalance group", "group", g.id, "from", string(g.state), "generation", g.generation, "members", len(g.members))
	from := g.state
	g.state = PreparingRebalance
	if c.cfg.OnRebalance != nil {
		c.cfg.OnRebalance()
	}
	if c.cfg.Faults.On(faults.ForgetOnRebalance) {
		g.offsets = map[tp]storedOffset{}
	}
	var timeout time.Duration
	for _, m := range g.members {
		if m.rebalance > timeout {
			timeout = m.rebalance
		}
	}
	if g.rebalance != nil {
		g.rebalance.Stop()
	}
	gid, gen := g.id, g.generation
	g.rebalance = time.AfterFunc(timeout, func() { c.rebalanceTimeout(gid, gen) })
	if d := c.cfg.InitialRebalanceDelay; from == Empty && d > 0 {
		c.holdInitialJoinLocked(g, d, max(timeout-d, 0))
	}
	c.maybeCompleteJoinLocked(g)
}

// holdInitialJoinLocked holds an Empty group's first join back for delay (Kafka's initial
// rebalance delay); remaining is how much longer it may be held for new members after that.
func (c *Coordinator) holdInitialJoinLocked(g *group, delay, remaining time.Duration) {
	g.joined = false
	g.holds++
	hold := g.holds // which hold the callback ends: a stopped timer's callback may still run
	g.initial = time.AfterFunc(delay, func() { c.initialDelayOver(g, hold, remaining) })
}

// initialDelayOver ends a hold: held once more if a new member joined meanwhile and the
// rebalance timeout allows, otherwise the join completes as soon as everyone has joined.
func (c *Coordinator) initialDelayOver(g *group, hold uint32, remaining time.Duration) {
	defer safe.Recover(c.log, "group initial rebalance delay")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.groups[g.id] != g || g.initial == nil || g.holds != hold {
		return // the coordinator closed, the group is gone, or its join completed
	}
	g.initial = nil
	if g.state != PreparingRebalance {
		return
	}
	if g.joined && remaining > 0 {
		d := min(c.cfg.InitialRebalanceDelay, remaining)
		c.holdInitialJoinLocked(g, d, remaining-d)
		return
	}
	c.maybeCompleteJoinLocked(g)
}

func (c *Coordinator) rebalanceTimeout(gid string, gen int32) {
	defer safe.Recover(c.log, "group rebalance timer")
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok || g.state != PreparingRebalance || g.generation != gen {
		return
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			c.log.Info("group member did not rejoin within the rebalance timeout", "group", gid, "member", m.id)
			if m.timer != nil {
				m.timer.Stop()
			}
			forgetLocked(g, m)
		}
	}
	c.completeJoinLocked(g)
}

func (c *Coordinator) maybeCompleteJoinLocked(g *group) {
	// As in Kafka, the join also waits for members that were just handed a member id: they
	// are about to join, and completing without them would cost another rebalance. An Empty
	// group's first join also waits out its initial delay.
	if g.state != PreparingRebalance || len(g.pending) > 0 || g.initial != nil {
		return
	}
	for _, m := range g.members {
		if m.joinCh == nil {
			return
		}
	}
	c.completeJoinLocked(g)
}

// completeJoinLocked ends the join phase: a new generation, a protocol chosen by vote, a leader,
// and an answer for every waiting JoinGroup.
func (c *Coordinator) completeJoinLocked(g *group) {
	if g.rebalance != nil {
		g.rebalance.Stop()
		g.rebalance = nil
	}
	if g.initial != nil {
		g.initial.Stop()
		g.initial = nil
	}
	g.generation++
	if len(g.members) == 0 {
		g.state, g.protocol, g.leader = Empty, "", ""
		c.persistGroupLocked(g)
		return
	}
	g.protocol = vote(g)
	if _, ok := g.members[g.leader]; !ok {
		g.leader = g.order[0]
	}
	g.state = CompletingRebalance
	c.log.Info("group joined", "group", g.id, "generation", g.generation, "members", len(g.members), "protocol", g.protocol, "leader", g.leader)
	var all []JoinMember
	for _, id := range g.order {
		m := g.members[id]
		all = append(all, JoinMember{MemberID: m.id, InstanceID: m.instanceID, Metadata: metadataFor(m, g.protocol)})
	}
	for _, m := range g.members {
		res := JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, Leader: g.leader, MemberID: m.id}
		if m.id == g.leader {
			res.Members = all
		}
		m.joinCh <- res
		m.joinCh = nil
		c.touchLocked(g, m)
	}
}

// vote picks the protocol every member supports that most members list first (Kafka's rule:
// each member votes for its most preferred protocol among the candidates).
func vote(g *group) string {
	candidates := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			candidates[p.Name]++
		}
	}
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if candidates[p.Name] == len(g.members) {
				votes[p.Name]++
				break
			}
		}
	}
	best, bestVotes := "", -1
	names := make([]string, 0, len(votes))
	for n := range votes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if votes[n] > bestVotes {
			best, bestVotes = n, votes[n]
		}
	}
	return best
}

func metadataFor(m *member, protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}
