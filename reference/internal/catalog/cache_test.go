package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counting is a Source over Memory that counts the calls the cache makes, and can hold their
// answers: read at once, delivered once hold closes, as a slow admin API's are.
type counting struct {
	*Memory
	names, parts atomic.Int32
	hold         chan struct{} // when set, Names and Partitions wait for it to close
	panics       atomic.Bool   // Names panics once
}

func newCounting(topics map[string]int32) *counting { return &counting{Memory: NewMemory(topics)} }

func (s *counting) wait(ctx context.Context) error {
	if s.hold == nil {
		return nil
	}
	select {
	case <-s.hold:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *counting) Names(ctx context.Context) ([]string, error) {
	s.names.Add(1)
	if s.panics.CompareAndSwap(true, false) {
		panic("test panic in Names")
	}
	names, err := s.Memory.Names(ctx)
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return names, err
}

func (s *counting) Partitions(ctx context.Context, topic string) (int32, error) {
	s.parts.Add(1)
	n, err := s.Memory.Partitions(ctx, topic)
	if err := s.wait(ctx); err != nil {
		return 0, err
	}
	return n, err
}

// clock is a time tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// cacheOn is a cache over src, on a clock that only tests move: nothing is listed again
// unless a test moves it past ListEvery.
func cacheOn(src Source, maxAge, every time.Duration) (*Cache, *clock) {
	c := NewCache(src, CacheConfig{MaxAge: maxAge, ListEvery: every, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	clk := &clock{now: time.Unix(1000, 0)}
	c.now = clk.Now
	return c, clk
}

func names(ts []Topic) []string {
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s:%d", t.Name, t.Partitions))
	}
	return out
}

func wantList(t *testing.T, c *Cache, want ...string) {
	t.Helper()
	got, err := c.List(context.Background())
	if err != nil || !reflect.DeepEqual(names(got), want) {
		t.Fatalf("list %v, %v; want %v", names(got), err, want)
	}
}

func wantPartitions(t *testing.T, c *Cache, topic string, want int32) {
	t.Helper()
	if got, err := c.Partitions(context.Background(), topic); err != nil || got != want {
		t.Fatalf("%s: %d partitions, %v; want %d", topic, got, err, want)
	}
}

// Requests that find no listing at the same time wait for one listing, not one each; what
// it listed then answers lookups with no call at all.
func TestCacheSharesOneListing(t *testing.T) {
	src := newCounting(map[string]int32{"a": 2, "b": 1})
	src.hold = make(chan struct{})
	c, _ := cacheOn(src, 30*time.Second, 2*time.Second)
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := c.List(context.Background()); err != nil || len(got) != 2 {
				t.Errorf("list %v, %v", got, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // most are waiting; the others find the listing done
	close(src.hold)
	wg.Wait()
	if n := src.names.Load(); n != 1 {
		t.Fatalf("100 concurrent listings asked the source %d times, want once", n)
	}
	parts := src.parts.Load()
	wantPartitions(t, c, "a", 2)
	wantPartitions(t, c, "missing", 0)
	if src.parts.Load() != parts || src.names.Load() != 1 {
		t.Fatal("a lookup after the listing asked the source")
	}
}

// Concurrent lookups of one topic share one call.
func TestCacheSharesOneLookup(t *testing.T) {
	for _, maxAge := range []time.Duration{0, time.Minute} {
		src := newCounting(map[string]int32{"a": 3})
		src.hold = make(chan struct{})
		c, _ := cacheOn(src, maxAge, time.Hour)
		c.refreshing.Store(true) // no background listing: only lookups
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if n, err := c.Partitions(context.Background(), "a"); err != nil || n != 3 {
					t.Errorf("partitions %d, %v", n, err)
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
		close(src.hold)
		wg.Wait()
		if maxAge > 0 && src.parts.Load() != 1 || maxAge == 0 && src.parts.Load() > 5 {
			t.Fatalf("max age %s: 50 concurrent lookups asked %d times", maxAge, src.parts.Load())
		}
	}
}

// This gateway's own creates, deletes and growth are seen at once, without a listing.
func TestCacheOwnChangesAtOnce(t *testing.T) {
	ctx := context.Background()
	src := newCounting(map[string]int32{"a": 1})
	c, _ := cacheOn(src, time.Hour, time.Hour)
	wantList(t, c, "a:1")
	if err := c.Create(ctx, "b", 2); err != nil {
		t.Fatal(err)
	}
	wantList(t, c, "a:1", "b:2")
	wantPartitions(t, c, "b", 2)
	if err := c.Grow(ctx, "b", 5); err != nil {
		t.Fatal(err)
	}
	wantPartitions(t, c, "b", 5)
	if err := c.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	wantList(t, c, "b:5")
	wantPartitions(t, c, "a", 0)
	if err := c.Delete(ctx, "a"); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("deleting again: %v", err)
	}
	if src.names.Load() != 1 {
		t.Fatalf("listed %d times, want once", src.names.Load())
	}
}

// A topic created elsewhere that this gateway then tries to create is learned at once.
func TestCacheCreateOfATopicMadeElsewhere(t *testing.T) {
	ctx := context.Background()
	src := newCounting(nil)
	c, _ := cacheOn(src, time.Hour, time.Hour)
	wantList(t, c)
	src.Memory.Create(ctx, "x", 4)
	wantPartitions(t, c, "x", 0) // the listing is fresh and lacks it
	if err := c.Create(ctx, "x", 1); !errors.Is(err, ErrTopicExists) {
		t.Fatalf("create: %v", err)
	}
	wantPartitions(t, c, "x", 4)
	wantList(t, c, "x:4")
}

// Changes made elsewhere are seen once the answer would be older than the maximum age: in
// a listing that is then taken again, and by lookups.
func TestCacheChangesElsewhereWithinMaxAge(t *testing.T) {
	ctx := context.Background()
	src := newCounting(map[string]int32{"a": 1, "b": 2})
	c, clk := cacheOn(src, 30*time.Second, time.Hour)
	wantList(t, c, "a:1", "b:2")
	src.Memory.Create(ctx, "new", 3)
	src.Memory.Delete(ctx, "a")
	src.Memory.Grow(ctx, "b", 6)
	clk.add(29 * time.Second)
	wantList(t, c, "a:1", "b:2") // within the maximum age the listing answers
	wantPartitions(t, c, "new", 0)
	clk.add(time.Second)
	wantPartitions(t, c, "new", 3)
	wantPartitions(t, c, "a", 0)
	wantPartitions(t, c, "b", 6)
	wantList(t, c, "b:6", "new:3")
}

// A topic created or deleted elsewhere is seen after the next background listing, which a
// request starts once the listing is ListEvery old, without waiting for it.
func TestCacheListsAgainInTheBackground(t *testing.T) {
	ctx := context.Background()
	src := newCounting(map[string]int32{"a": 1})
	c, clk := cacheOn(src, 30*time.Second, 2*time.Second)
	wantList(t, c, "a:1")
	src.Memory.Create(ctx, "new", 1)
	clk.add(2 * time.Second)
	wantList(t, c, "a:1") // answered at once, from the old listing; a new one starts
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := c.List(ctx)
		if len(got) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background listing never came: %v", names(got))
		}
		time.Sleep(time.Millisecond)
	}
	if n := src.names.Load(); n != 2 {
		t.Fatalf("listed %d times, want twice", n)
	}
}

// A count that is max age old is read again by the lookup that needs it, and grown counts
// are read again by listings shortly before they expire.
func TestCacheCountsExpire(t *testing.T) {
	ctx := context.Background()
	src := newCounting(map[string]int32{"t": 2})
	c, clk := cacheOn(src, 30*time.Second, time.Hour)
	c.refreshing.Store(true) // no background listing: only lookups
	wantPartitions(t, c, "t", 2)
	src.Memory.Grow(ctx, "t", 4)
	clk.add(29 * time.Second)
	wantPartitions(t, c, "t", 2)
	clk.add(time.Second)
	wantPartitions(t, c, "t", 4)
	asked := src.parts.Load()
	wantPartitions(t, c, "t", 4)
	if src.parts.Load() != asked {
		t.Fatal("a fresh count was read again")
	}
}

// With max age 0 nothing is kept: every lookup and listing asks the source.
func TestCacheWithoutMaxAge(t *testing.T) {
	src := newCounting(map[string]int32{"t": 1})
	c, _ := cacheOn(src, 0, 0)
	for i := range 3 {
		wantPartitions(t, c, "t", 1)
		wantList(t, c, "t:1")
		if src.parts.Load() != int32(2*(i+1)) || src.names.Load() != int32(i+1) {
			t.Fatalf("after %d rounds: %d lookups, %d listings", i+1, src.parts.Load(), src.names.Load())
		}
	}
	src.Memory.Create(context.Background(), "new", 2)
	wantPartitions(t, c, "new", 2)
}

// A failed listing is not tried again for ListEvery, however many requests come; an
// expired listing is never used.
func TestCacheFailedListing(t *testing.T) {
	src := newCounting(map[string]int32{"t": 1})
	c, clk := cacheOn(src, 10*time.Second, 2*time.Second)
	c.refreshing.Store(true) // no background listing
	wantList(t, c, "t:1")
	down := errors.New("admin API down")
	src.Fail(down)
	clk.add(10 * time.Second)
	for range 10 {
		if _, err := c.List(context.Background()); !errors.Is(err, down) {
			t.Fatalf("list from an expired listing: %v, want the failure", err)
		}
	}
	if n := src.names.Load(); n != 2 {
		t.Fatalf("listed %d times, want 2 (one failed, none retried within ListEvery)", n)
	}
	src.Fail(nil)
	clk.add(2 * time.Second)
	wantList(t, c, "t:1")
}

// A lookup that read a topic before this gateway deleted it does not bring it back.
func TestCacheLookupRacingDeletion(t *testing.T) {
	ctx := context.Background()
	src := newCounting(map[string]int32{"t": 2})
	src.hold = make(chan struct{})
	c, _ := cacheOn(src, time.Hour, time.Hour)
	c.refreshing.Store(true)
	got := make(chan int32)
	go func() {
		n, _ := c.Partitions(ctx, "t") // reads 2, held until the deletion is done
		got <- n
	}()
	for src.parts.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	src.Memory.Delete(ctx, "t") // the source deletes at once, the held read says 2
	done := make(chan error)
	go func() { done <- c.Delete(ctx, "t") }()
	time.Sleep(20 * time.Millisecond)
	close(src.hold)
	<-got
	if err := <-done; !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("delete: %v", err)
	}
	wantPartitions(t, c, "t", 0)
}

// A caller that gives up gets its own error; the shared call goes on for the others.
func TestCacheCallerGivesUp(t *testing.T) {
	src := newCounting(map[string]int32{"t": 2})
	src.hold = make(chan struct{})
	c, _ := cacheOn(src, time.Hour, time.Hour)
	c.refreshing.Store(true)
	patient := make(chan int32)
	go func() { n, _ := c.Partitions(context.Background(), "t"); patient <- n }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Partitions(ctx, "t"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an impatient caller: %v", err)
	}
	close(src.hold)
	if n := <-patient; n != 2 {
		t.Fatalf("the patient caller got %d", n)
	}
}

// A panic in the source is logged and answered as an error; the next listing works.
func TestCachePanicInSource(t *testing.T) {
	src := newCounting(map[string]int32{"t": 1})
	src.panics.Store(true)
	c, clk := cacheOn(src, time.Hour, time.Second)
	if _, err := c.List(context.Background()); err == nil {
		t.Fatal("a panicking source listed no error")
	}
	clk.add(time.Second)
	wantList(t, c, "t:1")
}

// Listings read known counts again shortly before they expire, oldest first and at most
// rereadBudget at a time, so an all-topics answer shows a count grown elsewhere too.
func TestCacheListingReadsCountsAgain(t *testing.T) {
	ctx := context.Background()
	topics := map[string]int32{}
	for i := range rereadBudget + 10 {
		topics[fmt.Sprint("t", i)] = 1
	}
	src := newCounting(topics)
	c, clk := cacheOn(src, 30*time.Second, 2*time.Second)
	c.refreshing.Store(true) // listings only when the test lists
	list := func() {
		t.Helper()
		if _, err := c.listing(ctx, c.seen()); err != nil {
			t.Fatal(err)
		}
	}
	list()
	src.Memory.Grow(ctx, "t0", 5)
	clk.add(25 * time.Second)
	before := src.parts.Load()
	list()
	if n := src.parts.Load() - before; n != 0 {
		t.Fatalf("a listing 25 s after the counts were read read %d again; want none before max age - 2 periods", n)
	}
	clk.add(time.Second)
	list()
	if n := src.parts.Load() - before; n != rereadBudget {
		t.Fatalf("a listing read %d counts again, want the budget %d", n, rereadBudget)
	}
	clk.add(time.Second)
	list() // the rest, oldest first
	if n := src.parts.Load() - before; n != rereadBudget+10 {
		t.Fatalf("after two listings %d counts were read again, want every one (%d)", n, rereadBudget+10)
	}
	wantPartitionsIn(t, c, "t0", 5)
}

func wantPartitionsIn(t *testing.T, c *Cache, topic string, want int32) {
	t.Helper()
	got, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range got {
		if tp.Name == topic {
			if tp.Partitions != want {
				t.Fatalf("%s listed with %d partitions, want %d", topic, tp.Partitions, want)
			}
			return
		}
	}
	t.Fatalf("%s not listed", topic)
}
