package clients

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// The adapters' unit tests run against franz-go's in-process Kafka (kfake), capped to the
// versions of a protocol level (testLevel unless a test says), with every client opened at
// that level on its one listener.
const testLevel = "2.6"

// testTimeout bounds every test's waits: a hang fails the test instead of the run.
const testTimeout = 20 * time.Second

// fixture is one test's kfake cluster, its level, its bounded context, and a client of a kind
// on the cluster.
type fixture struct {
	t     *testing.T
	c     *kfake.Cluster
	kind  string
	level string
	ctx   context.Context
	cl    Client
}

// setup starts a one-broker cluster with opts at testLevel, closed when the test ends, and
// opens a client of kind on it (with creds, when set, for SASL/PLAIN clusters).
func setup(t *testing.T, kind string, creds *Credentials, opts ...kfake.Opt) fixture {
	t.Helper()
	return setupAt(t, kind, testLevel, creds, opts...)
}

// setupAt is setup at a protocol level: the cluster advertises only the level's versions.
func setupAt(t *testing.T, kind, level string, creds *Credentials, opts ...kfake.Opt) fixture {
	t.Helper()
	lv, ok := dims.LevelNamed(level)
	if !ok {
		t.Fatalf("unknown level %s", level)
	}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.MaxVersions(lv.Versions())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	f := fixture{t: t, c: c, kind: kind, level: level, ctx: ctx}
	f.cl = f.open(kind, func(tg *Target) { tg.SASL = creds })
	return f
}

// open opens another client of kind on the cluster, closed when the test ends; edit adjusts
// the target first (credentials, TLS).
func (f fixture) open(kind string, edit func(*Target)) Client {
	f.t.Helper()
	addr := f.c.ListenAddrs()[0]
	tg := Target{Name: "kfake", Bootstrap: addr, Levels: map[string]string{f.level: addr}, ClientID: "kfake-test"}
	edit(&tg)
	cl, err := kindNamed(kind).New(tg, f.level)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(cl.Close)
	return cl
}

// kindNamed is the client kind of that name (a zero Kind, whose New is nil, if none).
func kindNamed(name string) Kind {
	k, _ := KindNamed(name)
	return k
}

var topicSeq atomic.Int64

// topic creates a uniquely named topic.
func (f fixture) topic(partitions int32) string {
	f.t.Helper()
	name := fmt.Sprintf("t-%d", topicSeq.Add(1))
	if err := f.cl.CreateTopic(f.ctx, name, partitions); err != nil {
		f.t.Fatalf("creating %s: %v", name, err)
	}
	return name
}

// produce produces recs with acks=all.
func (f fixture) produce(recs []Record) {
	f.t.Helper()
	if _, err := f.cl.Produce(f.ctx, ProduceConfig{Acks: AcksAll}, recs); err != nil {
		f.t.Fatal(err)
	}
}

// sampleRecords covers what a record carries: keys, a null and an empty key, null and empty
// values, ordered headers (duplicate keys, a null value) and distinct millisecond timestamps.
func sampleRecords(topic string, n int) []Record {
	base := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	out := make([]Record, n)
	for i := range out {
		r := Record{Topic: topic, Timestamp: base.Add(time.Duration(i) * time.Second)}
		switch i % 5 {
		case 0:
			r.Key, r.Value = []byte(fmt.Sprintf("key-%d", i)), []byte(fmt.Sprintf("value-%d", i))
			r.Headers = []Header{{Key: "trace", Value: []byte(fmt.Sprintf("t-%d", i))}, {Key: "seq", Value: []byte{byte(i)}}}
		case 1:
			r.Key = []byte(fmt.Sprintf("key-%d", i)) // null value
		case 2:
			r.Value = []byte(fmt.Sprintf("value-%d", i)) // null key
		case 3:
			r.Key, r.Value = []byte{}, []byte{} // empty, not null
			r.Headers = []Header{{Key: "empty", Value: []byte{}}}
		case 4:
			r.Key, r.Value = []byte("k"), bytes.Repeat([]byte{0, 1, 2, 255}, 256)
			r.Headers = []Header{{Key: "dup", Value: []byte("1")}, {Key: "dup", Value: []byte("2")}, {Key: "nullable"}}
		}
		out[i] = r
	}
	return out
}

// sameRecord says how got differs from want read back at offset ("" when it does not).
// emptyAsNull compares an empty key, value or header value as null (kafka-go's Reader).
func sameRecord(got, want Record, offset int64, emptyAsNull bool) string {
	show := func(b []byte) string {
		if b == nil || (emptyAsNull && len(b) == 0) {
			return "<null>"
		}
		return fmt.Sprintf("%q", b)
	}
	headers := func(hs []Header) string {
		var s []string
		for _, h := range hs {
			s = append(s, h.Key+"="+show(h.Value))
		}
		return fmt.Sprint(s)
	}
	for _, d := range []struct{ what, got, want string }{
		{"offset", fmt.Sprint(got.Offset), fmt.Sprint(offset)},
		{"partition", fmt.Sprint(got.Partition), fmt.Sprint(want.Partition)},
		{"key", show(got.Key), show(want.Key)},
		{"value", show(got.Value), show(want.Value)},
		{"headers", headers(got.Headers), headers(want.Headers)},
		{"timestamp", fmt.Sprint(got.Timestamp.UnixMilli()), fmt.Sprint(want.Timestamp.UnixMilli())},
	} {
		if d.got != d.want {
			return fmt.Sprintf("%s: got %s, want %s", d.what, d.got, d.want)
		}
	}
	return ""
}

// emptyAsNull is whether the named client's consumer returns empty bytes as null.
func emptyAsNull(kind string) bool { return kindNamed(kind).EmptyAsNull }

// observe collects what see extracts from each request of one API key the cluster serves,
// without changing the requests. see runs on the cluster's goroutine before the request is
// handled, so it copies what it keeps.
func observe[T any](c *kfake.Cluster, key kmsg.Key, see func(kmsg.Request) T) *wire[T] {
	w := &wire[T]{}
	c.ControlKey(key.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		v := see(req)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.seen = append(w.seen, v)
		return nil, nil, false
	})
	return w
}

// wire is what observe collected.
type wire[T any] struct {
	mu   sync.Mutex
	seen []T
}

func (w *wire[T]) all() []T {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]T(nil), w.seen...)
}
