package group

import (
	"context"
	"maps"
	"sync"
)

// MemoryStore keeps group state in memory, latest value per key as the compacted Pulsar topic
// does, for in-process tests; production keeps it in Pulsar (Open). A coordinator opened again
// on the same store restores what the previous one wrote, as after a gateway restart.
type MemoryStore struct {
	mu  sync.Mutex
	kv  map[string][]byte
	err error
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{kv: map[string][]byte{}} }

// OpenMemory starts a coordinator on an in-memory store.
func OpenMemory(cfg Config, st *MemoryStore) *Coordinator {
	return newCoordinator(cfg.withDefaults(), st)
}

// Fail makes later writes fail with err, as an unreachable Pulsar does; nil heals.
func (s *MemoryStore) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *MemoryStore) write(_ context.Context, recs []record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	for _, r := range recs {
		if len(r.value) == 0 {
			delete(s.kv, r.key)
		} else {
			s.kv[r.key] = r.value
		}
	}
	return nil
}

func (s *MemoryStore) load() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.kv)
}

func (s *MemoryStore) close() {}
