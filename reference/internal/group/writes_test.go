package group

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// gatedStore is a MemoryStore whose writes wait until the gate opens (a Pulsar that does not
// answer), and which records every write it was asked for, in order.
type gatedStore struct {
	*MemoryStore
	gate chan struct{}
	once sync.Once

	mu   sync.Mutex
	seen []record
}

func newGatedStore() *gatedStore {
	return &gatedStore{MemoryStore: NewMemoryStore(), gate: make(chan struct{})}
}

func (s *gatedStore) open() { s.once.Do(func() { close(s.gate) }) }

func (s *gatedStore) write(ctx context.Context, recs []record) error {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	s.seen = append(s.seen, recs...)
	s.mu.Unlock()
	return s.MemoryStore.write(ctx, recs)
}

// stableGroup makes group gid stable with one member and returns the member's join.
func stableGroup(t *testing.T, c *Coordinator, gid string) JoinResult {
	t.Helper()
	ctx := context.Background()
	j := c.Join(ctx, joinReq(gid, "", "range"))
	wantErr(t, "join "+gid, j.Err, nil)
	wantErr(t, "sync "+gid, c.Sync(ctx, gid, j.MemberID, nil, j.Generation, nil, nil, map[string][]byte{j.MemberID: []byte("a")}).Err, nil)
	return j
}

// A Pulsar that does not answer must not stop the coordinator: group metadata writes queue
// behind it, and other groups keep joining.
func TestStuckStateWritesDoNotBlockGroups(t *testing.T) {
	st := newGatedStore()
	c := testCoordinator(t, st)
	t.Cleanup(st.open)  // runs before Close (cleanups run last first), which flushes the queue
	const groups = 1000 // more state changes than any fixed queue holds
	within(t, 10*time.Second, fmt.Sprintf("%d groups joining while Pulsar does not answer", groups), func() {
		for i := range groups {
			stableGroup(t, c, fmt.Sprintf("g%d", i))
		}
	})
}

// Metadata writes reach the store in the order the group changed, a delete after them, so the
// last value the store holds for a group is its latest state.
func TestStateWritesKeepTheGroupsOrder(t *testing.T) {
	ctx := context.Background()
	st := newGatedStore()
	c := testCoordinator(t, st)
	a := stableGroup(t, c, "g")
	for range 3 { // three more generations, written while the store hangs
		j := c.Join(ctx, joinReq("g", a.MemberID, "range"))
		wantErr(t, "rejoin", j.Err, nil)
		wantErr(t, "sync", c.Sync(ctx, "g", j.MemberID, nil, j.Generation, nil, nil, map[string][]byte{j.MemberID: []byte("a")}).Err, nil)
	}
	stableGroup(t, c, "deleted")
	wantErr(t, "leave", mustGroupErr(c.Leave("deleted", []LeaveMember{{MemberID: c.Describe("deleted").Members[0].MemberID}})), nil)
	deleted := make(chan *kerr.Error, 1)
	go func() { deleted <- c.Delete(ctx, "deleted") }()
	st.open()
	select {
	case err := <-deleted:
		wantErr(t, "delete", err, nil)
	case <-time.After(5 * time.Second):
		t.Fatal("the delete was not written within 5s of the store answering")
	}
	c.Close()

	var gens []int32
	for _, r := range st.seen {
		if r.key == groupKey("g") {
			var sg storedGroup
			if err := json.Unmarshal(r.value, &sg); err != nil {
				t.Fatal(err)
			}
			gens = append(gens, sg.Generation)
		}
	}
	for i := 1; i < len(gens); i++ {
		if gens[i] < gens[i-1] {
			t.Fatalf("generations written in the order %v", gens)
		}
	}
	if len(gens) == 0 || gens[len(gens)-1] != 4 {
		t.Fatalf("generations written %v; want the last to be 4", gens)
	}
	if _, ok := st.load()[groupKey("deleted")]; ok {
		t.Fatal("a write queued before the delete revived the deleted group")
	}
}
