package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

// The seams: what the handlers need from their dependencies, as narrow interfaces, so every
// handler runs in-process on in-memory implementations in tests (as franz-go's kfake runs a
// cluster in-process). Production wires the Pulsar ones (cmd/kop-reference); nothing in
// production uses the memory ones.
//
//	topic catalog       Catalog          catalog.Cache over               catalog.Cache over
//	                                     catalog.Catalog (Pulsar admin)   catalog.Memory
//	partition logs      partition.Store  storage.Store (Pulsar topics)    partition.Memory
//	group coordinator   Coordinator      group.Coordinator on Pulsar      ... on group.MemoryStore
//	authorizer          Authorizer       auth.Pulsar (Pulsar grants)      auth.Memory
//
// The partition log's interfaces live in package partition, because a Store hands out Logs
// and both implementations must name the same interface.

// Catalog says which topics exist and how many partitions each has, from memory kept current
// from Pulsar (catalog.Cache). A missing topic has 0 partitions; List is sorted by name and
// shared (not to be changed); Create answers catalog.ErrTopicExists, Delete and Grow
// catalog.ErrUnknownTopic.
type Catalog interface {
	Partitions(ctx context.Context, topic string) (int32, error)
	List(ctx context.Context) ([]catalog.Topic, error)
	Create(ctx context.Context, topic string, partitions int32) error
	Delete(ctx context.Context, topic string) error
	Grow(ctx context.Context, topic string, partitions int32) error
}

// Coordinator runs the consumer groups (package group): membership, assignments, offsets.
type Coordinator interface {
	Join(ctx context.Context, r group.JoinRequest) group.JoinResult
	Sync(ctx context.Context, gid, memberID string, instanceID *string, generation int32, protocolType, protocol *string, assignments map[string][]byte) group.SyncResult
	Heartbeat(gid, memberID string, instanceID *string, generation int32) *kerr.Error
	Leave(gid string, leaving []group.LeaveMember) (*kerr.Error, []*kerr.Error)
	Commit(ctx context.Context, gid, memberID string, instanceID *string, generation int32, commits []group.OffsetCommit) (*kerr.Error, []*kerr.Error)
	Fetch(gid string, partitions map[string][]int32) []group.Committed
	Describe(gid string) group.Summary
	List(states []string) []group.Listed
	Delete(ctx context.Context, gid string) *kerr.Error
}

// Authorizer authenticates PLAIN credentials and answers permission questions (package auth):
// on topics ("" for the namespace), and on consumer groups (as on Pulsar subscriptions).
type Authorizer interface {
	Authenticate(ctx context.Context, user, password string) (auth.Principal, error)
	Allowed(ctx context.Context, role string, action auth.Action, topic string) (bool, error)
	GroupAllowed(ctx context.Context, role, group string) (bool, error)
}

var (
	_ Catalog     = (*catalog.Cache)(nil)
	_ Coordinator = (*group.Coordinator)(nil)
	_ Authorizer  = (*auth.Pulsar)(nil)
)
