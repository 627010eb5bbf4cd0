package group

import (
	"context"
	"sync"
	"testing"
	"time"
)

// slowFirstStore holds the first write until released, like a Pulsar write that is slow to be
// acknowledged.
type slowFirstStore struct {
	*MemoryStore
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (s *slowFirstStore) write(ctx context.Context, recs []record) error {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.entered)
		<-s.release
	}
	return s.MemoryStore.write(ctx, recs)
}

// A commit checked before another is applied before it, even when its write to Pulsar is the
// slower one: the committed offset never moves back over a newer commit.
func TestCommitsApplyInTheOrderTheyWereChecked(t *testing.T) {
	st := &slowFirstStore{MemoryStore: NewMemoryStore(), entered: make(chan struct{}), release: make(chan struct{})}
	c := newCoordinator(Config{}.withDefaults(), st)
	defer c.Close()
	ctx := context.Background()
	commit := func(off int64) {
		if gerr, errs := c.Commit(ctx, "g", "", nil, -1, []OffsetCommit{{Topic: "t", Partition: 0, Offset: off}}); gerr != nil || errs[0] != nil {
			t.Errorf("commit %d: %v %v", off, gerr, errs)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); commit(712) }()
	<-st.entered // the first commit is checked and being written
	second := make(chan struct{})
	go func() { defer wg.Done(); commit(713); close(second) }()
	select {
	case <-second: // only possible when commits are not ordered: it overtook the first
	case <-time.After(200 * time.Millisecond):
	}
	close(st.release)
	wg.Wait()
	if got := c.Fetch("g", map[string][]int32{"t": {0}}); len(got) != 1 || got[0].Offset != 713 {
		t.Fatalf("committed %+v after commits of 712 then 713; want 713", got)
	}
}
