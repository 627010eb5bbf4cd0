package server

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
)

// panicOnce panics the first time it is asked to, as a dependency with a bug on one input.
type panicOnce struct{ done atomic.Bool }

func (p *panicOnce) maybe(where string) {
	if p.done.CompareAndSwap(false, true) {
		panic("test panic in " + where)
	}
}

type panickyAuth struct {
	Authorizer
	p *panicOnce
}

func (a panickyAuth) Authenticate(ctx context.Context, user, password string) (auth.Principal, error) {
	a.p.maybe("Authenticate")
	return a.Authorizer.Authenticate(ctx, user, password)
}

type panickyCatalog struct {
	Catalog
	p *panicOnce
}

func (c panickyCatalog) Partitions(ctx context.Context, topic string) (int32, error) {
	c.p.maybe("Partitions")
	return c.Catalog.Partitions(ctx, topic)
}

// A panic while serving a request costs that request (an answer with an error, or its
// connection) and nothing else: the server keeps serving, and the same path works again, so
// no lock was left held.
func TestPanicsCostOneConnection(t *testing.T) {
	bare := func(c *client, msg string) {
		c.conn.Write(append(kbin.AppendInt32(nil, int32(len(msg))), msg...))
	}
	cases := []struct {
		name  string
		opts  func(p *panicOnce) []envOpt
		first func(t *testing.T, e *env) // meets the panic
		again func(t *testing.T, e *env) // the same path, without it
	}{
		{"the authenticator, asked by SaslAuthenticate",
			func(p *panicOnce) []envOpt {
				return []envOpt{withSASL(), func(s *setup) { s.authz = func(m *auth.Memory) Authorizer { return panickyAuth{m, p} } }}
			},
			func(t *testing.T, e *env) {
				c := e.dial()
				c.handshake("PLAIN", 1)
				req := kmsg.NewPtrSASLAuthenticateRequest()
				req.SASLAuthBytes = []byte("\x00admin\x00admin-pw")
				c.send(req, 1)
				expectHungUp(t, c.conn)
			},
			func(t *testing.T, e *env) { e.dialAs("admin").served() }},
		{"the authenticator, asked for a bare PLAIN frame",
			func(p *panicOnce) []envOpt {
				return []envOpt{withSASL(), func(s *setup) { s.authz = func(m *auth.Memory) Authorizer { return panickyAuth{m, p} } }}
			},
			func(t *testing.T, e *env) {
				c := e.dial()
				c.handshake("PLAIN", 0)
				bare(c, "\x00admin\x00admin-pw")
				expectHungUp(t, c.conn)
			},
			func(t *testing.T, e *env) {
				c := e.dial()
				c.handshake("PLAIN", 0)
				bare(c, "\x00admin\x00admin-pw")
				var empty [4]byte
				if _, err := c.rd.Read(empty[:]); err != nil || empty != [4]byte{} {
					t.Fatalf("want the empty frame of a success, got %v %v", empty, err)
				}
				c.served()
			}},
		{"the catalog, asked by Metadata",
			func(p *panicOnce) []envOpt {
				return []envOpt{func(s *setup) { s.catalog = func(c Catalog) Catalog { return panickyCatalog{c, p} } }}
			},
			func(t *testing.T, e *env) {
				c := e.dial()
				c.send(metadataReq(topic), 1)
				expectHungUp(t, c.conn)
			},
			func(t *testing.T, e *env) {
				r := e.dial().do(metadataReq(topic), 1).(*kmsg.MetadataResponse)
				if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != nParts {
					t.Fatalf("metadata %+v", r.Topics)
				}
			}},
		{"a partition's log, in a goroutine of DeleteRecords",
			func(p *panicOnce) []envOpt {
				return []envOpt{func(s *setup) {
					s.hooks.deleteBefore = func(context.Context) error { p.maybe("DeleteBefore"); return nil }
				}}
			},
			func(t *testing.T, e *env) {
				e.threeRecordsFromOne()
				c := e.dial()
				wantCode(t, "delete records", deleted(c.do(deleteRecordsReq(topic, 0, 2), 0)).ErrorCode, kerr.UnknownServerError)
				c.served()
			},
			func(t *testing.T, e *env) {
				wantCode(t, "delete records", deleted(e.dial().do(deleteRecordsReq(topic, 0, 2), 0)).ErrorCode, nil)
			}},
		{"a partition's log, in a goroutine of Produce",
			func(p *panicOnce) []envOpt {
				return []envOpt{func(s *setup) { s.hooks.beforeAppend = func() { p.maybe("Append") } }}
			},
			func(t *testing.T, e *env) {
				c := e.dial()
				wantCode(t, "produce", produced(c.do(produceReq(topic, 0, -1, batchOf("a").encode(t)), 3)).ErrorCode, kerr.UnknownServerError)
				c.served()
			},
			func(t *testing.T, e *env) {
				wantCode(t, "produce", produced(e.dial().do(produceReq(topic, 0, -1, batchOf("a").encode(t)), 3)).ErrorCode, nil)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &panicOnce{}
			e := newEnv(t, tc.opts(p)...)
			tc.first(t, e)
			if !p.done.Load() {
				t.Fatal("the panic was not reached")
			}
			e.wantLogged(t, "test panic in", "goroutine ") // the panic and its stack
			tc.again(t, e)
		})
	}
}
