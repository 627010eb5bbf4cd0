package server

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
)

// watchedCatalog is a catalog that fails the test when a name Kafka forbids (or the gateway's
// reserved prefix) reaches it, as it would reach Pulsar's admin API, and records every call.
type watchedCatalog struct {
	Catalog
	t     testing.TB
	mu    sync.Mutex
	calls []string
}

// watch wraps the env's catalog in w.
func (w *watchedCatalog) watch(s *setup) {
	s.catalog = func(c Catalog) Catalog { w.Catalog = c; return w }
}

func (w *watchedCatalog) saw(call, name string) {
	if naming.Check(name) != nil || strings.HasPrefix(name, catalog.InternalPrefix) {
		w.t.Errorf("%s(%q) reached the catalog", call, name)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, call+" "+name)
}

// seen is the calls so far.
func (w *watchedCatalog) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls...)
}

func (w *watchedCatalog) Partitions(ctx context.Context, name string) (int32, error) {
	w.saw("Partitions", name)
	return w.Catalog.Partitions(ctx, name)
}

func (w *watchedCatalog) Create(ctx context.Context, name string, n int32) error {
	w.saw("Create", name)
	return w.Catalog.Create(ctx, name, n)
}

func (w *watchedCatalog) Delete(ctx context.Context, name string) error {
	w.saw("Delete", name)
	return w.Catalog.Delete(ctx, name)
}

func (w *watchedCatalog) Grow(ctx context.Context, name string, n int32) error {
	w.saw("Grow", name)
	return w.Catalog.Grow(ctx, name, n)
}

// hostileNames are names no Kafka topic can have, several of them aimed at Pulsar's naming:
// another tenant's topic, a full Pulsar name, path and URL tricks.
var hostileNames = []string{
	"../../othertenant/ns/victim", "persistent://public/default/t", "public/default/t", "t/../t",
	"..", ".", "", strings.Repeat("a", naming.MaxLength+1), "%2e%2e", "t%2F..", "a b", "t\x00",
	"tëst", "t?x=1", "t#frag", `t\..\x`, "__kop_groups", "__kop_log_start",
}

// Every API that names topics checks the name before anything reaches the catalog (and so
// Pulsar), and answers it as Kafka does in that API.
func TestHostileTopicNames(t *testing.T) {
	invalid := every(allProbed(), kerr.UnknownTopicOrPartition, answers{kmsg.Metadata: kerr.InvalidTopicException,
		kmsg.CreateTopics: kerr.InvalidTopicException, kmsg.DescribeConfigs: kerr.InvalidTopicException})
	for _, p := range topicProbes {
		t.Run(kmsg.NameForKey(p.key.Int16()), func(t *testing.T) {
			h := handlers[p.key.Int16()]
			t.Parallel()
			w := &watchedCatalog{t: t}
			e := newEnv(t, w.watch, withConfig(func(c *Config) { c.AutoCreateTopics = true }))
			c := e.dial()
			for _, name := range hostileNames {
				for v := h.min; v <= h.max; v++ {
					wantCode(t, name, p.code(c.do(p.req(t, name, 0), v)), invalid[p.key])
				}
			}
			if calls := w.seen(); len(calls) > 0 {
				t.Errorf("the catalog was asked %v", calls)
			}
		})
	}
}
