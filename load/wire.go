package load

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Conn is one Kafka connection speaking kmsg requests, one at a time as a broker serves
// them. It is far cheaper than a client library's connection: thousands fit in one process
// on a small machine, and what is timed is the server, not a client's batching or retries.
type Conn struct {
	c        net.Conn
	rd       *bufio.Reader
	fmt      *kmsg.RequestFormatter
	corr     int32
	buf      []byte
	versions map[int16]int16 // API key -> highest version the server serves (ApiVersions)
	// LastSize is the size on the wire of the last answer read.
	LastSize int
}

// maxResponse bounds a response frame: an all-topics Metadata of 10,000 topics is about 1 MiB.
const maxResponse = 256 << 20

// ErrTimeout is a request the server did not answer before the caller's deadline.
var ErrTimeout = errors.New("no answer in time")

// Dial connects to addr, sending clientID with every request.
func Dial(ctx context.Context, addr, clientID string) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, rd: bufio.NewReaderSize(c, 16<<10), fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// Do sends req at its version and reads the answer, until ctx's deadline at most. A
// connection whose request timed out is out of step and must be closed.
func (c *Conn) Do(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Time{}
	}
	if err := c.c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Unix(1, 0)) }) // cancellation too
	defer stop()
	c.corr++
	c.buf = c.fmt.AppendRequest(c.buf[:0], req, c.corr)
	if _, err := c.c.Write(c.buf); err != nil {
		return nil, wireErr(ctx, err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c.rd, size[:]); err != nil {
		return nil, wireErr(ctx, err)
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > maxResponse {
		return nil, fmt.Errorf("%s: response of %d bytes", kmsg.NameForKey(req.Key()), n)
	}
	c.LastSize = int(n) + 4
	body := make([]byte, n)
	if _, err := io.ReadFull(c.rd, body); err != nil {
		return nil, wireErr(ctx, err)
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != c.corr {
		return nil, fmt.Errorf("%s: correlation id %d, want %d", kmsg.NameForKey(req.Key()), got, c.corr)
	}
	body = body[4:]
	resp := req.ResponseKind()
	// Flexible responses have a tagged header, except ApiVersions' (KIP-511).
	if resp.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		if len(body) == 0 {
			return nil, fmt.Errorf("%s: empty response", kmsg.NameForKey(req.Key()))
		}
		body = body[1:] // no tags are sent to clients
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decoding %s v%d: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp, nil
}

// wireErr is ErrTimeout for a request cut short by its deadline, else err.
func wireErr(ctx context.Context, err error) error {
	var ne net.Error
	if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	return err
}

// ApiVersions asks which versions the server serves (v3, or v0 from a server that refuses
// v3) and remembers them for Version. Its answer is the first one on a new connection.
func (c *Conn) ApiVersions(ctx context.Context) error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "kop-load", "1"
	resp, err := c.Do(ctx, req)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.ApiVersionsResponse)
	if r.ErrorCode == kerr.UnsupportedVersion.Code {
		req.Version = 0
		if resp, err = c.Do(ctx, req); err != nil {
			return err
		}
		r = resp.(*kmsg.ApiVersionsResponse)
	}
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return fmt.Errorf("ApiVersions: %w", err)
	}
	c.versions = make(map[int16]int16, len(r.ApiKeys))
	for _, k := range r.ApiKeys {
		c.versions[k.ApiKey] = k.MaxVersion
	}
	return nil
}

// Version is the version to send key at: want, or the server's highest when that is lower.
func (c *Conn) Version(key kmsg.Key, want int16) (int16, error) {
	top, ok := c.versions[key.Int16()]
	if !ok {
		return 0, fmt.Errorf("the server does not serve %s", kmsg.NameForKey(key.Int16()))
	}
	return min(want, top), nil
}

// versioned sets req's version from the server's (Version) and sends it.
func (c *Conn) versioned(ctx context.Context, req kmsg.Request, want int16) (kmsg.Response, error) {
	v, err := c.Version(kmsg.Key(req.Key()), want)
	if err != nil {
		return nil, err
	}
	req.SetVersion(v)
	return c.Do(ctx, req)
}

// dialReady connects and asks ApiVersions, within 10 s.
func dialReady(ctx context.Context, addr, clientID string) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, clientID)
	if err != nil {
		return nil, err
	}
	if err := c.ApiVersions(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
