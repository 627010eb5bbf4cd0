package server

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
)

// SASL sessions and re-authentication (KIP-368), as Kafka's broker does them. A session lasts
// until the token's "exp" claim, and no longer than --connections-max-reauth when that is set
// (Kafka's connections.max.reauth.ms; 0, the default, sets no limit); SaslAuthenticate v1+
// tells the client this lifetime. Once it has passed, every request but a re-authentication
// closes the connection, so a revoked or expired token stops working on connections made with
// it. A client re-authenticates on its live connection with SaslHandshake v1 and
// SaslAuthenticate: the new token is verified by Pulsar like the first, must name the same
// principal (another one is refused and the connection closed), and starts a new session.
// Between the two only SaslAuthenticate is served. As in Kafka, a session without a lifetime
// cannot be re-authenticated (nothing to renew: its SaslHandshake gets ILLEGAL_SASL_STATE and
// the connection stays open), nor can one re-authenticate more than once a second.

// minReauthInterval is the least time between two re-authentications of a connection.
const minReauthInterval = time.Second

// sessionLifetime is how long a session of p lasts from now: until its credentials expire,
// capped by maxReauth when that is set; 0 is no limit. Negative when p has already expired.
func sessionLifetime(p auth.Principal, maxReauth time.Duration, now time.Time) time.Duration {
	var d time.Duration
	if !p.Expires.IsZero() {
		if d = p.Expires.Sub(now); d <= 0 {
			return -1
		}
	}
	if maxReauth > 0 && (d == 0 || maxReauth < d) {
		d = maxReauth
	}
	return d
}

// sessionRefuses says why a request with API key may not be served on an authenticated
// connection ("" when it may): during a re-authentication only SaslAuthenticate is, and once
// the session has ended only a re-authentication.
func (cn *conn) sessionRefuses(key int16) string {
	switch {
	case cn.reauthenticating && key != kmsg.SASLAuthenticate.Int16():
		return "request during SASL re-authentication"
	case cn.sessionEnds.IsZero() || cn.s.now().Before(cn.sessionEnds):
		return ""
	case key == kmsg.SASLHandshake.Int16() || cn.reauthenticating:
		return ""
	}
	return "SASL session expired; the client did not re-authenticate"
}

// beginReauthentication answers a SaslHandshake on an authenticated connection: 0 starts a
// re-authentication, an error code refuses it (and, when the session has ended, closes the
// connection after the answer).
func (cn *conn) beginReauthentication(req *kmsg.SASLHandshakeRequest) int16 {
	now := cn.s.now()
	var code int16
	switch {
	case cn.sessionEnds.IsZero(), req.Version < 1, now.Sub(cn.lastReauth) < minReauthInterval:
		// No lifetime to renew; a v0 handshake cannot start one (its bare frames are for the
		// first authentication); or too soon after the last.
		code = kerr.IllegalSaslState.Code
	case req.Mechanism != "PLAIN":
		code = kerr.UnsupportedSaslMechanism.Code
		cn.closeAfter = "re-authentication with another SASL mechanism"
		return code
	default:
		cn.reauthenticating, cn.lastReauth, cn.rawSASL = true, now, false
		return 0
	}
	if !now.Before(cn.sessionEnds) && !cn.sessionEnds.IsZero() {
		cn.closeAfter = "SASL session expired; re-authentication refused"
	}
	return code
}

// startSession makes p the connection's principal for its session lifetime, which it returns
// (0: no limit). On re-authentication p must be the principal the connection already has.
func (cn *conn) startSession(p auth.Principal, user string) (time.Duration, error) {
	if cn.principal != nil && p.Role != cn.principal.Role {
		return 0, fmt.Errorf("%w: re-authentication as %q on a connection authenticated as %q", auth.ErrCredentials, p.Role, cn.principal.Role)
	}
	now := cn.s.now()
	lifetime := sessionLifetime(p, cn.s.limits.MaxReauth, now)
	if lifetime < 0 {
		return 0, fmt.Errorf("%w: the credentials have expired", auth.ErrCredentials)
	}
	cn.sessionEnds = time.Time{}
	if lifetime > 0 {
		cn.sessionEnds = now.Add(lifetime)
	}
	if cn.principal == nil {
		cn.logger().Info("authenticated", "principal", p.Role, "user", user, "session", lifetime)
	} else {
		cn.logger().Info("re-authenticated", "user", user, "session", lifetime)
	}
	cn.principal, cn.saslDeadline, cn.reauthenticating = &p, time.Time{}, false
	return lifetime, nil
}
