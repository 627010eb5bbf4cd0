package server

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/config"
)

// expectHungUp fails t unless the server closes c within a few seconds: a read that times out
// means the connection is still open.
func expectHungUp(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, err := c.Read(make([]byte, 512))
		switch {
		case err == nil:
			continue // a response to what was sent before; the close comes after it
		case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
			return
		default:
			t.Fatalf("the server did not close the connection: %v", err)
		}
	}
}

// signal returns a hook that reports on ch without blocking, and a bounded wait on it.
func signal(ch chan struct{}) func() {
	return func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting until %s", what)
	}
}

func TestConnectionTimeouts(t *testing.T) {
	const short = 200 * time.Millisecond
	cases := []struct {
		name   string
		limits func(*config.ConnLimits)
		sasl   bool
		send   func(c *client)
		logged string
	}{
		{"an idle connection", func(l *config.ConnLimits) { l.IdleTimeout = short }, false,
			func(*client) {}, "idle for 200ms"},
		{"an idle connection after a request", func(l *config.ConnLimits) { l.IdleTimeout = short }, false,
			func(c *client) { c.served() }, "idle for 200ms"},
		{"a frame that trickles in", func(l *config.ConnLimits) { l.FrameTimeout = short }, false,
			func(c *client) { c.conn.Write(append(kbin.AppendInt32(nil, 100), "ten bytes."...)) }, "frame did not arrive within 200ms"},
		{"a size cut short", func(l *config.ConnLimits) { l.FrameTimeout = short }, false,
			func(c *client) { c.conn.Write([]byte{0, 0}) }, "frame did not arrive within 200ms"},
		{"SASL never started", func(l *config.ConnLimits) { l.SASLTimeout = short }, true,
			func(c *client) { c.served() }, "not authenticated within 200ms"},
		{"SASL started, never finished", func(l *config.ConnLimits) { l.SASLTimeout = short }, true,
			func(c *client) { c.handshake("PLAIN", 1) }, "not authenticated within 200ms"},
		{"a frame that trickles in before SASL", func(l *config.ConnLimits) { l.SASLTimeout = short }, true,
			func(c *client) { c.conn.Write(kbin.AppendInt32(nil, 100)) }, "not authenticated within 200ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := []envOpt{withConn(tc.limits)}
			if tc.sasl {
				opts = append(opts, withSASL())
			}
			e := newEnv(t, opts...)
			start := time.Now() // before anything the server's deadlines count from
			c := e.dial()
			tc.send(c)
			expectHungUp(t, c.conn)
			if d := time.Since(start); d < short {
				t.Errorf("closed after %v, before the %v limit", d, short)
			}
			e.wantLogged(t, tc.logged)
		})
	}
}

func TestAuthenticatedConnectionOutlivesTheSASLTimeout(t *testing.T) {
	closed := make(chan struct{}, 1)
	e := newEnv(t, withSASL(), withConn(func(l *config.ConnLimits) { l.SASLTimeout = 100 * time.Millisecond }),
		func(s *setup) { s.server = func(srv *Server) { srv.hooks.closed = signal(closed) } })
	c := e.dialAs("admin")
	// Past the SASL deadline, bounded by a timer rather than slept: the connection must stay.
	select {
	case <-closed:
		t.Fatal("an authenticated connection was closed")
	case <-time.After(300 * time.Millisecond):
	}
	c.served()
}

func TestConnectionCaps(t *testing.T) {
	cases := []struct {
		name   string
		limits func(*config.ConnLimits)
	}{
		{"per IP", func(l *config.ConnLimits) { l.MaxConnectionsPerIP = 3 }},
		{"in total", func(l *config.ConnLimits) { l.MaxConnections = 3 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			closed := make(chan struct{}, 1)
			e := newEnv(t, withConn(tc.limits), func(s *setup) { s.server = func(srv *Server) { srv.hooks.closed = signal(closed) } })
			var open []*client
			for range 3 {
				c := e.dial()
				c.served()
				open = append(open, c)
			}
			over := e.dial()
			expectHungUp(t, over.conn)
			e.wantLogged(t, "refusing a connection over the limit")
			open[0].conn.Close()
			await(t, closed, "the server lets the closed connection go")
			e.dial().served()
			for _, c := range open[1:] {
				c.served()
			}
		})
	}
}

func TestInflightBudget(t *testing.T) {
	// Two ApiVersions v3 requests of about 40 KiB each (a long software name) cannot both be in
	// flight in 64 KiB: the second waits, without reading, until the first is answered.
	big := kmsg.NewPtrApiVersionsRequest()
	big.ClientSoftwareName, big.ClientSoftwareVersion = strings.Repeat("a", 40<<10), "1"
	big.SetVersion(3)
	req := frame(kmsg.ApiVersions.Int16(), 3, 1, true, big.AppendTo(nil))
	waiting, reserved := make(chan struct{}, 1), make(chan struct{}, 1)
	e := newEnv(t, withConn(func(l *config.ConnLimits) { l.MaxInflightBytes, l.MaxInflightBytesPerConn = 64<<10, 64<<10 }),
		func(s *setup) {
			s.server = func(srv *Server) {
				srv.hooks.waiting = signal(waiting)
				srv.hooks.reserved = func(int64) { signal(reserved)() }
			}
		})
	first, second := e.dial(), e.dial()
	first.conn.Write(req[:len(req)-10])
	await(t, reserved, "the first frame's bytes are reserved")
	second.conn.Write(req)
	await(t, waiting, "the second connection waits for the budget")
	first.conn.Write(req[len(req)-10:])
	for _, c := range []*client{first, second} {
		if corr, _ := readResponse(t, c.conn); corr != 1 {
			t.Fatalf("correlation id %d, want 1", corr)
		}
	}

	t.Run("a frame larger than a connection's budget closes it", func(t *testing.T) {
		e := newEnv(t, withConn(func(l *config.ConnLimits) { l.MaxInflightBytes, l.MaxInflightBytesPerConn = 64<<10, 32<<10 }))
		c := e.dial()
		c.conn.Write(req)
		expectHungUp(t, c.conn)
		e.wantLogged(t, "frame exceeds maximum request size")
	})
}

// Peers that announce large frames and send little hold only what they sent (rounded up to the
// first buffer) of the server's budget: eight announcing the whole 1 MiB budget each leave
// room for a well-behaved request.
func TestAnnouncedFramesDoNotHoldTheBudget(t *testing.T) {
	e := newEnv(t, withConn(func(l *config.ConnLimits) { l.MaxInflightBytes, l.MaxInflightBytesPerConn = 1<<20, 1<<20 }),
		withConfig(func(c *Config) { c.MaxRequestBytes = 1 << 20 }))
	for range 8 {
		c := dial(t, e.addr)
		c.Write(append(binary.BigEndian.AppendUint32(nil, 1<<20), make([]byte, 1024)...))
	}
	e.dial().served()
}
