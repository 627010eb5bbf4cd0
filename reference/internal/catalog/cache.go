package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
	"github.com/kop-conformance/kop-conformance/reference/internal/safe"
)

// Cache answers topic lookups and listings from memory, kept current from a Source (Pulsar's
// admin API in production), so that Metadata, and every API that looks a topic up, costs the
// gateway a map access and not an admin call: 2,000 clients asking at once must not queue on
// Pulsar's admin HTTP pool. maxAge is --metadata-max-age, the longest anything Pulsar may have
// changed is answered from memory:
//
//	the namespace's topics    listed every ListEvery (max age/2, at most 2 s) by Run, and by a
//	                          request that finds the last listing that old (it does not wait);
//	                          a listing older than max age is never used: the request waits for
//	                          a new one. A topic created or deleted elsewhere (another gateway,
//	                          Pulsar's admin) is seen within ListEvery, at most max age; a
//	                          topic the listing lacks does not exist and costs no admin call.
//	a topic's partitions      read when the topic is first seen; again once the count is max age
//	                          old, by the lookup that needs it (it waits), and by the listing
//	                          shortly before that, at most rereadBudget a listing, oldest first
//	                          (with more topics than that, an all-topics answer may show a count
//	                          grown elsewhere later than max age; a lookup by name never does).
//	this gateway's changes    seen at once: created, deleted, grown.
//
// Misses that happen together share one call (singleflight): N requests finding no fresh
// listing cost one listing, N lookups of one topic one lookup. A shared call runs on the
// cache's own context, so a caller that gives up does not fail the others, and each caller
// waits at most until its own context ends. A listing that failed is not tried again for
// ListEvery. With max age 0 nothing is kept: every request asks Source, concurrent ones share.
//
// Reads and changes are ordered by a sequence number taken when a read starts or a change is
// made: a read never overwrites what a later read or change taught, so a lookup that raced a
// deletion cannot bring the topic back.
type Cache struct {
	src    Source
	maxAge time.Duration
	every  time.Duration
	log    *slog.Logger
	now    func() time.Time // time.Now; tests move it

	calls      safe.Shared     // lookups and listings in Pulsar, one per key at a time
	base       context.Context // shared calls run on it; Close ends it
	stop       context.CancelFunc
	refreshing atomic.Bool // a background listing is under way

	mu       sync.Mutex
	seq      uint64
	topics   map[string]entry
	listedAt time.Time // when the installed listing started; zero before the first
	listed   uint64    // its sequence number
	view     []Topic   // the sorted topics, built on demand; nil after a change
	failedAt time.Time // the last failed listing, none is tried again for ListEvery after it
	failErr  error
	failing  bool // the last background listing failed (logged once, not each time)
}

// entry is what the cache knows of one topic.
type entry struct {
	n   int32     // partitions; 0: gone (this gateway deleted it, or a lookup found it gone)
	ver uint64    // sequence number of the read or change it came from
	at  time.Time // when it was read or made; zero: ask again
}

// Source is what the Cache is kept current from: Pulsar's admin API (Catalog), or memory in
// tests (Memory). Partitions is 0 for a topic that does not exist; Create answers
// ErrTopicExists, Delete and Grow ErrUnknownTopic.
type Source interface {
	Names(ctx context.Context) ([]string, error)
	Partitions(ctx context.Context, topic string) (int32, error)
	Create(ctx context.Context, topic string, partitions int32) error
	Delete(ctx context.Context, topic string) error
	Grow(ctx context.Context, topic string, partitions int32) error
}

// Topic is a Kafka topic and its partition count.
type Topic struct {
	Name       string
	Partitions int32
}

// CacheConfig configures a Cache.
type CacheConfig struct {
	// MaxAge bounds how old an answer may be (--metadata-max-age); 0 keeps nothing.
	MaxAge time.Duration
	// ListEvery is how often the namespace is listed; 0 is ListEvery(MaxAge).
	ListEvery time.Duration
	Logger    *slog.Logger
}

