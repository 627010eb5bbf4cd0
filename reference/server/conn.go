package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

// conn serves one client connection. Requests are handled one at a time, in order, as a Kafka
// broker does per connection, so responses go out in request order without reordering logic.
//
// Reading a request, and what bounds each step:
//
//	waiting for its first byte     the idle timeout (or the SASL deadline); no buffer is held
//	the rest of it                 the frame timeout (or the SASL deadline), from its first byte
//	its size                       at most max-request-bytes, the per-connection in-flight
//	                               budget, and before SASL authentication 512 KiB
//	its bytes                      read into a buffer that grows as they arrive (at most twice
//	                               what arrived), each growth paid from the server's in-flight
//	                               budget first: without room the connection waits, unread, at
//	                               most the frame timeout. An announced size costs nothing.
type conn struct {
	s  *Server
	c  net.Conn
	l  Listener
	rd *bufio.Reader // from the readers pool while a frame is read or read-ahead bytes wait; else nil

	// waiting is what the read deadline set last bounds.
	waiting deadlineKind

	// SASL state (SASL listeners): handshake seen, v0 handshake (bare PLAIN frame next), the
	// authenticated principal, and why to hang up after the response being written ("": don't).
	saslStarted bool
	rawSASL     bool
	principal   *auth.Principal
	closeAfter  string
	// saslDeadline is when an unauthenticated connection on a SASL listener is dropped; zero
	// once authenticated and on other listeners.
	saslDeadline time.Time
	// Re-authentication (KIP-368, reauth.go): when the session ends (zero: never), whether a
	// re-authentication's SaslHandshake has been answered and its SaslAuthenticate is due, and
	// when the last one began.
	sessionEnds      time.Time
	reauthenticating bool
	lastReauth       time.Time

	// Pipelined produces (pipeline.go): closed once the last one's response is written (nil:
	// none since the last drain), a slot per one being finished, and whether writing one
	// failed.
	tail   chan struct{}
	slots  chan struct{}
	broken atomic.Bool
}

// maxUnauthenticatedFrame bounds what a client may send before it authenticates (Kafka's
// sasl.server.max.receive.size), so an unauthenticated peer cannot make the server buffer much.
const maxUnauthenticatedFrame = 512 << 10

func newConn(s *Server, c net.Conn, l Listener) *conn {
	cn := &conn{s: s, c: c, l: l}
	if l.SASL {
		cn.saslDeadline = time.Now().Add(s.limits.SASLTimeout)
	}
	return cn
}

// logger is the connection's logger, made for each message: few connections ever log, and its
// attributes, kept, would cost memory for as long as the connection lives.
func (cn *conn) logger() *slog.Logger {
	args := []any{"remote", cn.c.RemoteAddr().String(), "listener", cn.l.Name}
	if cn.principal != nil {
		args = append(args, "principal", cn.principal.Role)
	}
	return cn.s.log.With(args...)
}

// handshakeTimeout bounds a TLS handshake, so a client that connects and stalls (or sends
// something that is not TLS) is dropped instead of holding a connection.
const handshakeTimeout = 10 * time.Second

// start serves the connection on goroutines of its own until it closes; the server counts it
// in s.wg until then.
func (cn *conn) start(ctx context.Context) {
	cn.s.cfg.Metrics.Opened()
	cn.goServe(ctx, true)
}

// goServe serves the connection on a new goroutine: its TLS handshake (with handshake), or
// frames until one has been answered and the next has not begun to arrive; another new
// goroutine then waits for that one. Serving grows a goroutine's stack (a TLS handshake, the
// codecs, Pulsar's client), and Go shrinks stacks only while collecting, which an idle server
// seldom does: so each wait for a frame starts on a small stack, and a grown stack is freed
// with its goroutine.
func (cn *conn) goServe(ctx context.Context, handshake bool) {
	go func() {
		if cn.stretch(ctx, handshake) {
			cn.goServe(ctx, false)
		} else {
			cn.close()
		}
	}()
}

