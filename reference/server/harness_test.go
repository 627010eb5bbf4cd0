package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
	"github.com/kop-conformance/kop-conformance/reference/internal/config"
	"github.com/kop-conformance/kop-conformance/reference/internal/group"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

// The in-process harness: a server on a loopback listener over the in-memory dependencies,
// driven with kmsg requests at explicit versions.

// Every env starts with topic "t" (partitions 0 and 1) and these SASL users: admin may produce
// and consume everything, consumer may consume everything (and use groups), reader may consume
// "t", mallory may do nothing. Passwords are the user name + "-pw".
const (
	topic   = "t"
	nParts  = 2
	node    = 7
	cluster = "kop-test"
)

// env is one server and its in-memory dependencies, which tests inspect and break.
type env struct {
	t       testing.TB
	srv     *Server
	addr    string
	port    int32 // advertised: the listener's own, so real clients can follow Metadata
	logs    *partition.Memory
	catalog *catalog.Memory // the topics' source, behind the server's cache; tests change it behind the server's back
	topics  *catalog.Cache  // what the server asks
	groups  *group.Coordinator
	state   *group.MemoryStore
	auth    *auth.Memory
	logged  *logBuffer      // what the server logged
	reads   chan struct{}   // with watchReads: a partition's log start was read
	ctx     context.Context // the server's; stop ends it
	stop    func()          // stops serving, as at shutdown: the listener closes, handlers' contexts end
}

// setup is what an envOpt may change before the server starts.
type setup struct {
	cfg     Config
	level   string
	sasl    bool
	wrap    func(net.Listener) net.Listener
	coord   group.Config
	authz   func(*auth.Memory) Authorizer
	hooks   hooks
	catalog func(Catalog) Catalog
	source  func(catalog.Source) catalog.Source // wraps the memory source under the cache
	cache   catalog.CacheConfig                 // max age 0 by default: every lookup reaches the source
	server  func(*Server)                       // runs before Serve: sets the server's test hooks
}

type envOpt func(*setup)

func withConfig(f func(*Config)) envOpt { return func(s *setup) { f(&s.cfg) } }
func withLevel(level string) envOpt     { return func(s *setup) { s.level = level } }
func withSASL() envOpt                  { return func(s *setup) { s.sasl = true } }

func withConn(f func(*config.ConnLimits)) envOpt { return func(s *setup) { f(&s.cfg.Conn) } }

// withCache keeps topics for maxAge, listing the namespace every listEvery (0: as production
// derives it from maxAge), as production does with --metadata-max-age.
func withCache(maxAge, listEvery time.Duration) envOpt {
	return func(s *setup) { s.cache.MaxAge, s.cache.ListEvery = maxAge, listEvery }
}

// withSource wraps the memory source the cache is kept current from.
func withSource(wrap func(catalog.Source) catalog.Source) envOpt {
	return func(s *setup) { s.source = wrap }
}

