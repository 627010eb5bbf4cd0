package server

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (c *client) handshake(mech string, v int16) *kmsg.SASLHandshakeResponse {
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = mech
	return c.do(req, v).(*kmsg.SASLHandshakeResponse)
}

// served checks the connection is open and serving: an ApiVersions round trip.
func (c *client) served() {
	c.t.Helper()
	if r := c.do(kmsg.NewPtrApiVersionsRequest(), 0).(*kmsg.ApiVersionsResponse); r.ErrorCode != 0 {
		c.t.Fatalf("ApiVersions: %v", kerr.ErrorForCode(r.ErrorCode))
	}
}

// illegalButOpen is a case where user ("": on a listener without SASL) makes a SASL call out of
// turn: ILLEGAL_SASL_STATE, and the connection stays open.
func illegalButOpen(user string, call func(c *client, v int16) int16) func(*testing.T, *env, int16) {
	return func(t *testing.T, e *env, v int16) {
		c := e.connect(user)
		wantCode(t, "out of turn", call(c, v), kerr.IllegalSaslState)
		c.served()
	}
}

func handshakes(c *client, v int16) int16 { return c.handshake("PLAIN", v).ErrorCode }

func authenticates(c *client, v int16) int16 {
	return c.authenticate("\x00admin\x00admin-pw", v).ErrorCode
}

func TestSASLHandshake(t *testing.T) {
	forVersions(t, kmsg.SASLHandshake, []versionCase{
		{name: "PLAIN is offered and starts SASL", opts: sasl, run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			r := c.handshake("PLAIN", v)
			wantCode(t, "handshake", r.ErrorCode, nil)
			if len(r.SupportedMechanisms) != 1 || r.SupportedMechanisms[0] != "PLAIN" {
				t.Fatalf("mechanisms %v", r.SupportedMechanisms)
			}
			if v == 0 { // a bare PLAIN frame follows; success is an empty frame
				msg := []byte("\x00admin\x00admin-pw")
				c.conn.Write(append(kbin.AppendInt32(nil, int32(len(msg))), msg...))
				var empty [4]byte
				if _, err := io.ReadFull(c.rd, empty[:]); err != nil || empty != [4]byte{} {
					t.Fatalf("want an empty frame, got %v %v", empty, err)
				}
			} else {
				wantCode(t, "authenticate", c.authenticate("\x00admin\x00admin-pw", 1).ErrorCode, nil)
			}
			c.served()
		}},
		{name: "another mechanism is UNSUPPORTED_SASL_MECHANISM with the list", opts: sasl, run: func(t *testing.T, e *env, v int16) {
			r := e.dial().handshake("SCRAM-SHA-512", v)
			wantCode(t, "handshake", r.ErrorCode, kerr.UnsupportedSaslMechanism)
			if len(r.SupportedMechanisms) != 1 || r.SupportedMechanisms[0] != "PLAIN" {
				t.Fatalf("mechanisms %v", r.SupportedMechanisms)
			}
		}},
		{name: "a second handshake is ILLEGAL_SASL_STATE and closes", opts: sasl, run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			c.handshake("PLAIN", 1)
			wantCode(t, "second handshake", c.handshake("PLAIN", v).ErrorCode, kerr.IllegalSaslState)
			expectClosed(t, c.conn)
		}},
		{name: "after authentication ILLEGAL_SASL_STATE, still open", opts: sasl, run: illegalButOpen("admin", handshakes)},
		{name: "without SASL ILLEGAL_SASL_STATE, still open", run: illegalButOpen("", handshakes)},
	})
}

func TestSASLAuthenticate(t *testing.T) {
	// failsAndCloses authenticates with msg once before ran and expects the failure.
	failsAndCloses := func(before func(*env, *client), msg, reason string, code *kerr.Error) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			c := e.dial()
			before(e, c)
			r := c.authenticate(msg, v)
			wantCode(t, "authenticate", r.ErrorCode, code)
			if r.ErrorMessage == nil || !strings.Contains(*r.ErrorMessage, reason) {
				t.Errorf("message %v, want one mentioning %q", r.ErrorMessage, reason)
			}
			expectClosed(t, c.conn)
		}
	}
	handshook := func(_ *env, c *client) { c.handshake("PLAIN", 1) }
	pulsarDown := func(e *env, c *client) { e.auth.Fail(errors.New("pulsar is down")); handshook(e, c) }
	forVersions(t, kmsg.SASLAuthenticate, []versionCase{
		{name: "good credentials, then requests are served", opts: sasl, run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			c.handshake("PLAIN", 1)
			r := c.authenticate("\x00admin\x00admin-pw", v)
			wantCode(t, "authenticate", r.ErrorCode, nil)
			if r.SessionLifetimeMillis != 0 {
				t.Errorf("session lifetime %d, want 0: sessions do not expire", r.SessionLifetimeMillis)
			}
			c.served()
		}},
		{name: "a wrong password is SASL_AUTHENTICATION_FAILED and closes", opts: sasl,
			run: failsAndCloses(handshook, "\x00admin\x00nope", "wrong password", kerr.SaslAuthenticationFailed)},
		{name: "a malformed PLAIN message is SASL_AUTHENTICATION_FAILED and closes", opts: sasl,
			run: failsAndCloses(handshook, "admin:admin-pw", "malformed PLAIN", kerr.SaslAuthenticationFailed)},
		{name: "an unreachable authenticator fails closed", opts: sasl,
			run: failsAndCloses(pulsarDown, "\x00admin\x00admin-pw", "pulsar is down", kerr.SaslAuthenticationFailed)},
		{name: "before the handshake ILLEGAL_SASL_STATE and closes", opts: sasl,
			run: failsAndCloses(func(*env, *client) {}, "\x00admin\x00admin-pw", "SaslHandshake v1 first", kerr.IllegalSaslState)},
		{name: "after a v0 handshake the request is taken for the bare PLAIN message and closes", opts: sasl, run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			c.handshake("PLAIN", 0)
			c.send(kmsg.NewPtrSASLAuthenticateRequest(), v)
			expectClosed(t, c.conn)
		}},
		{name: "after authentication ILLEGAL_SASL_STATE, still open", opts: sasl, run: illegalButOpen("admin", authenticates)},
		{name: "without SASL ILLEGAL_SASL_STATE, still open", run: illegalButOpen("", authenticates)},
	})
}

func TestBeforeAuthentication(t *testing.T) {
	e := newEnv(t, withSASL())

	t.Run("a request other than ApiVersions and SASL closes the connection", func(t *testing.T) {
		c := e.dial()
		c.send(kmsg.NewPtrMetadataRequest(), 1)
		expectClosed(t, c.conn)
	})
	t.Run("an oversized frame closes the connection", func(t *testing.T) {
		c := e.dial()
		c.conn.Write(kbin.AppendInt32(nil, maxUnauthenticatedFrame+1))
		expectClosed(t, c.conn)
	})
	t.Run("a bad bare PLAIN frame after a v0 handshake closes the connection", func(t *testing.T) {
		c := e.dial()
		c.handshake("PLAIN", 0)
		bad := []byte("\x00admin\x00wrong")
		c.conn.Write(append(kbin.AppendInt32(nil, int32(len(bad))), bad...))
		expectClosed(t, c.conn)
	})
	t.Run("ApiVersions is served", func(t *testing.T) { e.dial().served() })
}
