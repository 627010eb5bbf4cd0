package pulsarwire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"
)

// errConnClosed is what a closed connection's waiters get.
var errConnClosed = errors.New("pulsar connection closed")

// conn is one connection to a broker, shared by the producers on it.
type conn struct {
	c       net.Conn
	log     *slog.Logger
	timeout time.Duration
	token   string

	wmu  sync.Mutex // frames are written whole, one at a time
	werr error      // under wmu: a write failed, maybe partway, so nothing more may follow
	max  int        // the broker's max_message_size (metadata and payload of an entry)

	mu        sync.Mutex
	err       error // set once the connection failed
	replies   map[uint64]chan command
	producers map[uint64]*Producer
	readers   map[uint64]*Reader
	done      chan struct{}
}

// dial connects to addr (host:port) and completes the handshake.
func dial(ctx context.Context, addr, proxyTo, token string, timeout time.Duration, log *slog.Logger) (*conn, error) {
	d := net.Dialer{Timeout: min(timeout, dialTimeout)}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to pulsar at %s: %w", addr, err)
	}
	cn := &conn{c: c, log: log, timeout: timeout, token: token,
		replies: map[uint64]chan command{}, producers: map[uint64]*Producer{}, readers: map[uint64]*Reader{},
		done: make(chan struct{})}
	var body []byte
	body = putString(body, 1, "kop-reference")
	body = putVarint(body, 4, protocolVersion)
	// Readers need each entry's broker entry metadata (the index is the Kafka offset).
	body = putBytes(body, 10, putVarint(nil, 2, 1))
	if token != "" {
		body = putString(body, 5, "token")
		body = putBytes(body, 3, []byte(token))
	}
	if proxyTo != "" {
		body = putString(body, 6, proxyTo)
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.SetDeadline(deadline)
	if _, err := c.Write(simpleFrame(baseCommand(cmdConnect, body))); err != nil {
		c.Close()
		return nil, fmt.Errorf("connecting to pulsar at %s: %w", addr, err)
	}
	r := bufio.NewReaderSize(c, 16<<10)
	reply, _, err := readFrame(r, maxFrame)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connecting to pulsar at %s: %w", addr, err)
	}
	switch reply.typ {
	case cmdConnected:
		cn.max = defaultMaxMessage
		if m := int(int32(reply.body.uint(3))); reply.body.has(3) && m > 0 {
			cn.max = min(m, maxEntry)
		}
	case cmdError:
		c.Close()
		return nil, fmt.Errorf("connecting to pulsar at %s: %w", addr, serverError(reply.body.uint(2), reply.body.str(3)))
	default:
		c.Close()
		return nil, fmt.Errorf("connecting to pulsar at %s: unexpected command %d", addr, reply.typ)
	}
	c.SetDeadline(time.Time{})
	go cn.readLoop(r)
	go cn.watch()
	return cn, nil
}

// readFrame reads one frame of at most limit bytes and decodes its command; the rest of the
// frame (a message's headers and payload) is returned as it is, in a buffer of its own. A
// larger frame whose command is readable is skipped whole and its command returned with an
// errOversized, so only what it was for fails.
func readFrame(r *bufio.Reader, limit uint32) (command, []byte, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return command{}, nil, err
	}
	total, size := binary.BigEndian.Uint32(hdr[:4]), binary.BigEndian.Uint32(hdr[4:])
	if total < 4 || size > total-4 || total > limit && size > maxCommand {
		return command{}, nil, fmt.Errorf("pulsar frame of %d bytes (command %d), at most %d taken", total, size, limit)
	}
	if total > limit {
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			return command{}, nil, err
		}
		if _, err := io.CopyN(io.Discard, r, int64(total-4-size)); err != nil {
			return command{}, nil, err
		}
		c, err := decodeCommand(b)
		if err != nil {
			return command{}, nil, err
		}
		return c, nil, errOversized{total, limit}
	}
	b := make([]byte, total-4)
	if _, err := io.ReadFull(r, b); err != nil {
		return command{}, nil, err
	}
	c, err := decodeCommand(b[:size])
	return c, b[size:], err
}

// maxCommand bounds a command read from an oversized frame.
const maxCommand = 64 << 10

// errOversized is a frame over the limit that was skipped.
type errOversized struct{ size, limit uint32 }

func (e errOversized) Error() string {
	return fmt.Sprintf("an entry of %d bytes, over the %d a frame may have", e.size, e.limit)
}

// frameLimit bounds a frame from the broker: a message of the broker's largest entry with
// room for its command and metadata, and never less than maxFrame.
func (cn *conn) frameLimit() uint32 {
	return uint32(max(maxFrame, cn.max+64<<10))
}

