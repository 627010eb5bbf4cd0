package server

import (
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/config"
)

// SASL sessions (KIP-368): their lifetime, their end, and re-authentication on the connection.

// testClock is the clock the server times sessions by; tests move it.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// sessionEnv is an env on a SASL listener whose sessions are timed by the clock it returns
// (starting now) and last at most maxReauth (0: no limit); admin's credentials expire adminExp
// after the clock's start (0: never).
func sessionEnv(t *testing.T, maxReauth, adminExp time.Duration) (*env, *testClock) {
	clk := &testClock{now: time.Now()}
	e := newEnv(t, withSASL(), withConn(func(l *config.ConnLimits) { l.MaxReauth = maxReauth }),
		func(s *setup) { s.server = func(srv *Server) { srv.hooks.now = clk.Now } })
	if adminExp > 0 {
		e.auth.Expire("admin", clk.Now().Add(adminExp))
	}
	return e, clk
}

// login authenticates c as user (password user-pw) with SaslAuthenticate v.
func (c *client) login(user string, v int16) *kmsg.SASLAuthenticateResponse {
	c.t.Helper()
	if r := c.handshake("PLAIN", 1); r.ErrorCode != 0 {
		c.t.Fatalf("handshake: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	return c.authenticate("\x00"+user+"\x00"+user+"-pw", v)
}

func TestSessionLifetime(t *testing.T) {
	cases := []struct {
		name              string
		maxReauth, expiry time.Duration
		want              time.Duration
	}{
		{"no expiry and no limit: 0", 0, 0, 0},
		{"the token's expiry", 0, time.Hour, time.Hour},
		{"--connections-max-reauth for a token without expiry", 10 * time.Minute, 0, 10 * time.Minute},
		{"capped by --connections-max-reauth", 10 * time.Minute, time.Hour, 10 * time.Minute},
		{"a token expiring before the cap", 10 * time.Minute, 5 * time.Minute, 5 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forVersions(t, kmsg.SASLAuthenticate, []versionCase{{name: "v1+", from: 1, run: func(t *testing.T, _ *env, v int16) {
				e, _ := sessionEnv(t, tc.maxReauth, tc.expiry)
				c := e.dial()
				r := c.login("admin", v)
				wantCode(t, "authenticate", r.ErrorCode, nil)
				if got := time.Duration(r.SessionLifetimeMillis) * time.Millisecond; got != tc.want {
					t.Errorf("session lifetime %v, want %v", got, tc.want)
				}
				c.served()
			}}})
		})
	}
}

func TestSessionEnds(t *testing.T) {
	forVersions(t, kmsg.SASLAuthenticate, []versionCase{
		{name: "a request after the session's end closes the connection", run: func(t *testing.T, _ *env, v int16) {
			e, clk := sessionEnv(t, time.Minute, 0)
			c := e.dial()
			wantCode(t, "authenticate", c.login("admin", v).ErrorCode, nil)
			clk.add(time.Minute - time.Millisecond)
			c.served()
			clk.add(time.Millisecond)
			c.send(kmsg.NewPtrApiVersionsRequest(), 0)
			expectClosed(t, c.conn)
			e.wantLogged(t, "SASL session expired")
		}},
		{name: "so does a token's expiry, for a v0 client too (no lifetime told)", below: 1, run: func(t *testing.T, _ *env, v int16) {
			e, clk := sessionEnv(t, 0, time.Hour)
			c := e.dial()
			wantCode(t, "authenticate", c.login("admin", v).ErrorCode, nil)
			clk.add(time.Hour)
			c.send(kmsg.NewPtrMetadataRequest(), 1)
			expectClosed(t, c.conn)
		}},
		{name: "without a lifetime the session never ends", run: func(t *testing.T, _ *env, v int16) {
			e, clk := sessionEnv(t, 0, 0)
			c := e.dial()
			wantCode(t, "authenticate", c.login("admin", v).ErrorCode, nil)
			clk.add(1000 * time.Hour)
			c.served()
		}},
	})
}

func TestReauthentication(t *testing.T) {
	forVersions(t, kmsg.SASLAuthenticate, []versionCase{
		{name: "after the session's end the client re-authenticates and goes on", from: 1, run: func(t *testing.T, _ *env, v int16) {
			e, clk := sessionEnv(t, time.Minute, 0)
			c := e.dial()
			c.login("admin", v)
			clk.add(2 * time.Minute)
			r := c.login("admin", v)
			wantCode(t, "re-authenticate", r.ErrorCode, nil)
			if r.SessionLifetimeMillis != time.Minute.Milliseconds() {
				t.Errorf("new session lifetime %dms, want a minute", r.SessionLifetimeMillis)
			}
			c.served()
			clk.add(59 * time.Second)
			c.served() // the new session runs from the re-authentication
			e.wantLogged(t, "re-authenticated")
		}},
		{name: "before the session's end too; the credentials are checked again", from: 1, run: func(t *testing.T, _ *env, v int16) {
			e, _ := sessionEnv(t, time.Minute, 0)
			c := e.dial()
			c.login("admin", v)
			c.handshake("PLAIN", 1)
			r := c.authenticate("\x00admin\x00wrong", v)
			wantCode(t, "re-authenticate with a wrong password", r.ErrorCode, kerr.SaslAuthenticationFailed)
			expectClosed(t, c.conn)
		}},
		{name: "as another principal SASL_AUTHENTICATION_FAILED and closes", from: 1, run: func(t *testing.T, _ *env, v int16) {
			e, _ := sessionEnv(t, time.Minute, 0)
			c := e.dial()
			c.login("consumer", v)
			r := c.login("admin", v)
			wantCode(t, "re-authenticate as admin", r.ErrorCode, kerr.SaslAuthenticationFailed)
			if r.ErrorMessage == nil || *r.ErrorMessage != authFailed {
				t.Errorf("message %v, want %q", r.ErrorMessage, authFailed)
			}
			expectClosed(t, c.conn)
			e.wantLogged(t, `re-authentication as \"admin\" on a connection authenticated as \"consumer\"`)
		}},
		{name: "an expired token cannot renew the session", from: 1, run: func(t *testing.T, _ *env, v int16) {
			e, clk := sessionEnv(t, 0, time.Hour)
			c := e.dial()
			c.login("admin", v)
			clk.add(time.Hour) // the server's clock passes the token's expiry
			r := c.login("admin", v)
			wantCode(t, "re-authenticate", r.ErrorCode, kerr.SaslAuthenticationFailed)
			expectClosed(t, c.conn)
		}},
		{name: "only SaslAuthenticate is served between the handshake and it", from: 1, run: func(t *testing.T, _ *env, v int16) {
			e, _ := sessionEnv(t, time.Minute, 0)
			c := e.dial()
			c.login("admin", v)
			wantCode(t, "handshake", c.handshake("PLAIN", 1).ErrorCode, nil)
			c.send(kmsg.NewPtrMetadataRequest(), 1)
			expectClosed(t, c.conn)
			e.wantLogged(t, "request during SASL re-authentication")
		}},
	})
}

func TestReauthenticationHandshake(t *testing.T) {
	forVersions(t, kmsg.SASLHandshake, []versionCase{
		{name: "a session without lifetime has nothing to renew: ILLEGAL_SASL_STATE, still open", run: func(t *testing.T, _ *env, v int16) {
			e, _ := sessionEnv(t, 0, 0)
			c := e.dial()
			c.login("admin", 1)
			wantCode(t, "handshake", c.handshake("PLAIN", v).ErrorCode, kerr.IllegalSaslState)
			c.served()
		}},
		{name: "at most one re-authentication a second", from: 1, run: func(t *testing.T, _ *env, v int16) {
			e, clk := sessionEnv(t, time.Minute, 0)
			c := e.dial()
			c.login("admin", 1)
			wantCode(t, "first", c.login("admin", 1).ErrorCode, nil)
			wantCode(t, "second at once", c.handshake("PLAIN", v).ErrorCode, kerr.IllegalSaslState)
			c.served()
			clk.add(time.Second)
			wantCode(t, "a second later", c.handshake("PLAIN", v).ErrorCode, nil)
		}},
		{name: "a v0 handshake cannot re-authenticate; after the session's end it closes", below: 1, run: func(t *testing.T, _ *env, v int16) {
			e, clk := sessionEnv(t, time.Minute, 0)
			c := e.dial()
			c.login("admin", 1)
			wantCode(t, "v0 handshake", c.handshake("PLAIN", v).ErrorCode, kerr.IllegalSaslState)
			c.served()
			clk.add(time.Minute)
			wantCode(t, "v0 handshake after the end", c.handshake("PLAIN", v).ErrorCode, kerr.IllegalSaslState)
			expectClosed(t, c.conn)
		}},
		{name: "another mechanism UNSUPPORTED_SASL_MECHANISM and closes", from: 1, run: func(t *testing.T, _ *env, v int16) {
			e, _ := sessionEnv(t, time.Minute, 0)
			c := e.dial()
			c.login("admin", 1)
			wantCode(t, "handshake", c.handshake("SCRAM-SHA-256", v).ErrorCode, kerr.UnsupportedSaslMechanism)
			expectClosed(t, c.conn)
		}},
	})
}
