package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// fuzzBound bounds each step of an exchange: an answer or a close, and the server's stop.
const fuzzBound = 10 * time.Second

// FuzzHandlers sends one generated request (fuzzgen_test.go) of an API version the server
// registers, then an ApiVersions probe, to a server over net.Pipe on the in-memory seams, on a
// plain or a SASL listener. The server must answer both with well-formed responses (each
// decodes at its version and encodes back to the same bytes) or close the connection, within
// a bound; must stop within a bound afterwards (no handler hangs); and must not panic, not
// even in a recovered handler.
func FuzzHandlers(f *testing.F) {
	apis := registered()
	for i := range apis {
		f.Add(uint16(i), false, []byte{}, []byte{})           // every API version, zero values
		f.Add(uint16(i), false, []byte{2, 3, 3, 3}, []byte{}) // short arrays, -1 and the largest integers
		f.Add(uint16(i), true, []byte{}, []byte{})            // before SASL authentication
	}
	// Oversized counts and lengths where requests keep their first arrays and strings.
	for _, s := range []struct {
		key     kmsg.Key
		version int16
		at      uint16
		m       byte
	}{
		{kmsg.Metadata, 1, 0, 0}, {kmsg.Metadata, 9, 0, 6}, {kmsg.Produce, 3, 8, 0}, {kmsg.Produce, 3, 0, 4},
		{kmsg.Fetch, 4, 17, 0}, {kmsg.Fetch, 11, 17, 3}, {kmsg.ListOffsets, 1, 4, 0}, {kmsg.CreateTopics, 0, 0, 0},
		{kmsg.CreateTopics, 5, 0, 6}, {kmsg.DeleteTopics, 0, 0, 2}, {kmsg.DeleteRecords, 0, 0, 0},
		{kmsg.DescribeConfigs, 0, 0, 0}, {kmsg.CreatePartitions, 0, 0, 0}, {kmsg.DescribeGroups, 0, 0, 0},
		{kmsg.DeleteGroups, 0, 0, 0}, {kmsg.OffsetFetch, 1, 0, 4}, {kmsg.JoinGroup, 0, 0, 5},
		{kmsg.SASLHandshake, 0, 0, 4}, {kmsg.SASLAuthenticate, 0, 0, 0}, {kmsg.ApiVersions, 3, 0, 6},
	} {
		for i, a := range apis {
			if a.key == s.key.Int16() && a.version == s.version {
				f.Add(uint16(i), false, []byte{}, []byte{byte(s.at >> 8), byte(s.at), s.m})
			}
		}
	}
	f.Fuzz(func(t *testing.T, pick uint16, sasl bool, fields, muts []byte) {
		api := apis[int(pick)%len(apis)]
		req := kmsg.RequestForKey(api.key)
		fill(reflect.ValueOf(req).Elem(), &source{fields}, 3)
		req.SetVersion(api.version)
		body, err := encode(req)
		if err != nil {
			t.Skip(err) // a value kmsg cannot encode: nothing to send
		}
		body = boundWaits(api, req.IsFlexible(), mutate(body, muts))
		exchange(t, sasl, frame(api.key, api.version, 1, req.IsFlexible(), body), api)
	})
}

func encode(req kmsg.Request) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kmsg cannot encode: %v", r)
		}
	}()
	return req.AppendTo(nil), nil
}

// boundWaits caps the waits a request may ask for (a Fetch's max wait, a JoinGroup's
// timeouts) at 100 ms, so that waiting as asked is not taken for a hang.
func boundWaits(api apiVersion, flexible bool, body []byte) []byte {
	req, err := protocol.ParseRequest(frame(api.key, api.version, 1, flexible, body)[4:], Implemented().Serves)
	if err != nil {
		return body
	}
	switch r := req.Body.(type) {
	case *kmsg.FetchRequest:
		r.MaxWaitMillis = min(r.MaxWaitMillis, 100)
	case *kmsg.JoinGroupRequest:
		r.SessionTimeoutMillis, r.RebalanceTimeoutMillis = min(r.SessionTimeoutMillis, 100), min(r.RebalanceTimeoutMillis, 100)
	default:
		return body
	}
	return req.Body.AppendTo(nil)
}

// exchange sends req and an ApiVersions probe to a new server and checks what comes back.
func exchange(t *testing.T, sasl bool, req []byte, api apiVersion) {
	pl := newPipeListener()
	opts := []envOpt{withListener(func(ln net.Listener) net.Listener { ln.Close(); return pl })}
	if sasl {
		opts = append(opts, withSASL())
	}
	e := newEnv(t, opts...)
	c := pl.dial()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		c.SetWriteDeadline(time.Now().Add(fuzzBound))
		if _, err := c.Write(req); err == nil {
			c.Write(frame(kmsg.ApiVersions.Int16(), 0, 2, false, nil))
		}
	}()
	readResponses(t, c, api)
	c.Close()
	<-wrote
	stopped := make(chan struct{})
	go func() {
		e.stop()
		e.srv.Shutdown()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(fuzzBound):
		t.Fatalf("the server did not stop within %v after %s v%d: a handler hangs", fuzzBound, kmsg.NameForKey(api.key), api.version)
	}
	if logged := e.logged.String(); strings.Contains(logged, "panic") {
		t.Fatalf("%s v%d made the server panic:\n%s", kmsg.NameForKey(api.key), api.version, logged)
	}
}

// readResponses reads until the probe's answer (correlation id 2) or a close.
func readResponses(t *testing.T, c net.Conn, api apiVersion) {
	c.SetReadDeadline(time.Now().Add(fuzzBound))
	for {
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return // closed: an allowed end
			}
			t.Fatalf("%s v%d: neither an answer nor a close within %v: %v", kmsg.NameForKey(api.key), api.version, fuzzBound, err)
		}
		n := binary.BigEndian.Uint32(size[:])
		if n < 4 || n > 64<<20 {
			t.Fatalf("a response frame of %d bytes", n)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("a response frame cut short: %v", err)
		}
		switch corr := int32(binary.BigEndian.Uint32(buf)); corr {
		case 1:
			wellFormed(t, api.key, api.version, buf[4:])
		case 2:
			wellFormed(t, kmsg.ApiVersions.Int16(), 0, buf[4:])
			return
		default:
			t.Fatalf("a response with correlation id %d; sent 1 and 2", corr)
		}
	}
}

// wellFormed fails t unless body is a response of key at version, exactly as kmsg encodes it.
func wellFormed(t *testing.T, key, version int16, body []byte) {
	resp := kmsg.ResponseForKey(key)
	resp.SetVersion(version)
	name := fmt.Sprintf("%s v%d response", kmsg.NameForKey(key), version)
	if resp.IsFlexible() && key != kmsg.ApiVersions.Int16() {
		if len(body) == 0 || body[0] != 0 {
			t.Fatalf("%s: no empty header tag section", name)
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("%s does not decode: %v", name, err)
	}
	if again := resp.AppendTo(nil); !bytes.Equal(again, body) {
		t.Fatalf("%s: %d bytes, of which kmsg reads %d", name, len(body), len(again))
	}
}

// pipeListener hands the server the far ends of net.Pipe connections.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
	case <-l.done:
	}
	return client
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
