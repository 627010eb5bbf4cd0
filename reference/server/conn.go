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
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

// conn serves one client connection. Requests are handled one at a time, in order, as a Kafka
// broker does per connection, so responses go out in request order without reordering logic.
type conn struct {
	s   *Server
	c   net.Conn
	l   Listener
	log *slog.Logger
	rd  *bufio.Reader
	wr  *bufio.Writer
	buf []byte

	// SASL state (SASL listeners): handshake seen, v0 handshake (bare PLAIN frame next), the
	// authenticated principal, and whether to hang up after the response being written.
	saslStarted bool
	rawSASL     bool
	principal   *auth.Principal
	closeAfter  bool
}

// maxUnauthenticatedFrame bounds what a client may send before it authenticates (Kafka's
// sasl.server.max.receive.size), so an unauthenticated peer cannot make the server buffer much.
const maxUnauthenticatedFrame = 512 << 10

func newConn(s *Server, c net.Conn, l Listener) *conn {
	return &conn{
		s: s, c: c, l: l,
		log: s.log.With("remote", c.RemoteAddr().String(), "listener", l.Name),
		rd:  bufio.NewReaderSize(c, 64<<10),
		wr:  bufio.NewWriterSize(c, 64<<10),
	}
}

// handshakeTimeout bounds a TLS handshake, so a client that connects and stalls (or sends
// something that is not TLS) is dropped instead of holding a connection.
const handshakeTimeout = 10 * time.Second

func (cn *conn) serve(ctx context.Context) {
	defer cn.c.Close()
	if tc, ok := cn.c.(*tls.Conn); ok {
		hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			cn.log.Warn("closing connection: TLS handshake failed", "reason", err)
			return
		}
	}
	for {
		limit := cn.s.cfg.MaxRequestBytes
		if cn.l.SASL && cn.principal == nil {
			limit = min(limit, maxUnauthenticatedFrame)
		}
		frame, err := protocol.ReadFrame(cn.rd, limit)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				if cn.l.SASL && cn.principal == nil {
					err = fmt.Errorf("before SASL authentication: %w", err)
				}
				cn.log.Warn("closing connection", "reason", err)
			}
			return
		}
		if cn.rawSASL && cn.principal == nil {
			// After a v0 handshake the PLAIN message comes bare; success is an empty frame.
			if cn.authenticate(ctx, frame) != nil {
				return
			}
			if _, err := cn.wr.Write([]byte{0, 0, 0, 0}); err != nil || cn.wr.Flush() != nil {
				return
			}
			continue
		}
		if !cn.handle(ctx, frame) {
			return
		}
	}
}

// handle serves one frame; false closes the connection.
func (cn *conn) handle(ctx context.Context, frame []byte) bool {
	req, err := protocol.ParseRequest(frame, cn.l.Versions.Serves)
	// Every request that has a header is recorded, refused ones too: a version a client sent
	// above its level is exactly what the suite's wire check looks for.
	var call *wiretap.Call
	if !errors.Is(err, protocol.ErrTruncatedHeader) {
		call = cn.s.cfg.Tap.Begin(clientID(req.ClientID), req.Key, req.Version, req.Body)
	}
	if err != nil {
		if errors.Is(err, protocol.ErrUnsupportedVersion) && req.Key == kmsg.ApiVersions.Int16() {
			// KIP-511: answer an unknown ApiVersions version with v0 and our versions, so the
			// client can retry with one we serve.
			resp := apiVersionsUnsupported(cn.l.Versions)
			call.End(resp)
			return cn.write(req.CorrelationID, resp)
		}
		name := kmsg.NameForKey(req.Key)
		cn.log.Warn("closing connection: bad request", "reason", err, "api", name, "key", req.Key,
			"version", req.Version, "correlation_id", req.CorrelationID)
		return false
	}
	if cn.l.SASL && cn.principal == nil && !saslExempt[req.Key] {
		cn.log.Warn("closing connection: request before SASL authentication", "api", kmsg.NameForKey(req.Key),
			"correlation_id", req.CorrelationID)
		return false
	}
	h := handlers[req.Key]
	rc := &reqCtx{s: cn.s, listener: &cn.l, header: req.Header, conn: cn}
	resp, err := safeCall(ctx, h, rc, req.Body)
	if err != nil {
		cn.log.Error("closing connection: handler failed", "api", kmsg.NameForKey(req.Key),
			"version", req.Version, "err", err)
		return false
	}
	if resp == nil {
		call.NoResponse()
		return true
	}
	resp.SetVersion(req.Version)
	call.End(resp)
	return cn.write(req.CorrelationID, resp) && !cn.closeAfter
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
	cn.buf = protocol.AppendResponse(cn.buf[:0], corr, resp)
	if _, err := cn.wr.Write(cn.buf); err != nil {
		return false
	}
	if err := cn.wr.Flush(); err != nil {
		return false
	}
	if cap(cn.buf) > 1<<20 {
		cn.buf = nil // do not pin a large buffer to an idle connection
	}
	return true
}

// safeCall turns a handler panic into an error so one bad request cannot take the server down.
func safeCall(ctx context.Context, h handler, rc *reqCtx, req kmsg.Request) (resp kmsg.Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError{r}
		}
	}()
	return h.fn(ctx, rc, req)
}

type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprint("handler panic: ", p.v) }