func withListener(wrap func(net.Listener) net.Listener) envOpt {
	return func(s *setup) { s.wrap = wrap }
}

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	logged := &logBuffer{}
	st := setup{
		cfg: Config{NodeID: node, ClusterID: cluster, DefaultPartitions: 3, MaxRequestBytes: 1 << 20,
			MaxMessageBytes: 1 << 16, Logger: slog.New(slog.NewTextHandler(logged, nil))},
		coord: group.Config{MinSessionTimeout: time.Millisecond, Logger: logger},
	}
	for _, o := range opts {
		o(&st)
	}
	e := &env{t: t, logged: logged, reads: make(chan struct{}, 16), logs: partition.NewMemory(), catalog: catalog.NewMemory(map[string]int32{topic: nParts}),
		state: group.NewMemoryStore(), auth: auth.NewMemory()}
	for _, u := range []string{"admin", "consumer", "reader", "mallory"} {
		e.auth.AddUser(u, u+"-pw", u)
	}
	e.auth.Grant("admin", "", auth.Produce, auth.Consume)
	e.auth.Grant("consumer", "", auth.Consume)
	e.auth.Grant("reader", topic, auth.Consume)
	st.cfg.Auth = e.auth
	if st.authz != nil {
		st.cfg.Auth = st.authz(e.auth)
	}
	var logs partition.Store = e.logs
	if st.hooks.logStartRead != nil || st.hooks.deleteBefore != nil || st.hooks.append != nil || st.hooks.beforeAppend != nil || st.hooks.held != nil {
		logs = hookedStore{logs, st.hooks, e}
	}
	e.groups = group.OpenMemory(st.coord, e.state)
	var src catalog.Source = e.catalog
	if st.source != nil {
		src = st.source(src)
	}
	st.cache.Logger = logger
	e.topics = catalog.NewCache(src, st.cache)
	var cat Catalog = e.topics
	if st.catalog != nil {
		cat = st.catalog(cat)
	}
	e.srv = New(st.cfg, logs, cat, e.groups)
	if st.server != nil {
		st.server(e.srv)
	}
	versions, err := protocol.Cap(Implemented(), st.level)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr, e.port = ln.Addr().String(), int32(ln.Addr().(*net.TCPAddr).Port)
	if st.wrap != nil {
		ln = st.wrap(ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.ctx, e.stop = ctx, cancel
	go e.srv.Serve(ctx, ln, Listener{Name: "test", AdvertisedHost: "127.0.0.1", AdvertisedPort: e.port, Versions: versions, SASL: st.sasl})
	t.Cleanup(func() { cancel(); e.srv.Shutdown(); e.groups.Close(); e.topics.Close() })
	return e
}

// hooks let a test act inside the partition logs' calls.
type hooks struct {
	// logStartRead runs after each LogStart: the last read of a fetch before it decides to
	// wait, so records added then can only wake it through the change channel.
	logStartRead func(*env)
	// deleteBefore replaces DeleteBefore.
	deleteBefore func(ctx context.Context) error
	// append replaces Append.
	append func(ctx context.Context) error
	// beforeAppend runs before each Append, which then appends.
	beforeAppend func()
	// held, when set, is asked for a gate at each Begin: the batch is stored at once, but its
	// wait returns only once the gate is closed (Pulsar's acknowledgement is late).
	held func() <-chan struct{}
	// refuseChained makes Begin refuse a batch that follows one in flight (ErrChainBroken,
	// as when the writer of the one before failed); held batches get chain 1.
	refuseChained bool
}

type hookedStore struct {
	partition.Store
	hooks hooks
	env   *env
}

type hookedLog struct {
	partition.Log
	hookedStore
}

func (s hookedStore) Partition(tp partition.TP) (partition.Log, error) {
	l, err := s.Store.Partition(tp)
	return hookedLog{l, s}, err
}

func (l hookedLog) LogStart(ctx context.Context) (int64, error) {
	if l.hooks.logStartRead != nil {
		defer l.hooks.logStartRead(l.env)
	}
	return l.Log.LogStart(ctx)
}

func (l hookedLog) DeleteBefore(ctx context.Context, offset int64) error {
	if l.hooks.deleteBefore != nil {
		return l.hooks.deleteBefore(ctx)
	}
	return l.Log.DeleteBefore(ctx, offset)
}

func (l hookedLog) Append(ctx context.Context, recs []records.Record, prod *partition.Producer) (int64, error) {
	if l.hooks.append != nil {
		return -1, l.hooks.append(ctx)
	}
	if l.hooks.beforeAppend != nil {
		l.hooks.beforeAppend()
	}
	return l.Log.Append(ctx, recs, prod)
}

// watchReads makes the env signal env.reads after each read of a partition's log start.
func watchReads(s *setup) { s.hooks.logStartRead = func(e *env) { e.reads <- struct{}{} } }

// appendAfterFirstRead stores values in partition 0 right after the first read of its log
// start, inside that read: between a fetch's read and its wait, deterministically.
func appendAfterFirstRead(values ...string) envOpt {
	return func(s *setup) {
		var once sync.Once
		s.hooks.logStartRead = func(e *env) { once.Do(func() { e.appendValues(0, values...) }) }
	}
}

// client speaks the wire protocol on one connection, one request at a time.
type client struct {
	t    testing.TB
	conn net.Conn
	rd   *bufio.Reader
	corr int32
}

func newClient(t testing.TB, c net.Conn) *client {
	return &client{t: t, conn: c, rd: bufio.NewReader(c)}
}

func (e *env) dial() *client { return newClient(e.t, dial(e.t, e.addr)) }

// connect dials as user on a SASL listener, or as a trusted client when user is "".
func (e *env) connect(user string) *client {
	if user == "" {
		return e.dial()
	}
	return e.dialAs(user)
}

// dialAs connects to a SASL listener and authenticates as user with SASL/PLAIN.
func (e *env) dialAs(user string) *client {
	c := e.dial()
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Mechanism = "PLAIN"
	if r := c.do(hs, 1).(*kmsg.SASLHandshakeResponse); r.ErrorCode != 0 {
		e.t.Fatalf("handshake: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	if r := c.authenticate("\x00"+user+"\x00"+user+"-pw", 1); r.ErrorCode != 0 {
		e.t.Fatalf("authenticate as %s: %v", user, kerr.ErrorForCode(r.ErrorCode))
	}
	return c
}

func (c *client) authenticate(msg string, v int16) *kmsg.SASLAuthenticateResponse {
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = []byte(msg)
	return c.do(req, v).(*kmsg.SASLAuthenticateResponse)
}

// send writes req at version v and returns its correlation id. req itself is not changed, so
// parallel tests may share it.
func (c *client) send(req kmsg.Request, v int16) int32 {
	c.t.Helper()
	cp := reflect.New(reflect.TypeOf(req).Elem())
	cp.Elem().Set(reflect.ValueOf(req).Elem())
	at := cp.Interface().(kmsg.Request)
	at.SetVersion(v)
	c.corr++
	if _, err := c.conn.Write(frame(at.Key(), v, c.corr, at.IsFlexible(), at.AppendTo(nil))); err != nil {
		c.t.Fatalf("writing %s v%d: %v", kmsg.NameForKey(at.Key()), v, err)
	}
	return c.corr
}

// recv reads the response to the request sent with corr.
func (c *client) recv(req kmsg.Request, v int16, corr int32) kmsg.Response {
	c.t.Helper()
	name := kmsg.NameForKey(req.Key())
	var size [4]byte
	if _, err := io.ReadFull(c.rd, size[:]); err != nil {
		c.t.Fatalf("reading the response to %s v%d: %v", name, v, err)
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.rd, buf); err != nil {
		c.t.Fatal(err)
	}
	if got := int32(binary.BigEndian.Uint32(buf)); got != corr {
		c.t.Fatalf("%s v%d: correlation id %d, want %d", name, v, got, corr)
	}
	body := buf[4:]
	resp := kmsg.ResponseForKey(req.Key())
	resp.SetVersion(v)
	if resp.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		body = body[1:] // the response header's empty tag section
	}
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("decoding %s v%d: %v", name, v, err)
	}
	return resp
}