// stretch is one goroutine's part of serving the connection; false closes it. A panic here
// (outside a handler, which safeCall covers) is logged and closes the connection.
func (cn *conn) stretch(ctx context.Context, handshake bool) (more bool) {
	defer func() {
		if r := recover(); r != nil {
			cn.logger().Error("recovered from a panic", "in", "connection", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			more = false
		}
	}()
	if handshake {
		return cn.handshake(ctx)
	}
	more = cn.next(ctx)
	for more && cn.rd != nil { // the next frame has begun to arrive: no wait to move off this stack
		more = cn.next(ctx)
	}
	return more
}

// handshake completes a TLS connection's handshake; false closes the connection.
func (cn *conn) handshake(ctx context.Context) bool {
	tc, ok := cn.c.(*tls.Conn)
	if !ok {
		return true
	}
	deadline := time.Now().Add(handshakeTimeout)
	if !cn.saslDeadline.IsZero() && cn.saslDeadline.Before(deadline) {
		deadline = cn.saslDeadline
	}
	hctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		cn.logger().Warn("closing connection: TLS handshake failed", "reason", err)
		return false
	}
	return true
}

// close closes the socket and stops counting the connection.
func (cn *conn) close() {
	cn.drain()
	cn.dropReader()
	cn.s.cfg.Metrics.Closed()
	cn.c.Close()
	cn.s.release(cn.c)
	cn.s.wg.Done()
}

// next reads and serves one frame; false closes the connection.
func (cn *conn) next(ctx context.Context) bool {
	frame, done, err := cn.readFrame(ctx)
	if err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			if cn.l.SASL && cn.principal == nil {
				err = fmt.Errorf("before SASL authentication: %w", err)
			}
			cn.logger().Warn("closing connection", "reason", err)
		}
		return false
	}
	release := &done
	defer func() { // the frame's in-flight bytes, given back even if serving it panics
		if *release != nil {
			(*release)()
		}
	}()
	if !cn.saslDeadline.IsZero() {
		// Before authentication a request's waits (asking Pulsar about a token) end with the
		// SASL deadline too.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, cn.saslDeadline)
		defer cancel()
	}
	if cn.rawSASL && cn.principal == nil {
		// After a v0 handshake the PLAIN message comes bare; success is an empty frame.
		_, err := cn.authenticate(ctx, frame)
		return err == nil && cn.send([]byte{0, 0, 0, 0})
	}
	return cn.handle(ctx, frame, release)
}

// readFrame reads the next frame; done gives its in-flight bytes back once it is answered.
func (cn *conn) readFrame(ctx context.Context) (frame []byte, done func(), err error) {
	lim := cn.s.limits
	var sz [4]byte
	cn.setReadDeadline(lim.IdleTimeout, forFrame)
	if cn.rd == nil {
		if _, err := io.ReadFull(cn.c, sz[:1]); err != nil {
			return nil, nil, cn.readErr(err)
		}
		cn.rd = readers.Get().(*bufio.Reader)
		cn.rd.Reset(cn.c)
	} else if sz[0], err = cn.rd.ReadByte(); err != nil {
		return nil, nil, cn.readErr(err)
	}
	cn.setReadDeadline(lim.FrameTimeout, forRestOfFrame)
	if _, err := io.ReadFull(cn.rd, sz[1:]); err != nil {
		return nil, nil, cn.readErr(fmt.Errorf("reading a frame's size: %w", unexpected(err)))
	}
	n, err := protocol.FrameSize(sz, cn.maxFrame())
	if err != nil {
		return nil, nil, err
	}
	// The budget pays for each buffer the frame grows into (allocated, not announced), so
	// peers announcing large frames and sending little cannot hold it from the others.
	var held int64
	done = func() { cn.s.inflight.Release(held); held = 0 }
	charge := func(bytes int) error {
		waited, err := cn.s.reserve(ctx, int64(bytes))
		if err != nil {
			return err
		}
		held += int64(bytes)
		if waited {
			cn.setReadDeadline(lim.FrameTimeout, forRestOfFrame) // the wait for room was ours, not the peer's
		}
		return nil
	}
	if frame, err = protocol.ReadBodyCharged(cn.rd, n, charge); err != nil {
		done()
		return nil, nil, cn.readErr(err)
	}
	if cn.rd.Buffered() == 0 {
		// Not held while the frame is served: thousands of connections can be waiting on
		// Pulsar at once, and each would keep its reader.
		cn.dropReader()
	}
	return frame, done, nil
}

