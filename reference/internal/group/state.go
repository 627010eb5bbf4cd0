package group

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// store persists group state: the Pulsar stateStore in production, a MemoryStore in tests.
type store interface {
	write(ctx context.Context, recs []record) error
	load() map[string][]byte
	close()
}

// stateStore keeps group metadata and committed offsets in one Pulsar topic, keyed so the
// latest value per key is the state (a compacted topic; an empty payload deletes a key).
// It is read back whole through a TableView when the gateway starts.
type stateStore struct {
	producer pulsar.Producer
	view     pulsar.TableView
}

func openStateStore(ctx context.Context, client pulsar.Client, topic string) (*stateStore, error) {
	// Producer and TableView must declare the same (bytes) schema, or Pulsar refuses the view.
	prod, err := client.CreateProducer(pulsar.ProducerOptions{
		Topic:                   topic,
		Schema:                  pulsar.NewBytesSchema(nil),
		BatchingMaxPublishDelay: time.Millisecond,
		SendTimeout:             30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("group state producer on %s: %w", topic, err)
	}
	view, err := client.CreateTableView(pulsar.TableViewOptions{
		Topic:           topic,
		Schema:          pulsar.NewBytesSchema(nil),
		SchemaValueType: reflect.TypeOf([]byte{}),
	})
	if err != nil {
		prod.Close()
		return nil, fmt.Errorf("group state view on %s: %w", topic, err)
	}
	return &stateStore{producer: prod, view: view}, nil
}

// record is one key/value write; a nil value deletes the key.
type record struct {
	key   string
	value []byte
}

// write persists records and returns once Pulsar acknowledged all of them.
func (s *stateStore) write(ctx context.Context, recs []record) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	wg.Add(len(recs))
	for _, r := range recs {
		payload := r.value
		if payload == nil {
			payload = []byte{}
		}
		s.producer.SendAsync(ctx, &pulsar.ProducerMessage{Key: r.key, Payload: payload}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			wg.Done()
		})
	}
	ferr := s.producer.FlushWithCtx(ctx)
	wg.Wait()
	if first != nil {
		return fmt.Errorf("persisting group state: %w", first)
	}
	if ferr != nil {
		return fmt.Errorf("persisting group state: %w", ferr)
	}
	return nil
}

// load returns every live key and value.
func (s *stateStore) load() map[string][]byte {
	out := map[string][]byte{}
	for k, v := range s.view.Entries() {
		if b, ok := v.([]byte); ok && len(b) > 0 {
			out[k] = b
		}
	}
	return out
}

func (s *stateStore) close() {
	s.view.Close()
	s.producer.Close()
}

// Keys: a kind prefix and a JSON array, so any group id or topic name is unambiguous.
func offsetKey(group, topic string, partition int32) string {
	b, _ := json.Marshal([]any{group, topic, partition})
	return "offset:" + string(b)
}

func groupKey(group string) string {
	b, _ := json.Marshal([]string{group})
	return "group:" + string(b)
}

// storedOffset is a committed offset as persisted.
type storedOffset struct {
	Offset      int64   `json:"offset"`
	LeaderEpoch int32   `json:"leader_epoch"`
	Metadata    *string `json:"metadata"`
	CommittedAt int64   `json:"committed_at_ms"`
}

// storedGroup is group metadata as persisted after each completed rebalance.
type storedGroup struct {
	ProtocolType string         `json:"protocol_type"`
	Protocol     string         `json:"protocol"`
	Generation   int32          `json:"generation"`
	Leader       string         `json:"leader"`
	Members      []storedMember `json:"members"`
}

type storedMember struct {
	ID               string     `json:"id"`
	InstanceID       *string    `json:"instance_id,omitempty"`
	ClientID         string     `json:"client_id"`
	ClientHost       string     `json:"client_host"`
	SessionTimeout   int64      `json:"session_timeout_ms"`
	RebalanceTimeout int64      `json:"rebalance_timeout_ms"`
	Protocols        []Protocol `json:"protocols"`
	Assignment       []byte     `json:"assignment"`
}

// persistGroupLocked queues a write of the group's metadata; it never waits. A failure is
// logged: offsets are what consumers depend on (they are written before a commit is
// answered), and a lost membership record costs a rebalance after a restart.
func (c *Coordinator) persistGroupLocked(g *group) {
	if c.closed {
		return
	}
	sg := storedGroup{ProtocolType: g.protocolType, Protocol: g.protocol, Generation: g.generation, Leader: g.leader}
	for _, id := range g.order {
		m := g.members[id]
		sg.Members = append(sg.Members, storedMember{ID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost,
			SessionTimeout: m.session.Milliseconds(), RebalanceTimeout: m.rebalance.Milliseconds(), Protocols: m.protocols, Assignment: m.assignment})
	}
	v, _ := json.Marshal(sg)
	c.out.put(writeJob{recs: []record{{key: groupKey(g.id), value: v}}})
}
