package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
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
}

func newConn(s *Server, c net.Conn, l Listener) *conn {
	return &conn{
		s: s, c: c, l: l,
		log: s.log.With("remote", c.RemoteAddr().String(), "listener", l.Name),
		rd:  bufio.NewReaderSize(c, 64<<10),
		wr:  bufio.NewWriterSize(c, 64<<10),
	}
}

func (cn *conn) serve(ctx context.Context) {
	defer cn.c.Close()
	for {
		frame, err := protocol.ReadFrame(cn.rd, cn.s.cfg.MaxRequestBytes)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				cn.log.Warn("closing connection", "reason", err)
			}
			return
		}
		if !cn.handle(ctx, frame) {
			return
		}
	}
}

// handle serves one frame; false closes the connection.
func (cn *conn) handle(ctx context.Context, frame []byte) bool {
	req, err := protocol.ParseRequest(frame, cn.l.Versions.Serves)
	if err != nil {
		if errors.Is(err, protocol.ErrUnsupportedVersion) && req.Key == kmsg.ApiVersions.Int16() {
			// KIP-511: answer an unknown ApiVersions version with v0 and our versions, so the
			// client can retry with one we serve.
			return cn.write(req.CorrelationID, apiVersionsUnsupported(cn.l.Versions))
		}
		name := kmsg.NameForKey(req.Key)
		cn.log.Warn("closing connection: bad request", "reason", err, "api", name, "key", req.Key,
			"version", req.Version, "correlation_id", req.CorrelationID)
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
		return true
	}
	resp.SetVersion(req.Version)
	return cn.write(req.CorrelationID, resp)
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

func (p panicError) Error() string { return "handler panic: " + fmtAny(p.v) }