// maxFrame is the largest frame the connection may send now.
func (cn *conn) maxFrame() int32 {
	lim := cn.s.limits
	limit := min(int64(cn.s.cfg.MaxRequestBytes), lim.MaxInflightBytesPerConn, lim.MaxInflightBytes)
	if cn.l.SASL && cn.principal == nil {
		limit = min(limit, maxUnauthenticatedFrame)
	}
	return int32(limit)
}

// deadlineKind is what a read deadline bounds.
type deadlineKind uint8

const (
	forFrame       deadlineKind = iota // the idle time before a frame
	forRestOfFrame                     // a frame that has started
	forSASL                            // authentication
)

// setReadDeadline sets the read deadline d from now, or at the SASL deadline when that is
// sooner, and remembers what it bounds.
func (cn *conn) setReadDeadline(d time.Duration, kind deadlineKind) {
	at := time.Now().Add(d)
	cn.waiting = kind
	if !cn.saslDeadline.IsZero() && cn.saslDeadline.Before(at) {
		at, cn.waiting = cn.saslDeadline, forSASL
	}
	cn.c.SetReadDeadline(at)
}

// readErr says why a read failed: a passed deadline is named by what it bounded.
func (cn *conn) readErr(err error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	switch lim := cn.s.limits; cn.waiting {
	case forFrame:
		return fmt.Errorf("idle for %v", lim.IdleTimeout)
	case forRestOfFrame:
		return fmt.Errorf("a request frame did not arrive within %v", lim.FrameTimeout)
	default:
		return fmt.Errorf("not authenticated within %v", lim.SASLTimeout)
	}
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// dropReader gives the connection's buffered reader back to the pool.
func (cn *conn) dropReader() {
	if cn.rd != nil {
		cn.rd.Reset(nil)
		readers.Put(cn.rd)
		cn.rd = nil
	}
}

// handle serves one frame; false closes the connection.
// handle serves one frame; a pipelined produce takes *release (the frame's in-flight bytes)
// and gives it back once answered.
func (cn *conn) handle(ctx context.Context, frame []byte, release *func()) (ok bool) {
	start := time.Now()
	cn.s.cfg.Metrics.Received(len(frame) + 4)
	hdr, rest, err := protocol.ParseHeader(frame)
	if err != nil {
		cn.logger().Warn("closing connection: bad request", "reason", err)
		return false
	}
	if hdr.Key != kmsg.Produce.Int16() {
		cn.drain() // served after every produce before it is answered
	}
	// Counted before the answer is written, so a client that scrapes after its answer sees it.
	counted := false
	count := func(ok bool) {
		if !counted {
			counted = true
			cn.s.cfg.Metrics.Request(kmsg.NameForKey(hdr.Key), hdr.Version, time.Since(start), !ok)
		}
	}
	defer func() { count(ok) }()
	// Every request that has a header is recorded, refused ones too: a version a client sent
	// above its level is exactly what the suite's wire check looks for.
	tap := func(body kmsg.Request) *wiretap.Call {
		return cn.s.cfg.Tap.Begin(clientID(hdr.ClientID), hdr.Key, hdr.Version, body)
	}
	if cn.l.SASL && cn.principal == nil && !saslExempt[hdr.Key] {
		// Before authentication only the header is read; the body is never decoded.
		tap(nil)
		cn.logger().Warn("closing connection: request before SASL authentication", "api", kmsg.NameForKey(hdr.Key),
			"key", hdr.Key, "version", hdr.Version, "correlation_id", hdr.CorrelationID)
		return false
	}
	if why := cn.sessionRefuses(hdr.Key); why != "" {
		tap(nil)
		cn.logger().Warn("closing connection: "+why, "api", kmsg.NameForKey(hdr.Key), "key", hdr.Key,
			"version", hdr.Version, "correlation_id", hdr.CorrelationID)
		return false
	}
	body, err := protocol.DecodeBody(hdr, rest, cn.l.Versions.Serves)
	call := tap(body)
	if err != nil {
		if errors.Is(err, protocol.ErrUnsupportedVersion) && hdr.Key == kmsg.ApiVersions.Int16() {
			// KIP-511: answer an unknown ApiVersions version with v0 and our versions, so the
			// client can retry with one we serve.
			resp := apiVersionsUnsupported(cn.l.Versions)
			call.End(resp)
			count(true)
			return cn.write(hdr.CorrelationID, resp)
		}
		cn.logger().Warn("closing connection: bad request", "reason", err, "api", kmsg.NameForKey(hdr.Key), "key", hdr.Key,
			"version", hdr.Version, "correlation_id", hdr.CorrelationID)
		return false
	}
	h := handlers[hdr.Key]
	rc := &reqCtx{s: cn.s, listener: &cn.l, header: hdr, conn: cn}
	resp, err := safeCall(withPrincipal(ctx, cn.principal), h, rc, body)
	if err != nil {
		args := []any{"api", kmsg.NameForKey(hdr.Key), "version", hdr.Version, "err", err}
		if p, ok := err.(panicError); ok {
			args = append(args, "stack", string(p.stack))
		}
		cn.logger().Error("closing connection: handler failed", args...)
		return false
	}
	if resp == nil {
		call.NoResponse()
		return true
	}
	if pr, ok := resp.(*pipelinedResponse); ok {
		done := *release
		*release = nil
		counted = true // once answered, below
		cn.pipeline(pr, func(resp kmsg.Response) bool {
			resp.SetVersion(hdr.Version)
			call.End(resp)
			cn.s.cfg.Metrics.Request(kmsg.NameForKey(hdr.Key), hdr.Version, time.Since(start), false)
			return cn.write(hdr.CorrelationID, resp)
		}, done)
		return true
	}
	cn.drain() // a produce answered at once still follows those pipelined before it
	resp.SetVersion(hdr.Version)
	call.End(resp)
	count(cn.closeAfter == "")
	if !cn.write(hdr.CorrelationID, resp) {
		return false
	}
	if cn.closeAfter != "" {
		cn.logger().Warn("closing connection after the response", "reason", cn.closeAfter, "api", kmsg.NameForKey(hdr.Key))
		return false
	}
	return true
}

func clientID(id *string) string {
	if id == nil {
		return ""
	}
	return *id
}

// saslExempt are the APIs a SASL listener serves before authentication.
var saslExempt = map[int16]bool{
	kmsg.ApiVersions.Int16(): true, kmsg.SASLHandshake.Int16(): true, kmsg.SASLAuthenticate.Int16(): true,
}

func (cn *conn) write(corr int32, resp kmsg.Response) bool {
	bp := responses.Get().(*[]byte)
	buf := protocol.AppendResponse((*bp)[:0], corr, resp)
	ok := cn.send(buf)
	if cap(buf) <= 1<<20 { // a larger one is left to the collector, not kept for the next
		*bp = buf[:0]
		responses.Put(bp)
	}
	return ok
}

// send writes b, which the peer must take within the frame timeout.
func (cn *conn) send(b []byte) bool {
	cn.s.cfg.Metrics.Sent(len(b))
	cn.c.SetWriteDeadline(time.Now().Add(cn.s.limits.FrameTimeout))
	if _, err := cn.c.Write(b); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			cn.logger().Warn("closing connection", "reason", fmt.Sprintf("a response was not taken within %v", cn.s.limits.FrameTimeout))
		}
		return false
	}
	return true
}

// safeCall turns a handler panic into an error, with the panic's stack, so one bad request
// cannot take the server down. What the handler locked must be unlocked by defer.
func safeCall(ctx context.Context, h handler, rc *reqCtx, req kmsg.Request) (resp kmsg.Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError{r, debug.Stack()}
		}
	}()
	return h.fn(ctx, rc, req)
}

type panicError struct {
	v     any
	stack []byte
}

func (p panicError) Error() string { return fmt.Sprint("handler panic: ", p.v) }

// recoverAs, deferred first in a goroutine a handler starts, logs a panic there with its
// stack and runs answer (which puts an error code in that goroutine's part of the response),
// so the request is still answered and the server goes on.
func recoverAs(log *slog.Logger, what string, answer func()) {
	if r := recover(); r != nil {
		log.Error("recovered from a panic", "in", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		answer()
	}
}