const (
	// maxListEvery bounds the listing period: a topic made elsewhere is seen within 2 s at
	// most, for one admin call every 2 s.
	maxListEvery = 2 * time.Second
	// callTimeout bounds one shared call to the Source.
	callTimeout = 30 * time.Second
	// countReaders is how many partition counts one listing reads at once.
	countReaders = 8
	// rereadBudget is how many known counts one listing reads again: 64 a second at most.
	rereadBudget = 128
	listKey      = "list"
)

// ListEvery is the listing period for a maximum age: half of it, at most 2 s.
func ListEvery(maxAge time.Duration) time.Duration { return min(maxAge/2, maxListEvery) }

// NewCache answers from memory what src says.
func NewCache(src Source, cfg CacheConfig) *Cache {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ListEvery <= 0 {
		cfg.ListEvery = max(ListEvery(cfg.MaxAge), time.Millisecond)
	}
	base, stop := context.WithCancel(context.Background())
	c := &Cache{src: src, maxAge: cfg.MaxAge, every: cfg.ListEvery, log: cfg.Logger, now: time.Now,
		base: base, stop: stop, topics: map[string]entry{}}
	c.calls.Base, c.calls.Timeout, c.calls.Log, c.calls.What = base, callTimeout, cfg.Logger, "topics"
	return c
}

// Close ends the calls under way.
func (c *Cache) Close() { c.stop() }

