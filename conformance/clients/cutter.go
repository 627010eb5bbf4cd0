package clients

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// errCut is what a severed client's dials fail with.
var errCut = errors.New("connections cut by the test")

// cutter dials like net.Dialer until Cut, which closes every connection it made and fails all
// later dials: the client vanishes without a goodbye (no LeaveGroup), as a crashed process would.
type cutter struct {
	tls   *tls.Config // nil: plaintext
	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newCutter(t *tls.Config) *cutter { return &cutter{tls: t, conns: map[net.Conn]struct{}{}} }

func (c *cutter) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	cut := c.cut
	c.mu.Unlock()
	if cut {
		return nil, errCut
	}
	conn, err := dial(ctx, c.tls, network, addr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		conn.Close()
		return nil, errCut
	}
	tc := &trackedConn{Conn: conn, c: c}
	c.conns[tc] = struct{}{}
	return tc, nil
}

// dial connects, over TLS when cfg is set (verifying the server as the host dialled).
func dial(ctx context.Context, cfg *tls.Config, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if cfg == nil {
		return d.DialContext(ctx, network, addr)
	}
	c := cfg.Clone()
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		c.ServerName = host
	}
	return (&tls.Dialer{NetDialer: d, Config: c}).DialContext(ctx, network, addr)
}

// Dial serves clients that dial without a context (sarama's proxy.Dialer).
func (c *cutter) Dial(network, addr string) (net.Conn, error) {
	return c.DialContext(context.Background(), network, addr)
}

// Cut severs every connection and refuses new ones.
func (c *cutter) Cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = true
	for conn := range c.conns {
		conn.(*trackedConn).Conn.Close()
	}
	clear(c.conns)
}

// trackedConn forgets itself when the client closes it, so the set stays as small as the
// client's open connections.
type trackedConn struct {
	net.Conn
	c    *cutter
	once sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() {
		t.c.mu.Lock()
		delete(t.c.conns, t)
		t.c.mu.Unlock()
	})
	return t.Conn.Close()
}
