package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupsTopic is what the groups' members subscribe to (its partitions are assigned, never
// read).
const (
	groupsTopic      = "load-groups"
	groupsPartitions = 2
	// rebalanceTimeout bounds a join on the coordinator's side; a join request waits longer.
	rebalanceTimeout = 30 * time.Second
	// connectParallel bounds how many members connect at once before the joins (connecting
	// at once is the clients scenario's business).
	connectParallel = 100
)

// Groups connects s.Groups groups of 2 members, then lets every member join at once, as
// franz-go's group consumer does with the raw group protocol: JoinGroup (again with the id
// MEMBER_ID_REQUIRED hands out), SyncGroup (the leader assigns), then Heartbeat every
// s.Heartbeat, rejoining when told the group rebalances. It measures the time until every
// group is Stable (both members synced in one generation), then s.HeartbeatTime of
// heartbeats: their latency, rebalances, and evictions (a live member the coordinator no
// longer knows). Then the members leave and close.
func Groups(ctx context.Context, t Target, s Sizes, say Progress) (*GroupsResult, error) {
	sctx, cancel := context.WithTimeout(ctx, s.Setup)
	err := ensureTopic(sctx, t.Bootstrap, groupsTopic, groupsPartitions)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", groupsTopic, err)
	}
	res := &GroupsResult{Groups: s.Groups, Members: 2 * s.Groups}
	res.Before = Scrape(ctx, t.MetricsURL)
	r := &groupsRun{sizes: s, addr: t.Bootstrap, total: s.Groups, allStable: make(chan struct{})}

	// Connect every member, a bounded number at a time.
	members := make([]*member, 0, 2*s.Groups)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, connectParallel)
	cctx, cancel := context.WithTimeout(ctx, s.Setup)
	for g := range s.Groups {
		gs := &groupState{gens: [2]int32{-1, -1}}
		for slot := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				m := &member{run: r, g: gs, slot: slot, group: fmt.Sprintf("load-group-%d", g)}
				if err := m.connect(cctx); err != nil {
					r.errs.Add(kind("connect", err))
					return
				}
				mu.Lock()
				members = append(members, m)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	cancel()
	say("%s: %d groups of 2 members (%d connected) joining at once", t.Name, s.Groups, len(members))

	mctx, stop := context.WithCancel(ctx)
	defer stop()
	began := time.Now()
	for _, m := range members {
		wg.Add(1)
		go func() { defer wg.Done(); m.loop(mctx) }()
	}
	select {
	case <-r.allStable:
		res.Stable = true
		res.StableSeconds = r.stableAt.Sub(began).Seconds()
	case <-time.After(s.GroupTime):
		res.StableSeconds = s.GroupTime.Seconds()
	case <-ctx.Done():
	}
	res.StableGroups = int(r.stable.Load())
	say("%s: %d of %d groups Stable after %.1f s; heartbeating for %s", t.Name, res.StableGroups, s.Groups, res.StableSeconds, s.HeartbeatTime)
	r.steady.Store(true)
	settle(ctx, s.HeartbeatTime)
	res.After = Scrape(ctx, t.MetricsURL)

	// Members stop between requests, so each connection is in step for its LeaveGroup.
	r.stopping.Store(true)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(s.Heartbeat + 10*time.Second):
		stop() // cut the stragglers' requests
		<-finished
	}
	leave(ctx, members)

	res.Heartbeats = r.heartbeats.Summary()
	res.Evictions, res.Rebalances = int(r.evictions.Load()), int(r.rebalances.Load())
	res.Kinds = r.errs.Counts()
	if res.Before != nil && res.After != nil && s.Groups > 0 {
		res.PerGroup = (res.After.RSS - res.Before.RSS) / float64(s.Groups)
	}
	say("%s: heartbeat p99 %.1f ms, %d evictions, %d rebalances once Stable", t.Name, res.Heartbeats.P99, res.Evictions, res.Rebalances)
	return res, nil
}

// groupsRun is what the members of one Groups run share.
type groupsRun struct {
	sizes     Sizes
	addr      string
	total     int
	stable    atomic.Int64 // groups Stable now
	allStable chan struct{}
	once      sync.Once
	stableAt  time.Time
	steady    atomic.Bool // every group was Stable (or the bound passed): heartbeats count
	stopping  atomic.Bool

	heartbeats            Latencies
	evictions, rebalances atomic.Int64
	errs                  Counter
}

