package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kop-conformance/kop-conformance/fixtures/tokens"
)

// fakePulsar accepts tokens signed with key and serves grants: alice may produce and consume
// on the namespace; on topic "t" bob may consume too, and on the Pulsar topic "t-partition=3"
// (Kafka's "t-partition-3") carol may; other topics do not exist. The subscription "private"
// may be used by bob and alice only; "open" has an empty list. Every path asked is sent to
// paths when it is not nil.
func fakePulsar(t *testing.T, key []byte, paths ...chan<- string) *httptest.Server {
	good := map[string]bool{"Bearer " + tokens.Sign(key, "alice"): true, "Bearer " + tokens.Sign(key, "bob"): true, "Bearer admin": true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !good[r.Header.Get("Authorization")] {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		for _, ch := range paths {
			select {
			case ch <- r.URL.Path:
			default:
			}
		}
		switch r.URL.Path {
		case "/admin/v2/namespaces/public/default":
			if r.Header.Get("Authorization") != "Bearer admin" {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			w.Write([]byte(`{"bundles":{},"auth_policies":{"namespace_auth":{"alice":["produce","consume"]},` +
				`"destination_auth":{"persistent://public/default/t":{"alice":["produce","consume"],"bob":["consume"]},` +
				`"persistent://public/default/t-partition=3":{"carol":["consume"]}},` +
				`"subscription_auth_roles":{"private":["bob","alice"],"open":[]}}}`))
		case "/admin/v2/namespaces/public/default/permissions":
			if r.Header.Get("Authorization") != "Bearer admin" {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			w.Write([]byte(`{"alice":["produce","consume"]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAuthenticate(t *testing.T) {
	key, _ := tokens.NewKey()
	other, _ := tokens.NewKey()
	p := NewPulsar(fakePulsar(t, key).URL, "public", "default", "admin")
	cases := []struct {
		user, password, wantRole, wantErr string
	}{
		{"public", "token:" + tokens.Sign(key, "alice"), "alice", ""},
		{"public/default", "token:" + tokens.Sign(key, "bob"), "bob", ""},
		{"public", "token:" + tokens.Sign(other, "alice"), "", "did not accept"},
		{"public", tokens.Sign(key, "alice"), "", "token:<"},
		{"acme", "token:" + tokens.Sign(key, "alice"), "", "serves tenant/namespace public/default"},
		{"public/other", "token:" + tokens.Sign(key, "alice"), "", "serves tenant/namespace"},
		{"public", "token:not-a-jwt", "", "not a JWT"},
	}
	for _, c := range cases {
		got, err := p.Authenticate(context.Background(), c.user, c.password)
		if c.wantErr == "" {
			if err != nil || got.Role != c.wantRole {
				t.Errorf("%s: got %+v, %v; want role %s", c.user, got, err, c.wantRole)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s %.20s: err = %v, want ErrCredentials mentioning %q", c.user, c.password, err, c.wantErr)
		}
	}
}

func TestAllowed(t *testing.T) {
	key, _ := tokens.NewKey()
	p := NewPulsar(fakePulsar(t, key).URL, "public", "default", "admin")
	cases := []struct {
		role   string
		action Action
		topic  string
		want   bool
	}{
		{"alice", Produce, "", true},
		{"bob", Consume, "", false},
		{"bob", Consume, "t", true},
		{"bob", Produce, "t", false},
		{"alice", Produce, "missing", true}, // a topic not created yet has the namespace's grants
		{"mallory", Consume, "t", false},
		// Grants are asked on the Pulsar name of a topic whose name holds "-partition-".
		{"carol", Consume, "t-partition-3", true},
		{"carol", Consume, "t", false},
	}
	for _, c := range cases {
		got, err := p.Allowed(context.Background(), c.role, c.action, c.topic)
		if err != nil || got != c.want {
			t.Errorf("%s %s %q: got %v, %v; want %v", c.role, c.action, c.topic, got, err, c.want)
		}
	}
}

// A name no Kafka topic can have is never sent to Pulsar: the namespace's grants answer.
func TestAllowedIllegalNames(t *testing.T) {
	key, _ := tokens.NewKey()
	paths := make(chan string, 100)
	p := NewPulsar(fakePulsar(t, key, paths).URL, "public", "default", "admin")
	cases := []struct {
		role, topic string
		want        bool
	}{
		{"alice", "../../namespaces/x", true},
		{"alice", "a b", true},
		{"bob", "a/b", false},
		{"mallory", strings.Repeat("x", 250), false},
	}
	for _, c := range cases {
		got, err := p.Allowed(context.Background(), c.role, Consume, c.topic)
		if err != nil || got != c.want {
			t.Errorf("%s %q: got %v, %v; want %v", c.role, c.topic, got, err, c.want)
		}
	}
	close(paths)
	for path := range paths {
		if path != "/admin/v2/namespaces/public/default" {
			t.Errorf("Pulsar was asked %s", path)
		}
	}
}

// Many questions asked at once cost one read of the namespace's policies, not one a topic.
func TestAllowedAsksPulsarOnce(t *testing.T) {
	key, _ := tokens.NewKey()
	paths := make(chan string, 1000)
	p := NewPulsar(fakePulsar(t, key, paths).URL, "public", "default", "admin")
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := p.Allowed(context.Background(), "bob", Consume, fmt.Sprintf("topic-%d", i)); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	close(paths)
	n := 0
	for range paths {
		n++
	}
	if n != 1 {
		t.Errorf("200 concurrent questions asked Pulsar %d times, want once", n)
	}
}

// Authentication fails closed: only Pulsar's verdict on the token counts.
func TestAuthenticateFailsClosed(t *testing.T) {
	key, _ := tokens.NewKey()
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	defer unavailable.Close()
	p := NewPulsar(unavailable.URL, "public", "default", "admin")
	if _, err := p.Authenticate(context.Background(), "public", "token:"+tokens.Sign(key, "alice")); !errors.Is(err, ErrCredentials) {
		t.Fatalf("Pulsar answering 503: err = %v, want an authentication failure", err)
	}
}

func TestAllowedFailsClosed(t *testing.T) {
	p := NewPulsar("http://127.0.0.1:1", "public", "default", "admin")
	if ok, err := p.Allowed(context.Background(), "alice", Produce, "t"); ok || err == nil {
		t.Fatalf("unreachable Pulsar: got %v, %v; want a denial with an error", ok, err)
	}
}

func TestParsePlain(t *testing.T) {
	cases := []struct {
		msg, user, password, wantErr string
	}{
		{"\x00u\x00p", "u", "p", ""},
		{"u\x00u\x00p", "u", "p", ""},
		{"other\x00u\x00p", "", "", "acting as another user"},
		{"u\x00p", "", "", "malformed"},
		{"\x00\x00p", "", "", "malformed"},
	}
	for _, c := range cases {
		u, pw, err := ParsePlain([]byte(c.msg))
		if c.wantErr == "" && (err != nil || u != c.user || pw != c.password) || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%q: got %q %q %v", c.msg, u, pw, err)
		}
	}
}

// Groups are authorized as Pulsar authorizes subscriptions: consume on the namespace, and the
// subscription permission of the group's name absent, empty, or listing the role.
func TestGroupAllowed(t *testing.T) {
	key, _ := tokens.NewKey()
	p := NewPulsar(fakePulsar(t, key).URL, "public", "default", "admin")
	cases := []struct {
		role, group string
		want        bool
	}{
		{"alice", "any", true},
		{"alice", "private", true},
		{"alice", "open", true},
		{"bob", "private", false}, // listed, but no consume on the namespace
		{"mallory", "any", false},
	}
	for _, c := range cases {
		got, err := p.GroupAllowed(context.Background(), c.role, c.group)
		if err != nil || got != c.want {
			t.Errorf("%s %q: got %v, %v; want %v", c.role, c.group, got, err, c.want)
		}
	}
}

func TestGroupAllowedBySubscriptionPermission(t *testing.T) {
	policies := func(mode string) string {
		return `{"auth_policies":{"namespace_auth":{"alice":["consume"],"bob":["consume"]},` +
			`"subscription_auth_roles":{"alice-g":["alice"],"shared":["alice","bob"]}},"subscription_auth_mode":"` + mode + `"}`
	}
	for _, tc := range []struct {
		mode  string
		cases map[[2]string]bool // role, group -> allowed
	}{
		{"None", map[[2]string]bool{
			{"alice", "alice-g"}: true, {"bob", "alice-g"}: false, {"bob", "shared"}: true, {"bob", "bob-own"}: true, {"alice", "free"}: true,
		}},
		// Prefix: a subscription's name must start with the role, listed or not.
		{"Prefix", map[[2]string]bool{
			{"alice", "alice-g"}: true, {"bob", "bob-own"}: true, {"bob", "shared"}: false, {"alice", "free"}: false,
		}},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(policies(tc.mode)))
		}))
		p := NewPulsar(srv.URL, "public", "default", "admin")
		for rg, want := range tc.cases {
			if got, err := p.GroupAllowed(context.Background(), rg[0], rg[1]); err != nil || got != want {
				t.Errorf("mode %s, %s on group %q: got %v, %v; want %v", tc.mode, rg[0], rg[1], got, err, want)
			}
		}
		srv.Close()
	}
}

func TestGroupAllowedFailsClosed(t *testing.T) {
	p := NewPulsar("http://127.0.0.1:1", "public", "default", "admin")
	if ok, err := p.GroupAllowed(context.Background(), "alice", "g"); ok || err == nil {
		t.Fatalf("unreachable Pulsar: got %v, %v; want a denial with an error", ok, err)
	}
}

// A token's "exp" claim is the principal's expiry (its session's end, KIP-368); an expired
// token authenticates nobody, whatever Pulsar answers.
func TestAuthenticateExpiry(t *testing.T) {
	key, _ := tokens.NewKey()
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	p := NewPulsar(srv.URL, "public", "default", "admin")
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	got, err := p.Authenticate(context.Background(), "public", "token:"+tokens.SignExpiring(key, "alice", exp))
	if err != nil || got.Role != "alice" || !got.Expires.Equal(exp) {
		t.Fatalf("got %+v, %v; want alice expiring at %v", got, err, exp)
	}
	if got, err := p.Authenticate(context.Background(), "public", "token:"+tokens.Sign(key, "alice")); err != nil || !got.Expires.IsZero() {
		t.Fatalf("a token without exp: %+v, %v; want no expiry", got, err)
	}
	before := asked.Load()
	_, err = p.Authenticate(context.Background(), "public", "token:"+tokens.SignExpiring(key, "alice", time.Now().Add(-time.Second)))
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired token: %v, want an authentication failure", err)
	}
	if asked.Load() != before {
		t.Error("an expired token was sent to Pulsar")
	}
}

// The grants are one snapshot of the namespace's policies, replaced once it is older than the
// TTL (never cleared): within the TTL a revocation is not seen, after it it is, and a snapshot
// that cannot be renewed is not used past its TTL.
func TestGrantSnapshotExpires(t *testing.T) {
	var revoked, down atomic.Bool
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads.Add(1)
		switch {
		case down.Load():
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		case revoked.Load():
			w.Write([]byte(`{"auth_policies":{"namespace_auth":{}}}`))
		default:
			w.Write([]byte(`{"auth_policies":{"namespace_auth":{"alice":["consume"]}}}`))
		}
	}))
	defer srv.Close()
	p := NewPulsar(srv.URL, "public", "default", "admin")
	p.ttl = time.Hour
	expire := func() {
		p.mu.Lock()
		p.policy.expires = time.Now().Add(-time.Nanosecond)
		p.mu.Unlock()
	}
	allowed := func(want bool, wantReads int32) {
		t.Helper()
		got, err := p.Allowed(context.Background(), "alice", Consume, "t")
		if got != want || reads.Load() != wantReads {
			t.Fatalf("allowed %v (%v) after %d reads; want %v after %d", got, err, reads.Load(), want, wantReads)
		}
	}
	allowed(true, 1)
	revoked.Store(true)
	allowed(true, 1) // within the TTL the snapshot answers
	expire()
	allowed(false, 2)
	revoked.Store(false)
	expire()
	allowed(true, 3)
	expire()
	down.Store(true)
	allowed(false, 4) // an expired snapshot is not used when it cannot be renewed
}

// slowPulsar answers every admin call after delay with the grants of TestAllowed's alice,
// counting the calls per path.
func slowPulsar(t *testing.T, delay time.Duration) (*httptest.Server, *sync.Map) {
	var asked sync.Map // path -> *atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := asked.LoadOrStore(r.URL.Path, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		time.Sleep(delay)
		w.Write([]byte(`{"auth_policies":{"namespace_auth":{"alice":["produce","consume"]}}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &asked
}

func askedFor(asked *sync.Map, path string) int32 {
	n, ok := asked.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

// Logins presenting one token at the same time share one verification by Pulsar; another
// token gets its own.
func TestAuthenticateSharesOneVerification(t *testing.T) {
	key, _ := tokens.NewKey()
	srv, asked := slowPulsar(t, 300*time.Millisecond)
	p := NewPulsar(srv.URL, "public", "default", "admin")
	alice, bob := "token:"+tokens.Sign(key, "alice"), "token:"+tokens.Sign(key, "bob")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			password, role := alice, "alice"
			if i%10 == 0 {
				password, role = bob, "bob"
			}
			if got, err := p.Authenticate(context.Background(), "public", password); err != nil || got.Role != role {
				t.Errorf("got %+v, %v; want %s", got, err, role)
			}
		}()
	}
	wg.Wait()
	if n := askedFor(asked, "/admin/v2/namespaces/public/default/permissions"); n != 2 {
		t.Fatalf("50 concurrent logins with two tokens asked Pulsar %d times, want twice", n)
	}
}

// A caller that gives up does not fail the read the others wait for.
func TestPoliciesReadOutlivesAnImpatientCaller(t *testing.T) {
	srv, asked := slowPulsar(t, 200*time.Millisecond)
	p := NewPulsar(srv.URL, "public", "default", "admin")
	patient := make(chan error, 1)
	go func() {
		time.Sleep(20 * time.Millisecond) // after the impatient one started the read
		ok, err := p.Allowed(context.Background(), "alice", Produce, "t")
		if err == nil && !ok {
			err = errors.New("denied")
		}
		patient <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Allowed(ctx, "alice", Produce, "t"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the impatient caller: %v", err)
	}
	if err := <-patient; err != nil {
		t.Fatalf("the patient caller: %v", err)
	}
	if n := askedFor(asked, "/admin/v2/namespaces/public/default"); n != 1 {
		t.Fatalf("Pulsar was asked %d times, want once", n)
	}
}

// Grants half their TTL old are read again in the background while the old read answers, so
// callers do not wait for Pulsar each TTL; concurrent callers start one read.
func TestGrantsReadAgainBeforeTheyExpire(t *testing.T) {
	srv, asked := slowPulsar(t, 0)
	p := NewPulsar(srv.URL, "public", "default", "admin")
	p.ttl = time.Hour
	path := "/admin/v2/namespaces/public/default"
	if ok, err := p.Allowed(context.Background(), "alice", Consume, "t"); !ok || err != nil {
		t.Fatalf("allowed %v, %v", ok, err)
	}
	p.mu.Lock()
	p.policy.read = time.Now().Add(-31 * time.Minute) // past half its TTL, not expired
	p.mu.Unlock()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := p.Allowed(context.Background(), "alice", Consume, "t"); !ok || err != nil {
				t.Errorf("allowed %v, %v", ok, err)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for askedFor(asked, path) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := askedFor(asked, path); n != 2 {
		t.Fatalf("policies read %d times, want twice (one background read for 100 callers)", n)
	}
	p.mu.Lock()
	fresh := time.Since(p.policy.read) < time.Minute
	p.mu.Unlock()
	if !fresh {
		t.Fatal("the background read did not replace the old one")
	}
}
