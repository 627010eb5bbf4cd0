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
	// failsAndCloses authenticates with msg once before ran and expects the failure: code, a
	// message that says no more than message, and the reason in the server's log only.
	failsAndCloses := func(before func(*env, *client), msg string, code *kerr.Error, message, logged string) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			c := e.dial()
			before(e, c)
			r := c.authenticate(msg, v)
			wantCode(t, "authenticate", r.ErrorCode, code)
			if r.ErrorMessage == nil || *r.ErrorMessage != message {
				t.Errorf("message %q, want %q", clientID(r.ErrorMessage), message)
			}
			expectClosed(t, c.conn)
			e.wantLogged(t, logged)
		}
	}
	const generic = "authentication failed"
	handshook := func(_ *env, c *client) { c.handshake("PLAIN", 1) }
	pulsarDown := func(e *env, c *client) {
		e.auth.Fail(errors.New("dial tcp pulsar-admin.internal:8080: connection refused"))
		handshook(e, c)
	}
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
			run: failsAndCloses(handshook, "\x00admin\x00nope", kerr.SaslAuthenticationFailed, generic, "wrong password")},
		{name: "a malformed PLAIN message is SASL_AUTHENTICATION_FAILED and closes", opts: sasl,
			run: failsAndCloses(handshook, "admin:admin-pw", kerr.SaslAuthenticationFailed, generic, "malformed PLAIN")},
		{name: "an unreachable authenticator fails closed and does not say where it is", opts: sasl,
			run: failsAndCloses(pulsarDown, "\x00admin\x00admin-pw", kerr.SaslAuthenticationFailed, generic, "pulsar-admin.internal:8080")},
		{name: "before the handshake ILLEGAL_SASL_STATE and closes", opts: sasl,
			run: failsAndCloses(func(*env, *client) {}, "\x00admin\x00admin-pw", kerr.IllegalSaslState,
				"SaslAuthenticate without a SaslHandshake v1 first, or after authentication", "ILLEGAL_SASL_STATE")},
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
	// Before authentication only the header is read: a request other than ApiVersions and
	// SASL closes the connection whatever its body or version, without decoding it.
	garbage := []byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3} // an array of 2^31-1 elements in 3 bytes
	cases := []struct {
		name   string
		send   func(c *client)
		logged []string
	}{
		{"a Metadata request", func(c *client) { c.send(kmsg.NewPtrMetadataRequest(), 1) },
			[]string{"request before SASL authentication", "api=Metadata"}},
		{"a Metadata request with a malformed body", func(c *client) { c.conn.Write(frame(3, 1, 1, false, garbage)) },
			[]string{"request before SASL authentication", "api=Metadata"}},
		{"a Produce request at a version not served", func(c *client) { c.conn.Write(frame(0, 99, 1, false, garbage)) },
			[]string{"request before SASL authentication", "api=Produce"}},
		{"an unknown API key", func(c *client) { c.conn.Write(frame(999, 0, 1, false, garbage)) },
			[]string{"request before SASL authentication", "key=999"}},
		{"an oversized frame", func(c *client) { c.conn.Write(kbin.AppendInt32(nil, maxUnauthenticatedFrame+1)) },
			[]string{"before SASL authentication: frame exceeds maximum request size"}},
		{"a bad bare PLAIN frame after a v0 handshake", func(c *client) {
			c.handshake("PLAIN", 0)
			bad := []byte("\x00admin\x00wrong")
			c.conn.Write(append(kbin.AppendInt32(nil, int32(len(bad))), bad...))
		}, []string{"SASL authentication failed", "wrong password"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withSASL())
			c := e.dial()
			tc.send(c)
			expectHungUp(t, c.conn)
			e.wantLogged(t, tc.logged...)
			if strings.Contains(e.logged.String(), "malformed") {
				t.Errorf("the body was decoded:\n%s", e.logged.String())
			}
			e.dial().served() // ApiVersions is served
		})
	}
}
