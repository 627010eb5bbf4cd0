package server

// SaslAuthenticate, key 36, versions 0–2.
//
// Carries the SASL/PLAIN message after a v1 SaslHandshake. The username names the Pulsar
// tenant (or tenant/namespace) and the password is "token:<jwt>", verified by Pulsar (package
// auth). Bad credentials, and an authenticator that cannot be asked, get
// SASL_AUTHENTICATION_FAILED with the message "authentication failed" (the reason is logged, not
// sent) and the connection is closed after the response; a request out of order gets
// ILLEGAL_SASL_STATE and, before authentication on a SASL listener, is closed too.
// v1+ answers the session lifetime (KIP-368, reauth.go): the time until the token's exp claim,
// capped by --connections-max-reauth when set; 0 when neither limits it. After a
// re-authentication's SaslHandshake it re-verifies the credentials, which must name the
// connection's principal: another principal, or bad credentials, get SASL_AUTHENTICATION_FAILED
// and the connection is closed after the response.

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
)

func init() { register(kmsg.SASLAuthenticate, 0, 2, handleSASLAuthenticate) }

func handleSASLAuthenticate(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	cn := rc.conn
	if !rc.listener.SASL || !cn.saslStarted || cn.rawSASL || cn.principal != nil && !cn.reauthenticating {
		msg := "SaslAuthenticate without a SaslHandshake v1 first, or after authentication"
		resp.ErrorCode, resp.ErrorMessage = kerr.IllegalSaslState.Code, &msg
		// Kafka hangs up on a broken exchange; outside one (no SASL, or done) it only answers.
		if rc.listener.SASL && cn.principal == nil {
			cn.closeAfter = "ILLEGAL_SASL_STATE: " + msg
		}
		return resp, nil
	}
	lifetime, err := cn.authenticate(ctx, req.SASLAuthBytes)
	if err != nil {
		// The reason is logged, never sent: it may name Pulsar's address or its answer.
		msg := authFailed
		resp.ErrorCode, resp.ErrorMessage = kerr.SaslAuthenticationFailed.Code, &msg
		cn.closeAfter = "SASL authentication failed"
		return resp, nil
	}
	if lifetime > 0 {
		resp.SessionLifetimeMillis = max(1, lifetime.Milliseconds())
	}
	return resp, nil
}

// authFailed is the message of every failed authentication, whatever the reason.
const authFailed = "authentication failed"

// authenticate checks a PLAIN message and makes its principal the connection's, for the
// session lifetime it returns (0: no limit). Errors that are not about the credentials (Pulsar
// unreachable) are reported as such, not as bad passwords.
func (cn *conn) authenticate(ctx context.Context, msg []byte) (time.Duration, error) {
	user, password, err := auth.ParsePlain(msg)
	if err == nil {
		var p auth.Principal
		if p, err = cn.s.cfg.Auth.Authenticate(ctx, user, password); err == nil {
			var lifetime time.Duration
			if lifetime, err = cn.startSession(p, user); err == nil {
				return lifetime, nil
			}
		}
	}
	if errors.Is(err, auth.ErrCredentials) {
		cn.logger().Warn("SASL authentication failed", "reason", err)
	} else {
		cn.logger().Error("SASL authentication could not be checked", "err", err)
	}
	return 0, err
}
