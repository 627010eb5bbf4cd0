package catalog

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
)

// Memory is a Source kept in memory, for in-process tests of the handlers (behind a Cache, as
// production's Catalog is); production asks Pulsar (Catalog). It answers as Catalog does: 0
// partitions for a topic that does not exist, ErrTopicExists and ErrUnknownTopic, no name
// Kafka forbids, no internal topic listed.
type Memory struct {
	mu     sync.Mutex
	topics map[string]int32
	err    error
}

// NewMemory returns a catalog holding the given topics and partition counts.
func NewMemory(topics map[string]int32) *Memory {
	m := &Memory{topics: map[string]int32{}}
	for t, n := range topics {
		m.topics[t] = n
	}
	return m
}

// Fail makes every later call fail with err, as an unreachable Pulsar admin API does; nil heals.
func (m *Memory) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

// do runs f under the lock for a legal topic name, unless the catalog fails.
func (m *Memory) do(topic string, f func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if err := naming.Check(topic); err != nil {
		return err
	}
	return f()
}

// Partitions returns the partition count of topic, or 0 when it does not exist.
func (m *Memory) Partitions(_ context.Context, topic string) (int32, error) {
	var n int32
	err := m.do(topic, func() error { n = m.topics[topic]; return nil })
	return n, err
}

// Create makes a topic.
func (m *Memory) Create(_ context.Context, topic string, partitions int32) error {
	return m.do(topic, func() error {
		if m.topics[topic] > 0 {
			return ErrTopicExists
		}
		m.topics[topic] = partitions
		return nil
	})
}

// Delete removes a topic.
func (m *Memory) Delete(_ context.Context, topic string) error {
	return m.do(topic, func() error {
		if m.topics[topic] == 0 {
			return ErrUnknownTopic
		}
		delete(m.topics, topic)
		return nil
	})
}

// Grow raises a topic's partition count; like Pulsar it never shrinks one.
func (m *Memory) Grow(_ context.Context, topic string, partitions int32) error {
	return m.do(topic, func() error {
		switch n := m.topics[topic]; {
		case n == 0:
			return ErrUnknownTopic
		case partitions <= n:
			return fmt.Errorf("growing %s from %d to %d partitions: a topic never shrinks", topic, n, partitions)
		}
		m.topics[topic] = partitions
		return nil
	})
}

// Names lists every Kafka topic.
func (m *Memory) Names(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	out := make([]string, 0, len(m.topics))
	for t := range m.topics {
		if !strings.HasPrefix(t, InternalPrefix) {
			out = append(out, t)
		}
	}
	return out, nil
}
