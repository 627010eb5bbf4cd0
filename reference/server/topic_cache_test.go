package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/fixtures/tokens"
	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
)

// countedSource counts the calls that reach the topics' source (Pulsar's admin API in
// production) and can hold them: a slow admin API.
type countedSource struct {
	catalog.Source
	names, parts atomic.Int32
	delay        time.Duration
}

func (s *countedSource) Names(ctx context.Context) ([]string, error) {
	s.names.Add(1)
	time.Sleep(s.delay)
	return s.Source.Names(ctx)
}

func (s *countedSource) Partitions(ctx context.Context, topic string) (int32, error) {
	s.parts.Add(1)
	time.Sleep(s.delay)
	return s.Source.Partitions(ctx, topic)
}

func (s *countedSource) wrap(src catalog.Source) catalog.Source { s.Source = src; return s }

// concurrently sends req at version v on n connections at once and checks every answer.
func (e *env) concurrently(t *testing.T, n int, req kmsg.Request, v int16, check func(kmsg.Response)) {
	t.Helper()
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = e.dial()
	}
	start := make(chan struct{})
	answers := make(chan kmsg.Response, n)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers <- c.do(req, v)
		}()
	}
	close(start)
	wg.Wait()
	close(answers)
	for r := range answers {
		check(r)
	}
}

// Many clients asking for all topics at once cost one listing of the namespace, and what it
// listed answers lookups by name without another call.
func TestConcurrentMetadataListsOnce(t *testing.T) {
	src := &countedSource{delay: 100 * time.Millisecond}
	e := newEnv(t, withCache(time.Hour, time.Hour), withSource(src.wrap))
	e.concurrently(t, 50, metadataReq(), 1, func(r kmsg.Response) {
		if got := topicsOf(r); !reflect.DeepEqual(got, []string{"t:2:<nil>"}) {
			t.Errorf("topics %v", got)
		}
	})
	if n := src.names.Load(); n != 1 {
		t.Fatalf("50 concurrent all-topics Metadata requests listed the namespace %d times, want once", n)
	}
	parts := src.parts.Load()
	e.concurrently(t, 50, metadataReq(topic, "missing"), 4, func(r kmsg.Response) {
		if got := topicsOf(r); !reflect.DeepEqual(got, []string{"t:2:<nil>", "missing:0:" + kerr.UnknownTopicOrPartition.Error()}) {
			t.Errorf("topics %v", got)
		}
	})
	if src.parts.Load() != parts || src.names.Load() != 1 {
		t.Fatalf("lookups by name after the listing asked the source (%d counts, %d listings)", src.parts.Load()-parts, src.names.Load())
	}
}

// Concurrent lookups by name of a topic the cache does not know share one call.
func TestConcurrentLookupsShareOneCall(t *testing.T) {
	src := &countedSource{delay: 200 * time.Millisecond}
	e := newEnv(t, withCache(time.Hour, time.Hour), withSource(src.wrap))
	e.concurrently(t, 50, metadataReq(topic), 4, func(r kmsg.Response) {
		if got := topicsOf(r); !reflect.DeepEqual(got, []string{"t:2:<nil>"}) {
			t.Errorf("topics %v", got)
		}
	})
	// One lookup for the 50, and at most one more by the listing they started in the background.
	if n := src.parts.Load(); n > 2 {
		t.Fatalf("50 concurrent lookups of one topic asked the source %d times", n)
	}
}

// What the gateway changes itself is seen at once, with a listing that is never taken again.
func TestOwnTopicChangesSeenAtOnce(t *testing.T) {
	e := newEnv(t, withCache(time.Hour, time.Hour))
	c := e.dial()
	all := metadataReq()
	all.Topics = nil
	want := func(want ...string) {
		t.Helper()
		if got := topicsOf(c.do(all, 1)); !reflect.DeepEqual(got, want) {
			t.Fatalf("topics %v, want %v", got, want)
		}
	}
	want("t:2:<nil>")
	if r := c.do(createTopicReq("mine", 3, 1), 4).(*kmsg.CreateTopicsResponse); r.Topics[0].ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.Topics[0].ErrorCode))
	}
	want("mine:3:<nil>", "t:2:<nil>")
	if got := topicsOf(c.do(metadataReq("mine"), 4)); !reflect.DeepEqual(got, []string{"mine:3:<nil>"}) {
		t.Fatalf("by name: %v", got)
	}
	if r := c.do(createPartitionsReq("mine", 5), 1).(*kmsg.CreatePartitionsResponse); r.Topics[0].ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.Topics[0].ErrorCode))
	}
	want("mine:5:<nil>", "t:2:<nil>")
	if code, _ := adminAnswer(c.do(deleteTopicsReq("mine"), 4)); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	want("t:2:<nil>")
	r := produced(c.do(produceReq("mine", 0, -1, batchOf("a").encode(t)), 3))
	wantCode(t, "produce to the deleted topic", r.ErrorCode, kerr.UnknownTopicOrPartition)
}