// groupState is one group as its members see it: the generation each has synced (-1: not
// synced, or rejoining).
type groupState struct {
	mu     sync.Mutex
	gens   [2]int32
	stable bool
}

// synced records that a member synced gen; the group is Stable once both have the same.
func (r *groupsRun) synced(g *groupState, slot int, gen int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gens[slot] = gen
	if g.gens[0] == g.gens[1] && !g.stable {
		g.stable = true
		if r.stable.Add(1) == int64(r.total) {
			r.once.Do(func() { r.stableAt = time.Now(); close(r.allStable) })
		}
	}
}

// unsynced records that a member rejoins.
func (r *groupsRun) unsynced(g *groupState, slot int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gens[slot] = -1
	if g.stable {
		g.stable = false
		r.stable.Add(-1)
	}
}

// member is one group member on its own connection (a join waits on the coordinator, and a
// connection serves one request at a time).
type member struct {
	run   *groupsRun
	g     *groupState
	slot  int
	group string
	conn  *Conn
	id    string
	gen   int32
	live  bool // synced at least once: the coordinator knows it as a member
}

func (m *member) connect(ctx context.Context) error {
	c, err := Dial(ctx, m.run.addr, "kop-load-"+m.group)
	if err != nil {
		return err
	}
	if err := c.ApiVersions(ctx); err != nil {
		c.Close()
		return err
	}
	// Kafka answers COORDINATOR_NOT_AVAILABLE until its offsets topic, made on the first
	// FindCoordinator, is ready: asked again until ctx ends.
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey = m.group
	for {
		resp, err := c.versioned(ctx, req, findCoordinatorVersion)
		if err != nil {
			c.Close()
			return err
		}
		switch code := resp.(*kmsg.FindCoordinatorResponse).ErrorCode; code {
		case 0:
			m.conn = c
			return nil
		case kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code, kerr.NotCoordinator.Code:
			if ctx.Err() != nil {
				c.Close()
				return codeError("FindCoordinator", code)
			}
			pause(ctx, 200*time.Millisecond)
		default:
			c.Close()
			return codeError("FindCoordinator", code)
		}
	}
}

// loop joins, syncs and heartbeats until the run stops or ctx ends.
func (m *member) loop(ctx context.Context) {
	defer func() {
		if m.conn != nil && ctx.Err() != nil {
			m.conn.Close()
			m.conn = nil
		}
	}()
	for !m.run.stopping.Load() && ctx.Err() == nil {
		if m.conn == nil {
			if err := m.connect(ctx); err != nil {
				m.run.errs.Add(kind("reconnect", err))
				pause(ctx, time.Second)
				continue
			}
		}
		err := m.join(ctx)
		if err == nil {
			err = m.heartbeat(ctx)
		}
		if err == nil || errors.Is(err, errRejoin) {
			continue
		}
		m.run.errs.Add(err.Error())
		var ae *apiError
		if !errors.As(err, &ae) { // the connection is out of step: start again
			m.conn.Close()
			m.conn = nil
		}
		pause(ctx, 200*time.Millisecond)
	}
}