// Run lists the namespace every ListEvery until ctx ends, so requests find a fresh listing.
func (c *Cache) Run(ctx context.Context) {
	if c.maxAge <= 0 {
		return
	}
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		c.listInBackground(ctx, c.seen())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Partitions is topic's partition count, 0 when it does not exist.
func (c *Cache) Partitions(ctx context.Context, topic string) (int32, error) {
	if err := naming.Check(topic); err != nil {
		return 0, err
	}
	if n, ok, old := c.cached(topic); ok {
		if old {
			c.refreshSoon()
		}
		return n, nil
	} else if old {
		c.refreshSoon()
	}
	return c.lookup(ctx, topic, false)
}

// cached is what memory says of topic's partitions, if it says anything younger than max
// age; old says the listing is due again.
func (c *Cache) cached(topic string) (n int32, ok, old bool) {
	if c.maxAge <= 0 {
		return 0, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	e, known := c.topics[topic]
	age := now.Sub(c.listedAt)
	listed := !c.listedAt.IsZero()
	old = !listed || age >= c.every
	switch {
	case known && now.Sub(e.at) < c.maxAge:
		return e.n, true, old
	case !known && listed && age < c.maxAge:
		return 0, true, old // the listing lacks it: no such topic
	}
	return 0, false, old
}

// List is every topic, sorted by name. The slice is shared: callers must not change it.
func (c *Cache) List(ctx context.Context) ([]Topic, error) {
	if c.maxAge <= 0 {
		v, err := c.calls.Call(ctx, listKey, c.listNow)
		if err != nil {
			return nil, err
		}
		return v.([]Topic), nil
	}
	for range 2 {
		c.mu.Lock()
		age, seen := c.now().Sub(c.listedAt), c.listed
		if !c.listedAt.IsZero() && age < c.maxAge {
			v := c.viewLocked()
			c.mu.Unlock()
			if age >= c.every {
				c.refreshSoon()
			}
			return v, nil
		}
		c.mu.Unlock()
		if _, err := c.listing(ctx, seen); err != nil {
			return nil, err
		}
	}
	// The new listing took longer than max age: it is still the newest there is.
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.viewLocked(), nil
}

// Create makes a topic; it is listed and looked up at once.
func (c *Cache) Create(ctx context.Context, topic string, partitions int32) error {
	err := c.src.Create(ctx, topic, partitions)
	switch {
	case err == nil:
		c.changed(topic, partitions)
	case errors.Is(err, ErrTopicExists):
		// Made elsewhere, perhaps after the last listing: learn it now, or a lookup that
		// follows would answer from a listing that lacks it.
		c.calls.Forget(topicKey(topic))
		c.lookup(ctx, topic, true)
	default:
		c.askAgain(topic)
	}
	return err
}

// Delete removes a topic; it is gone at once, even while Pulsar deletes it.
func (c *Cache) Delete(ctx context.Context, topic string) error {
	c.changed(topic, 0)
	err := c.src.Delete(ctx, topic)
	if err == nil || errors.Is(err, ErrUnknownTopic) {
		c.changed(topic, 0) // again: lookups during the deletion may have read it as there
	} else {
		c.askAgain(topic)
	}
	return err
}

// Grow raises a topic's partition count; the new count is seen at once.
func (c *Cache) Grow(ctx context.Context, topic string, partitions int32) error {
	err := c.src.Grow(ctx, topic, partitions)
	switch {
	case err == nil:
		c.changed(topic, partitions)
	case errors.Is(err, ErrUnknownTopic):
		c.changed(topic, 0)
	default:
		c.askAgain(topic)
	}
	return err
}

// changed records this gateway's own change to topic (partitions 0: deleted).
func (c *Cache) changed(topic string, partitions int32) {
	c.calls.Forget(topicKey(topic)) // a lookup under way started before the change
	if c.maxAge <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.topics[topic] = entry{n: partitions, ver: c.seq, at: c.now()}
	c.view = nil
}

// askAgain makes the next lookup of topic ask the Source: a change failed, and Pulsar may or
// may not have made it.
func (c *Cache) askAgain(topic string) {
	c.calls.Forget(topicKey(topic))
	if c.maxAge <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.topics[topic]; ok {
		c.seq++
		c.topics[topic] = entry{n: e.n, ver: c.seq}
	}
}

func topicKey(topic string) string { return "topic/" + topic }

// lookup asks the Source for topic's partition count, sharing the call with concurrent
// lookups of the same topic; unless force, memory answers if it learned the count meanwhile
// (from a call that ended just before this one began).
func (c *Cache) lookup(ctx context.Context, topic string, force bool) (int32, error) {
	v, err := c.calls.Call(ctx, topicKey(topic), func(cctx context.Context) (any, error) {
		if n, ok, _ := c.cached(topic); ok && !force {
			return n, nil
		}
		c.mu.Lock()
		c.seq++
		ver, at := c.seq, c.now()
		c.mu.Unlock()
		n, err := c.src.Partitions(cctx, topic)
		if err == nil {
			c.learn(topic, n, ver, at)
		}
		return n, err
	})
	if err != nil {
		return 0, err
	}
	return v.(int32), nil
}

// learn records a read of topic's partition count, unless something newer is known.
func (c *Cache) learn(topic string, n int32, ver uint64, at time.Time) {
	if c.maxAge <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.topics[topic]
	switch {
	case ok && e.ver > ver:
		return
	case n > 0:
		c.topics[topic] = entry{n: n, ver: ver, at: at}
	case ok: // gone: kept as gone, so an older listing under way does not bring it back
		c.topics[topic] = entry{ver: ver, at: at}
	default:
		return
	}
	if !ok || e.n != n {
		c.view = nil
	}
}

// listing is the shared call that lists the namespace for a caller that saw listing seen.
func (c *Cache) listing(ctx context.Context, seen uint64) (any, error) {
	return c.calls.Call(ctx, listKey, func(ctx context.Context) (any, error) { return c.listNamespace(ctx, seen) })
}

// seen is the installed listing's sequence number.
func (c *Cache) seen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.listed
}

// listNamespace lists the namespace, reads the counts it lacks (and some it should read
// again) and installs the listing, unless one was installed since the caller saw listing seen.
func (c *Cache) listNamespace(ctx context.Context, seen uint64) (any, error) {
	c.mu.Lock()
	if !c.failedAt.IsZero() && c.now().Sub(c.failedAt) < c.every {
		err := c.failErr
		c.mu.Unlock()
		return nil, err
	}
	if c.listed != seen {
		c.mu.Unlock()
		return nil, nil // listed by a call that ended after the caller looked
	}
	c.seq++
	ver, start := c.seq, c.now()
	c.mu.Unlock()

	names, err := c.src.Names(ctx)
	if err != nil {
		return nil, c.failed(fmt.Errorf("listing topics: %w", err))
	}
	var unknown, stale []string
	c.mu.Lock()
	rereadAfter := max(0, c.maxAge-2*c.every)
	for _, name := range names {
		e, ok := c.topics[name]
		switch {
		case !ok || e.n == 0 && e.ver < ver:
			unknown = append(unknown, name)
		case e.ver < ver && start.Sub(e.at) >= rereadAfter:
			stale = append(stale, name)
		}
	}
	slices.SortFunc(stale, func(a, b string) int { return c.topics[a].at.Compare(c.topics[b].at) })
	c.mu.Unlock()
	reads := append(unknown, stale[:min(len(stale), rereadBudget)]...)

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(countReaders)
	for _, name := range reads {
		g.Go(func() error {
			_, err := c.lookup(gctx, name, true)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, c.failed(fmt.Errorf("reading partition counts: %w", err))
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if ver < c.listed {
		return nil, nil // a newer listing is installed already
	}
	listed := make(map[string]struct{}, len(names))
	for _, name := range names {
		listed[name] = struct{}{}
	}
	for name, e := range c.topics {
		if _, ok := listed[name]; (!ok || e.n == 0) && e.ver < ver {
			delete(c.topics, name) // gone before the listing started, or gone then and listed since
		}
	}
	c.listedAt, c.listed, c.view = start, ver, nil
	c.failedAt, c.failErr = time.Time{}, nil
	return nil, nil
}

// failed remembers a failed listing, so the next one waits ListEvery.
func (c *Cache) failed(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failedAt, c.failErr = c.now(), err
	return err
}

// listNow is the listing with max age 0: names, then every count, nothing kept.
func (c *Cache) listNow(ctx context.Context) (any, error) {
	names, err := c.src.Names(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	counts := make([]int32, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(countReaders)
	for i, name := range names {
		g.Go(func() (err error) {
			counts[i], err = c.lookup(gctx, name, true)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("reading partition counts: %w", err)
	}
	out := make([]Topic, 0, len(names))
	for i, name := range names {
		if counts[i] > 0 {
			out = append(out, Topic{name, counts[i]})
		}
	}
	slices.SortFunc(out, func(a, b Topic) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// viewLocked is the sorted list of existing topics, built once per change.
func (c *Cache) viewLocked() []Topic {
	if c.view == nil {
		v := make([]Topic, 0, len(c.topics))
		for name, e := range c.topics {
			if e.n > 0 && !strings.HasPrefix(name, InternalPrefix) {
				v = append(v, Topic{name, e.n})
			}
		}
		slices.SortFunc(v, func(a, b Topic) int { return strings.Compare(a.Name, b.Name) })
		c.view = v
	}
	return c.view
}

// refreshSoon starts a background listing unless one is under way; nobody waits for it.
func (c *Cache) refreshSoon() {
	if !c.refreshing.CompareAndSwap(false, true) {
		return
	}
	seen := c.seen()
	go func() {
		defer c.refreshing.Store(false)
		c.listInBackground(c.base, seen)
	}()
}

// listInBackground lists the namespace, logging when listings start or stop failing.
func (c *Cache) listInBackground(ctx context.Context, seen uint64) {
	_, err := c.listing(ctx, seen)
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	was := c.failing
	c.failing = err != nil
	c.mu.Unlock()
	switch {
	case err != nil && !was:
		c.log.Warn("cannot list the namespace's topics; answering from the last listing until it is max age old", "err", err, "max_age", c.maxAge)
	case err == nil && was:
		c.log.Info("listing the namespace's topics again")
	}
}
