// Package group is the consumer group coordinator: Kafka's group state machine (Empty,
// PreparingRebalance, CompletingRebalance, Stable, Dead) with rebalance and session timeouts,
// generation checks, protocol choice by vote, MEMBER_ID_REQUIRED (JoinGroup v4+) and static
// membership (group.instance.id). Group metadata and committed offsets are written to a Pulsar
// topic before a request is answered, and read back when the gateway starts.
//
// One coordinator owns all groups of a gateway; a single lock keeps the state machine simple.
package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/safe"
)

// State names are Kafka's, as DescribeGroups and ListGroups report them.
type State string

// Group states.
const (
	Empty               State = "Empty"
	PreparingRebalance  State = "PreparingRebalance"
	CompletingRebalance State = "CompletingRebalance"
	Stable              State = "Stable"
	Dead                State = "Dead"
)

// Limits' defaults (package config makes them flags). Kafka has no limit on groups and none on
// members by default (group.max.size is unlimited); a gateway open to anyone needs both.
const (
	DefaultMaxGroups         = 10000 // groups one coordinator holds
	DefaultMaxMembers        = 1000  // members per group (Kafka's group.max.size)
	DefaultMaxPendingMembers = 1000  // member ids handed out with MEMBER_ID_REQUIRED, per group
)

// DefaultInitialRebalanceDelay holds an Empty group's first join back briefly, so members that
// start together join one generation. Kafka's default is 3 s; a shorter one keeps a lone
// consumer's start quick.
const DefaultInitialRebalanceDelay = 100 * time.Millisecond

// Config bounds what members may ask for (Kafka's group.min/max.session.timeout.ms) and how
// much state clients can make the coordinator hold. Zero values are the defaults.
type Config struct {
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
	MaxMetadataBytes  int
	// MaxGroups refuses a new group beyond it with COORDINATOR_NOT_AVAILABLE (retriable: a
	// deleted group makes room).
	MaxGroups int
	// MaxMembers refuses a new member of a group that has as many with GROUP_MAX_SIZE_REACHED.
	MaxMembers int
	// MaxPendingMembers refuses a JoinGroup v4+ without a member id with
	// COORDINATOR_NOT_AVAILABLE while the group has as many ids handed out and not yet used
	// (each expires after the session timeout its join asked for).
	MaxPendingMembers int
	// InitialRebalanceDelay is Kafka's group.initial.rebalance.delay.ms: the first join of an
	// Empty group waits this long, a new group's as long again each time a new member joins
	// meanwhile (within the rebalance timeout), so members starting together land in one generation
	// instead of the first completing alone and the others forcing a second rebalance a
	// heartbeat later. 0 completes at once.
	InitialRebalanceDelay time.Duration
	Logger                *slog.Logger
	// OnRebalance, when set, is told of every rebalance that starts (metrics).
	OnRebalance func()
	// Faults are deliberate defects for the suite's mutation check; none in production.
	Faults faults.Set
}

// Protocol is one assignment protocol a member supports, with its metadata.
type Protocol struct {
	Name     string `json:"name"`
	Metadata []byte `json:"metadata"`
}

type member struct {
	id         string
	instanceID *string
	clientID   string
	clientHost string
	session    time.Duration
	rebalance  time.Duration
	protocols  []Protocol
	assignment []byte

	joinCh   chan JoinResult // set while a JoinGroup waits
	syncCh   chan SyncResult // set while a SyncGroup waits
	timer    *time.Timer     // session expiry
	timerSeq int
}

type tp struct {
	topic     string
	partition int32
}

type group struct {
	id           string
	state        State
	protocolType string
	protocol     string
	generation   int32
	leader       string
	members      map[string]*member
	order        []string               // join order: the first remaining member leads
	pending      map[string]*time.Timer // ids handed out with MEMBER_ID_REQUIRED, until used or expired
	statics      map[string]string      // group.instance.id -> member id
	rebalance    *time.Timer
	// initial runs while an Empty group's first join is held back (InitialRebalanceDelay);
	// joined is set when a new member joins meanwhile, which holds it back once more.
	initial *time.Timer
	holds   uint32 // holds started, so a callback knows whether its hold is the current one
	joined  bool
	offsets map[tp]storedOffset
}

// Coordinator runs every group of this gateway.
type Coordinator struct {
	cfg   Config
	store store
	log   *slog.Logger

	mu     sync.Mutex
	groups map[string]*group
	// commitLocks: see commitLock.
	commitLocks [commitStripes]sync.Mutex
	closed      bool

	// Group metadata writes wait in an outbox (writes.go) that one goroutine drains in order,
	// so the state machine never waits on Pulsar while holding mu.
	out        outbox
	writerDone chan struct{}
}

// Open loads the persisted state from topic and starts the coordinator.
func Open(ctx context.Context, client pulsar.Client, topic string, cfg Config) (*Coordinator, error) {
	cfg = cfg.withDefaults()
	st, err := openStateStore(ctx, client, topic)
	if err != nil {
		return nil, err
	}
	return newCoordinator(cfg, st), nil
}