// errRejoin: the group rebalances, or forgot this member; join again.
var errRejoin = errors.New("rejoin")

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// join joins the group and syncs: nil once synced.
func (m *member) join(ctx context.Context) error {
	m.run.unsynced(m.g, m.slot)
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{groupsTopic}
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", meta.AppendTo(nil)
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.ProtocolType = m.group, "consumer"
	req.SessionTimeoutMillis = int32(m.run.sizes.SessionTimeout.Milliseconds())
	req.RebalanceTimeoutMillis = int32(rebalanceTimeout.Milliseconds())
	req.Protocols = []kmsg.JoinGroupRequestProtocol{p}
	var joined *kmsg.JoinGroupResponse
	for joined == nil {
		if m.run.stopping.Load() {
			return errRejoin
		}
		req.MemberID = m.id
		rctx, cancel := context.WithTimeout(ctx, rebalanceTimeout+10*time.Second)
		resp, err := m.conn.versioned(rctx, req, joinGroupVersion)
		cancel()
		if err != nil {
			return fmt.Errorf("%s", kind("JoinGroup", err))
		}
		r := resp.(*kmsg.JoinGroupResponse)
		switch r.ErrorCode {
		case 0:
			joined = r
		case kerr.MemberIDRequired.Code:
			m.id = r.MemberID
		case kerr.UnknownMemberID.Code:
			m.forgotten()
		case kerr.CoordinatorLoadInProgress.Code, kerr.CoordinatorNotAvailable.Code, kerr.NotCoordinator.Code, kerr.RebalanceInProgress.Code:
			m.run.errs.Add(codeError("JoinGroup", r.ErrorCode).Error())
			pause(ctx, 100*time.Millisecond)
		default:
			return codeError("JoinGroup", r.ErrorCode)
		}
	}
	m.id, m.gen = joined.MemberID, joined.Generation
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = m.group, m.id, m.gen
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), joined.Protocol
	if joined.LeaderID == joined.MemberID {
		for i, jm := range joined.Members {
			a := kmsg.NewConsumerMemberAssignment()
			at := kmsg.NewConsumerMemberAssignmentTopic()
			at.Topic, at.Partitions = groupsTopic, []int32{int32(i % groupsPartitions)}
			a.Topics = []kmsg.ConsumerMemberAssignmentTopic{at}
			ga := kmsg.NewSyncGroupRequestGroupAssignment()
			ga.MemberID, ga.MemberAssignment = jm.MemberID, a.AppendTo(nil)
			sync.GroupAssignment = append(sync.GroupAssignment, ga)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, rebalanceTimeout+10*time.Second)
	resp, err := m.conn.versioned(rctx, sync, syncGroupVersion)
	cancel()
	if err != nil {
		return fmt.Errorf("%s", kind("SyncGroup", err))
	}
	switch code := resp.(*kmsg.SyncGroupResponse).ErrorCode; code {
	case 0:
		m.live = true
		m.run.synced(m.g, m.slot, m.gen)
		return nil
	case kerr.RebalanceInProgress.Code, kerr.IllegalGeneration.Code:
		return errRejoin
	case kerr.UnknownMemberID.Code:
		m.forgotten()
		return errRejoin
	default:
		return codeError("SyncGroup", code)
	}
}

// forgotten: the coordinator does not know this member id. For a member that had synced
// that is an eviction; either way it joins again without an id.
func (m *member) forgotten() {
	if m.live {
		m.run.evictions.Add(1)
	}
	m.id, m.live = "", false
}

// heartbeat heartbeats every interval while the group is stable; errRejoin when it is not.
func (m *member) heartbeat(ctx context.Context) error {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.gen
	for {
		pause(ctx, m.run.sizes.Heartbeat)
		if m.run.stopping.Load() || ctx.Err() != nil {
			return nil
		}
		rctx, cancel := context.WithTimeout(ctx, m.run.sizes.SessionTimeout)
		sent := time.Now()
		resp, err := m.conn.versioned(rctx, req, heartbeatVersion)
		cancel()
		if err != nil {
			m.run.unsynced(m.g, m.slot)
			return fmt.Errorf("%s", kind("Heartbeat", err))
		}
		steady := m.run.steady.Load()
		if steady {
			m.run.heartbeats.Add(time.Since(sent))
		}
		switch code := resp.(*kmsg.HeartbeatResponse).ErrorCode; code {
		case 0:
		case kerr.RebalanceInProgress.Code, kerr.IllegalGeneration.Code:
			if steady {
				m.run.rebalances.Add(1)
			}
			return errRejoin
		case kerr.UnknownMemberID.Code:
			m.forgotten()
			return errRejoin
		default:
			m.run.errs.Add(codeError("Heartbeat", code).Error())
		}
	}
}

// leaveTime bounds the members' leaving: their loops stopping, then their LeaveGroups.
const leaveTime = 30 * time.Second

// leave sends each member's LeaveGroup, a bounded number at a time, and closes them.
func leave(ctx context.Context, members []*member) {
	ctx, cancel := context.WithTimeout(ctx, leaveTime-10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, connectParallel)
	for _, m := range members {
		if m.conn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			defer m.conn.Close()
			if m.id == "" {
				return
			}
			req := kmsg.NewPtrLeaveGroupRequest()
			req.Group, req.MemberID = m.group, m.id
			lm := kmsg.NewLeaveGroupRequestMember()
			lm.MemberID = m.id
			req.Members = []kmsg.LeaveGroupRequestMember{lm}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			m.conn.versioned(rctx, req, leaveGroupVersion)
		}()
	}
	wg.Wait()
}