// Topics created and deleted behind the gateway's back (another gateway, Pulsar's admin) are
// seen within the maximum age.
func TestTopicChangesElsewhereSeenWithinMaxAge(t *testing.T) {
	const maxAge = 300 * time.Millisecond
	e := newEnv(t, withCache(maxAge, time.Hour))
	c := e.dial()
	all := metadataReq()
	all.Topics = nil
	if got := topicsOf(c.do(all, 1)); !reflect.DeepEqual(got, []string{"t:2:<nil>"}) {
		t.Fatalf("topics %v", got)
	}
	e.catalog.Create(context.Background(), "elsewhere", 4)
	e.catalog.Delete(context.Background(), topic)
	time.Sleep(maxAge)
	if got := topicsOf(c.do(all, 1)); !reflect.DeepEqual(got, []string{"elsewhere:4:<nil>"}) {
		t.Fatalf("after the maximum age: topics %v, want the new one only", got)
	}
	if got := topicsOf(c.do(metadataReq(topic, "elsewhere"), 4)); !reflect.DeepEqual(got,
		[]string{"t:0:" + kerr.UnknownTopicOrPartition.Error(), "elsewhere:4:<nil>"}) {
		t.Fatalf("by name: %v", got)
	}
}

// The listing is taken again in the background, so a topic made elsewhere is seen within the
// listing period, which requests do not wait for.
func TestTopicListedAgainInTheBackground(t *testing.T) {
	e := newEnv(t, withCache(time.Hour, 50*time.Millisecond))
	go e.topics.Run(e.ctx)
	c := e.dial()
	e.catalog.Create(context.Background(), "elsewhere", 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := topicsOf(c.do(metadataReq("elsewhere"), 4))
		if reflect.DeepEqual(got, []string{"elsewhere:1:<nil>"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never listed: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SASL clients connecting at once with one token are verified by one call to Pulsar, and
// their Metadata requests read the namespace's grants once.
func TestConcurrentSASLClientsAskPulsarOnce(t *testing.T) {
	key, err := tokens.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	var logins, grants atomic.Int32
	pulsar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/admin/v2/namespaces/public/default/permissions":
			logins.Add(1)
		case "/admin/v2/namespaces/public/default":
			grants.Add(1)
		default:
			http.NotFound(w, r)
			return
		}
		time.Sleep(300 * time.Millisecond) // a slow admin API: every concurrent asker overlaps
		w.Write([]byte(`{"auth_policies":{"namespace_auth":{"alice":["produce","consume"]}}}`))
	}))
	defer pulsar.Close()
	e := newEnv(t, withSASL(), func(s *setup) {
		s.authz = func(*auth.Memory) Authorizer { return auth.NewPulsar(pulsar.URL, "public", "default", "admin") }
	})
	const n = 40
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = e.dial()
		clients[i].handshake("PLAIN", 1)
	}
	login := "\x00public\x00token:" + tokens.Sign(key, "alice")
	all := metadataReq()
	all.Topics = nil
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if r := c.authenticate(login, 1); r.ErrorCode != 0 {
				t.Errorf("authenticate: %v", kerr.ErrorForCode(r.ErrorCode))
				return
			}
			if got := topicsOf(c.do(all, 1)); !reflect.DeepEqual(got, []string{"t:2:<nil>"}) {
				t.Errorf("topics %v", got)
			}
		}()
	}
	close(start)
	wg.Wait()
	if logins.Load() != 1 || grants.Load() != 1 {
		t.Fatalf("%d clients asked Pulsar to verify their token %d times and read grants %d times; want once each", n, logins.Load(), grants.Load())
	}
}