func (cfg Config) withDefaults() Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MinSessionTimeout == 0 {
		cfg.MinSessionTimeout = 6 * time.Second
	}
	if cfg.MaxSessionTimeout == 0 {
		cfg.MaxSessionTimeout = 30 * time.Minute
	}
	if cfg.MaxMetadataBytes == 0 {
		cfg.MaxMetadataBytes = 4096
	}
	if cfg.MaxGroups <= 0 {
		cfg.MaxGroups = DefaultMaxGroups
	}
	if cfg.MaxMembers <= 0 {
		cfg.MaxMembers = DefaultMaxMembers
	}
	if cfg.MaxPendingMembers <= 0 {
		cfg.MaxPendingMembers = DefaultMaxPendingMembers
	}
	return cfg
}

// newCoordinator starts a coordinator on a store and restores what the store holds.
func newCoordinator(cfg Config, st store) *Coordinator {
	c := &Coordinator{cfg: cfg, store: st, log: cfg.Logger, groups: map[string]*group{},
		out: newOutbox(), writerDone: make(chan struct{})}
	c.restore(st.load())
	go c.writeLoop()
	return c
}

// Close stops the timers, finishes queued writes and closes the state store.
func (c *Coordinator) Close() {
	if !c.shut() {
		return
	}
	<-c.writerDone
	c.store.close()
}

// shut marks the coordinator closed and stops its timers; false when it already was.
func (c *Coordinator) shut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closed = true
	c.out.close()
	for _, g := range c.groups {
		if g.rebalance != nil {
			g.rebalance.Stop()
		}
		if g.initial != nil {
			g.initial.Stop()
			g.initial = nil
		}
		for _, m := range g.members {
			if m.timer != nil {
				m.timer.Stop()
			}
		}
	}
	return true
}

// newGroupLocked returns the group, creating it Empty unless the coordinator holds as many
// groups as it may.
func (c *Coordinator) newGroupLocked(id string) (*group, *kerr.Error) {
	if g, ok := c.groups[id]; ok {
		return g, nil
	}
	if len(c.groups) >= c.cfg.MaxGroups {
		c.log.Warn("refusing a new group: the coordinator holds as many as it may", "group", id, "max_groups", c.cfg.MaxGroups)
		return nil, kerr.CoordinatorNotAvailable
	}
	return c.groupLocked(id), nil
}

// groupLocked returns the group, creating it Empty (restore and remember: the state is already
// in Pulsar). Requests create groups with newGroupLocked.
func (c *Coordinator) groupLocked(id string) *group {
	g, ok := c.groups[id]
	if !ok {
		g = &group{id: id, state: Empty, members: map[string]*member{}, pending: map[string]*time.Timer{},
			statics: map[string]string{}, offsets: map[tp]storedOffset{}}
		c.groups[id] = g
	}
	return g
}

func newMemberID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	if prefix == "" {
		prefix = "member"
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}

// touchLocked (re)starts a member's session timer.
func (c *Coordinator) touchLocked(g *group, m *member) {
	if m.timer != nil {
		m.timer.Stop()
	}
	m.timerSeq++
	seq, gid, mid := m.timerSeq, g.id, m.id
	session := m.session
	switch {
	case c.cfg.Faults.On(faults.NoEviction):
		return
	case c.cfg.Faults.On(faults.EarlyEviction):
		session /= 3
	}
	m.timer = time.AfterFunc(session, func() { c.expire(gid, mid, seq) })
}

func (c *Coordinator) expire(gid, mid string, seq int) {
	defer safe.Recover(c.log, "group session timer")
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok {
		return
	}
	m, ok := g.members[mid]
	if !ok || m.timerSeq != seq || m.joinCh != nil {
		return // a waiting JoinGroup is bounded by the rebalance timeout instead
	}
	c.log.Info("group member session expired", "group", gid, "member", mid, "session_timeout", m.session)
	c.removeMemberLocked(g, m)
}

// expirePending forgets a member id handed out with MEMBER_ID_REQUIRED that was not used within
// the session timeout the client asked for, so such ids cannot pile up or hold a join forever.
func (c *Coordinator) expirePending(gid, id string) {
	defer safe.Recover(c.log, "group pending member timer")
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.groups[gid]
	if !ok || g.pending[id] == nil {
		return
	}
	delete(g.pending, id)
	c.maybeCompleteJoinLocked(g)
	// A group that only ever handed out ids goes with the last of them.
	if g.state == Empty && g.generation == 0 && len(g.members) == 0 && len(g.pending) == 0 && len(g.offsets) == 0 {
		delete(c.groups, gid)
	}
}

// removeMemberLocked drops a member and moves the group on as Kafka does.
func (c *Coordinator) removeMemberLocked(g *group, m *member) {
	if m.timer != nil {
		m.timer.Stop()
	}
	if m.joinCh != nil {
		m.joinCh <- JoinResult{Err: kerr.UnknownMemberID}
	}
	if m.syncCh != nil {
		m.syncCh <- SyncResult{Err: kerr.UnknownMemberID}
	}
	forgetLocked(g, m)
	switch g.state {
	case Stable, CompletingRebalance:
		c.prepareRebalanceLocked(g)
	case PreparingRebalance:
		c.maybeCompleteJoinLocked(g)
	}
}

// forgetLocked takes a member out of the group's tables.
func forgetLocked(g *group, m *member) {
	delete(g.members, m.id)
	if m.instanceID != nil && g.statics[*m.instanceID] == m.id {
		delete(g.statics, *m.instanceID)
	}
	for i, id := range g.order {
		if id == m.id {
			g.order = append(g.order[:i], g.order[i+1:]...)
			break
		}
	}
}
