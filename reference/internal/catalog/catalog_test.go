package catalog

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeAdmin answers Pulsar's partitioned-topic metadata for public/default/t with the count
// it holds, and counts the questions.
type fakeAdmin struct {
	partitions atomic.Int32
	asked      atomic.Int32
}

func (f *fakeAdmin) serve(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/v2/persistent/public/default/t/partitions" {
			http.NotFound(w, r)
			return
		}
		f.asked.Add(1)
		fmt.Fprintf(w, `{"partitions":%d}`, f.partitions.Load())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
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

// A topic grown elsewhere (another gateway, Pulsar's admin) is seen once its cached count is
// older than the maximum age, without a restart; until then the cache answers.
func TestPartitionsExpire(t *testing.T) {
	ctx := context.Background()
	f := &fakeAdmin{}
	f.partitions.Store(2)
	c, err := New(f.serve(t), "public", "default", "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Unix(1000, 0)}
	c.now = clk.Now
	want := func(n int32, asked int32) {
		t.Helper()
		got, err := c.Partitions(ctx, "t")
		if err != nil || got != n || f.asked.Load() != asked {
			t.Fatalf("partitions %d, %v (Pulsar asked %d times); want %d (asked %d)", got, err, f.asked.Load(), n, asked)
		}
	}
	want(2, 1)
	f.partitions.Store(4) // grown around this gateway
	clk.add(29 * time.Second)
	want(2, 1)
	clk.add(time.Second)
	want(4, 2)
	want(4, 2)
}

func TestPartitionsWithoutCache(t *testing.T) {
	f := &fakeAdmin{}
	f.partitions.Store(1)
	c, err := New(f.serve(t), "public", "default", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if n, err := c.Partitions(context.Background(), "t"); err != nil || n != 1 {
			t.Fatalf("partitions %d, %v", n, err)
		}
		if got := f.asked.Load(); got != int32(i+1) {
			t.Fatalf("asked Pulsar %d times after %d lookups with max age 0", got, i+1)
		}
	}
}

// Expired entries of topics nobody asks about again are dropped once the cache grows.
func TestCacheSweepsExpired(t *testing.T) {
	c, err := New("http://127.0.0.1:1", "public", "default", "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Unix(1000, 0)}
	c.now = clk.Now
	for i := range minSweep {
		c.remember(fmt.Sprint("old-", i), 1)
	}
	clk.add(2 * time.Second)
	c.remember("new", 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.parts) != 1 {
		t.Fatalf("%d entries cached, want only the fresh one", len(c.parts))
	}
}