func (cn *conn) readLoop(r *bufio.Reader) {
	defer func() {
		// A panic here (in a receipt's callback, say) must not take the process down: the
		// connection fails instead, and its entries are in doubt.
		if v := recover(); v != nil {
			cn.log.Error("pulsar connection: recovered from a panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			cn.fail(fmt.Errorf("panic: %v", v))
		}
	}()
	limit := cn.frameLimit()
	for {
		c, rest, err := readFrame(r, limit)
		var over errOversized
		if errors.As(err, &over) && c.typ == cmdMessage {
			if rd := cn.reader(c.body.uint(1)); rd != nil {
				rd.fail(fmt.Errorf("reading %s: %w", rd.topic, over))
			}
			continue
		}
		if err != nil {
			cn.fail(err)
			return
		}
		cn.dispatch(c, rest)
	}
}

func (cn *conn) dispatch(c command, rest []byte) {
	switch c.typ {
	case cmdMessage, cmdCloseConsumer:
		rd := cn.reader(c.body.uint(1))
		if rd == nil {
			return // closed meanwhile
		}
		if c.typ == cmdCloseConsumer {
			rd.fail(fmt.Errorf("pulsar closed the reader on %s", rd.topic))
			return
		}
		rd.arrived(c.body, rest)
	case cmdPing:
		cn.write(simpleFrame(baseCommand(cmdPong, nil)))
	case cmdAuthChallenge:
		// A static token: answer with the same one.
		auth := putString(nil, 1, "token")
		auth = putBytes(auth, 2, []byte(cn.token))
		body := putString(nil, 1, "kop-reference")
		body = putBytes(body, 2, auth)
		body = putVarint(body, 3, protocolVersion)
		cn.write(simpleFrame(baseCommand(cmdAuthResponse, body)))
	case cmdSendReceipt, cmdSendError, cmdCloseProducer:
		cn.mu.Lock()
		p := cn.producers[c.body.uint(1)]
		cn.mu.Unlock()
		if p == nil {
			return
		}
		switch c.typ {
		case cmdSendReceipt:
			id, err := c.body.sub(3)
			if err != nil {
				p.fail(fmt.Errorf("send receipt: %w", err))
				return
			}
			p.receipt(c.body.uint(2), int64(id.uint(1)), int64(id.uint(2)))
		case cmdSendError:
			p.fail(fmt.Errorf("writing to %s: %w", p.topic, serverError(c.body.uint(3), c.body.str(4))))
		default:
			p.fail(fmt.Errorf("pulsar closed the producer on %s", p.topic))
		}
	case cmdSuccess, cmdError, cmdProducerSuccess, cmdLookupResponse, cmdLastMessageIDResponse:
		rid := c.body.uint(1)
		switch c.typ {
		case cmdLookupResponse:
			rid = c.body.uint(4)
		case cmdLastMessageIDResponse:
			rid = c.body.uint(2)
		}
		cn.mu.Lock() // fail closes the channels under it: never send on a closed one
		if ch := cn.replies[rid]; ch != nil {
			select {
			case ch <- c:
			default:
			}
		}
		cn.mu.Unlock()
	}
}

// watch fails producers whose oldest entry waited past the timeout: a broker that stopped
// answering is not waited for forever.
func (cn *conn) watch() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-cn.done:
			return
		case now := <-t.C:
			cn.mu.Lock()
			ps := make([]*Producer, 0, len(cn.producers))
			for _, p := range cn.producers {
				ps = append(ps, p)
			}
			cn.mu.Unlock()
			for _, p := range ps {
				p.expire(now)
			}
		}
	}
}

// write sends one frame; a failed write fails the connection.
func (cn *conn) write(f []byte) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	return cn.writeHeld(f)
}

// writeHeld writes the parts of one frame, with wmu held by the caller.
func (cn *conn) writeHeld(parts ...[]byte) error {
	if cn.werr != nil {
		return cn.werr
	}
	if err := cn.failed(); err != nil {
		return err
	}
	cn.c.SetWriteDeadline(time.Now().Add(cn.timeout))
	bufs := net.Buffers(parts) // one writev on a plain connection
	if _, err := bufs.WriteTo(cn.c); err != nil {
		cn.werr = fmt.Errorf("%w: %v", errConnClosed, err)
		go cn.fail(err)
		return cn.werr
	}
	return nil
}

// reader is the live reader with consumer id, or nil.
func (cn *conn) reader(id uint64) *Reader {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.readers[id]
}

func (cn *conn) failed() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.err
}

// fail closes the connection and fails its producers and readers.
func (cn *conn) fail(err error) {
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return
	}
	cn.err = fmt.Errorf("%w: %v", errConnClosed, err)
	ps := cn.producers
	cn.producers = map[uint64]*Producer{}
	rs := cn.readers
	cn.readers = map[uint64]*Reader{}
	for _, ch := range cn.replies {
		close(ch)
	}
	cn.replies = map[uint64]chan command{}
	close(cn.done)
	cn.mu.Unlock()
	cn.c.Close()
	for _, p := range ps {
		p.fail(cn.err)
	}
	for _, rd := range rs {
		rd.fail(cn.err)
	}
}

// request sends a command with request id rid and waits for its reply.
func (cn *conn) request(ctx context.Context, rid uint64, frame []byte) (command, error) {
	ch := make(chan command, 2) // a producer not ready yet is answered twice
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return command{}, cn.err
	}
	cn.replies[rid] = ch
	cn.mu.Unlock()
	defer func() {
		cn.mu.Lock()
		delete(cn.replies, rid)
		cn.mu.Unlock()
	}()
	if err := cn.write(frame); err != nil {
		return command{}, err
	}
	t := time.NewTimer(cn.timeout)
	defer t.Stop()
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				return command{}, cn.failed()
			}
			if c.typ == cmdError {
				return command{}, serverError(c.body.uint(2), c.body.str(3))
			}
			if c.typ == cmdProducerSuccess && c.body.has(6) && c.body.uint(6) == 0 {
				continue // not ready yet (waiting for exclusive access): another answer follows
			}
			return c, nil
		case <-ctx.Done():
			return command{}, ctx.Err()
		case <-t.C:
			return command{}, fmt.Errorf("pulsar did not answer within %v", cn.timeout)
		}
	}
}

func (cn *conn) close() { cn.fail(errors.New("closed")) }
