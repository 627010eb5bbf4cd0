package pulsarwire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client makes producers; it keeps one connection per broker.
type Client struct {
	addr    string // the service URL's host:port
	token   string
	timeout time.Duration
	log     *slog.Logger

	ids  atomic.Uint64 // producer and request ids
	held atomic.Int64  // bytes the readers hold in entries not yet read
	// readerBytes and clientBytes bound what one reader, and all together, hold (Reader).
	readerBytes int
	clientBytes int64

	mu     sync.Mutex
	conns  map[connKey]*conn
	dials  map[connKey]*dialing
	closed bool
}

type connKey struct{ addr, proxyTo string }

type dialing struct {
	done chan struct{}
	cn   *conn
	err  error
}

// NewClient is a client for serviceURL (pulsar://host:port). Nothing is dialled until needed.
func NewClient(serviceURL, token string, timeout time.Duration, log *slog.Logger) (*Client, error) {
	if !Supported(serviceURL) {
		return nil, fmt.Errorf("pulsarwire: service URL %q is not pulsar://host:port", serviceURL)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(serviceURL, "pulsar://"), "/")
	if log == nil {
		log = slog.Default()
	}
	return &Client{addr: addr, token: token, timeout: timeout, log: log, readerBytes: readerBytes, clientBytes: clientBytes,
		conns: map[connKey]*conn{}, dials: map[connKey]*dialing{}}, nil
}

// Supported says whether serviceURL is one this client can serve.
func Supported(serviceURL string) bool {
	addr, ok := strings.CutPrefix(serviceURL, "pulsar://")
	addr = strings.TrimSuffix(addr, "/")
	return ok && addr != "" && !strings.ContainsAny(addr, ",/")
}

// Close closes every connection; their producers fail.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	cs := c.conns
	c.conns = map[connKey]*conn{}
	c.mu.Unlock()
	for _, cn := range cs {
		cn.close()
	}
}

// connection returns the live connection for k, dialling it once for all callers.
func (c *Client) connection(ctx context.Context, k connKey) (*conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, errors.New("pulsarwire: client closed")
		}
		if cn := c.conns[k]; cn != nil {
			if cn.failed() == nil {
				c.mu.Unlock()
				return cn, nil
			}
			delete(c.conns, k)
		}
		d := c.dials[k]
		if d == nil {
			d = &dialing{done: make(chan struct{})}
			c.dials[k] = d
			c.mu.Unlock()
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
			d.cn, d.err = dial(dctx, k.addr, k.proxyTo, c.token, c.timeout, c.log)
			cancel()
			c.mu.Lock()
			delete(c.dials, k)
			if d.err == nil && c.closed {
				d.cn.close() // closed while dialling: nobody would close it later
				d.cn, d.err = nil, errors.New("pulsarwire: client closed")
			}
			if d.err == nil {
				c.conns[k] = d.cn
			}
			close(d.done)
			c.mu.Unlock()
			return d.cn, d.err
		}
		c.mu.Unlock()
		select {
		case <-d.done:
			if d.err != nil {
				return nil, d.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// maxRedirects bounds a lookup's hops between brokers.
const maxRedirects = 8

// lookup finds the connection to the broker that owns topic.
func (c *Client) lookup(ctx context.Context, topic string) (*conn, error) {
	k := connKey{addr: c.addr}
	authoritative := false
	for hop := 0; hop < maxRedirects; hop++ {
		cn, err := c.connection(ctx, k)
		if err != nil {
			return nil, err
		}
		rid := c.ids.Add(1)
		body := putString(nil, 1, topic)
		body = putVarint(body, 2, rid)
		if authoritative {
			body = putVarint(body, 3, 1)
		}
		reply, err := cn.request(ctx, rid, simpleFrame(baseCommand(cmdLookup, body)))
		if err != nil {
			return nil, fmt.Errorf("looking up %s: %w", topic, err)
		}
		r := reply.body
		switch kind := r.uint(3); {
		case !r.has(3):
			return nil, fmt.Errorf("looking up %s: the answer has no response type", topic)
		case kind == 0 || kind == 1: // Redirect, Connect
			broker, ok := strings.CutPrefix(r.str(1), "pulsar://")
			if !ok || broker == "" {
				return nil, fmt.Errorf("looking up %s: broker %q has no pulsar:// address", topic, r.str(1))
			}
			broker = strings.TrimSuffix(broker, "/")
			authoritative = r.uint(5) == 1
			if r.uint(8) == 1 { // through the service URL (a proxy) to that broker
				k = connKey{addr: c.addr, proxyTo: broker}
			} else {
				k = connKey{addr: broker}
			}
			if kind == 1 {
				return c.connection(ctx, k)
			}
		default:
			return nil, fmt.Errorf("looking up %s: %w", topic, serverError(r.uint(6), r.str(7)))
		}
	}
	return nil, fmt.Errorf("looking up %s: more than %d redirects", topic, maxRedirects)
}

// Producer creates a producer on topic (a full persistent:// name).
func (c *Client) Producer(ctx context.Context, topic string) (*Producer, error) {
	cn, err := c.lookup(ctx, topic)
	if err != nil {
		return nil, err
	}
	pid, rid := c.ids.Add(1), c.ids.Add(1)
	p := &Producer{cn: cn, id: pid, topic: topic, timeout: c.timeout}
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return nil, cn.err
	}
	cn.producers[pid] = p // before the request: a receipt can only follow success
	cn.mu.Unlock()
	body := putString(nil, 1, topic)
	body = putVarint(body, 2, pid)
	body = putVarint(body, 3, rid)
	reply, err := cn.request(ctx, rid, simpleFrame(baseCommand(cmdProducer, body)))
	if err != nil {
		cn.mu.Lock()
		delete(cn.producers, pid)
		cn.mu.Unlock()
		// The broker may have made it after all (a late answer): close it there, best effort.
		go cn.write(simpleFrame(baseCommand(cmdCloseProducer, putVarint(putVarint(nil, 1, pid), 2, c.ids.Add(1)))))
		return nil, fmt.Errorf("producer on %s: %w", topic, err)
	}
	p.name = reply.body.str(2)
	if reply.body.has(3) {
		p.seq = uint64(int64(reply.body.uint(3)) + 1) // last sequence id, -1 for a new name
	}
	return p, nil
}