func (c *client) do(req kmsg.Request, v int16) kmsg.Response {
	c.t.Helper()
	return c.recv(req, v, c.send(req, v))
}

// versionCase is one behaviour of an API, checked at every version the server registers for it
// (or, with from and below, at the versions it needs: from <= v < below).
type versionCase struct {
	name        string
	from, below int16
	opts        []envOpt
	run         func(t *testing.T, e *env, v int16)
}

// forVersions runs each case at each version, each on its own server.
func forVersions(t *testing.T, key kmsg.Key, cases []versionCase) {
	h, ok := handlers[key.Int16()]
	if !ok {
		t.Fatalf("%s is not registered", kmsg.NameForKey(key.Int16()))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for v := max(h.min, tc.from); v <= h.max && (tc.below == 0 || v < tc.below); v++ {
				t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
					t.Parallel()
					tc.run(t, newEnv(t, tc.opts...), v)
				})
			}
		})
	}
}

// wantCode fails t unless got is want's code.
func wantCode(t testing.TB, what string, got int16, want *kerr.Error) {
	t.Helper()
	if got != code(want) {
		t.Errorf("%s: %v, want %v", what, kerr.ErrorForCode(got), kerr.ErrorForCode(code(want)))
	}
}

// logBuffer holds what a server logged, for tests that check a reason was given.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// wantLogged fails t unless the server logged each of want.
func (e *env) wantLogged(t testing.TB, want ...string) {
	t.Helper()
	got := e.logged.String()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("the server did not log %q; it logged:\n%s", w, got)
		}
	}
}

func (l hookedLog) Begin(ctx context.Context, w partition.Write) (partition.Wait, partition.Chain, error) {
	if l.hooks.append != nil {
		err := l.hooks.append(ctx) // Pulsar takes the batch but its answer is this
		return func() (int64, error) { return -1, err }, 0, nil
	}
	if l.hooks.beforeAppend != nil {
		l.hooks.beforeAppend()
	}
	if l.hooks.refuseChained && w.After != 0 {
		return nil, 0, partition.ErrChainBroken
	}
	if l.hooks.held != nil {
		gate := l.hooks.held()
		wait, _, err := l.Log.Begin(ctx, w)
		if err != nil {
			return nil, 0, err
		}
		return func() (int64, error) { <-gate; return wait() }, 1, nil
	}
	return l.Log.Begin(ctx, w)
}
