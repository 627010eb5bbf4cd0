package server

// What connections may cost (config.ConnLimits): how many are open, in total and per IP
// address, and how many request bytes are in flight. A connection over a cap is accepted and
// closed at once, with a rate-limited log line; a frame that does not fit in the in-flight
// budget waits, unread, until it does.

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// admit counts c against the connection caps, or closes it when it is over one.
func (s *Server) admit(c net.Conn) bool {
	ip := remoteIP(c)
	s.mu.Lock()
	var over string
	switch {
	case len(s.conns) >= s.limits.MaxConnections:
		over = fmt.Sprintf("max-connections (%d)", s.limits.MaxConnections)
	case s.perIP[ip] >= s.limits.MaxConnectionsPerIP:
		over = fmt.Sprintf("max-connections-per-ip (%d)", s.limits.MaxConnectionsPerIP)
	default:
		s.conns[c] = ip
		s.perIP[ip]++
	}
	s.mu.Unlock()
	if over != "" {
		s.refusals.note(s.log, ip, over)
		s.cfg.Metrics.Refused(over)
		c.Close()
	}
	return over == ""
}

// release stops counting c.
func (s *Server) release(c net.Conn) {
	s.mu.Lock()
	if ip, ok := s.conns[c]; ok {
		delete(s.conns, c)
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
	}
	s.mu.Unlock()
	if s.hooks.closed != nil {
		s.hooks.closed()
	}
}

func remoteIP(c net.Conn) string {
	addr := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// refusals logs refused connections at most once a second, with how many there were.
type refusals struct {
	mu      sync.Mutex
	last    time.Time
	refused int
}

func (r *refusals) note(log *slog.Logger, ip, limit string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused++
	if now := time.Now(); now.Sub(r.last) >= time.Second {
		log.Warn("refusing a connection over the limit", "limit", limit, "remote_ip", ip,
			"refused_since_last_report", r.refused)
		r.last, r.refused = now, 0
	}
}

// reserve takes n bytes of the server's in-flight budget, waiting (the connection does not
// read meanwhile) at most the frame timeout; waited says it had to wait. The caller gives the
// bytes back with s.inflight.Release.
func (s *Server) reserve(ctx context.Context, n int64) (waited bool, err error) {
	if !s.inflight.TryAcquire(n) {
		waited = true
		if s.hooks.waiting != nil {
			s.hooks.waiting()
		}
		wctx, cancel := context.WithTimeout(ctx, s.limits.FrameTimeout)
		err := s.inflight.Acquire(wctx, n)
		cancel()
		if err != nil {
			return true, fmt.Errorf("no room for %d more bytes of a request in the %d bytes of max-inflight-bytes within %v: %w",
				n, s.limits.MaxInflightBytes, s.limits.FrameTimeout, err)
		}
	}
	if s.hooks.reserved != nil {
		s.hooks.reserved(n)
	}
	return waited, nil
}

func newBudget(limit int64) *semaphore.Weighted { return semaphore.NewWeighted(limit) }

// readers are the buffered readers of connections that are reading a request; an idle
// connection holds none.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// responses are response buffers between requests; one larger than 1 MiB is dropped instead.
var responses = sync.Pool{New: func() any { return new([]byte) }}
