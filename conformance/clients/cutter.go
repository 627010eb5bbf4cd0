package clients

import (
	"context"
	"errors"
	"net"
	"sync"
)

// errCut is what a severed client's dials fail with.
var errCut = errors.New("connections cut by the test")

// cutter dials like net.Dialer until Cut, which closes every connection it made and fails all
// later dials: the client vanishes without a goodbye (no LeaveGroup), as a crashed process would.
type cutter struct {
	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newCutter() *cutter { return &cutter{conns: map[net.Conn]struct{}{}} }

func (c *cutter) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	cut := c.cut
	c.mu.Unlock()
	if cut {
		return nil, errCut
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
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
