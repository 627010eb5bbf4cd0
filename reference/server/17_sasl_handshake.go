package server

// SaslHandshake, key 17, versions 0–1.
//
// Starts SASL on a SASL_PLAINTEXT or SASL_SSL listener. PLAIN is the only mechanism; another
// gets UNSUPPORTED_SASL_MECHANISM with the list. v1 is followed by SaslAuthenticate requests;
// after v0 the client sends the PLAIN message as a bare size-prefixed frame (Kafka before 1.0).
// A handshake on a listener without SASL gets ILLEGAL_SASL_STATE, and so does a second one
// before authentication, which closes the connection, as Kafka. On an authenticated connection
// a v1 handshake begins a re-authentication (KIP-368, reauth.go) when the session has a
// lifetime and the last re-authentication began at least a second ago; otherwise
// ILLEGAL_SASL_STATE, and the connection stays open unless its session has ended.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.SASLHandshake, 0, 1, handleSASLHandshake) }

// saslMechanisms are the mechanisms SASL listeners offer.
var saslMechanisms = []string{"PLAIN"}

func handleSASLHandshake(_ context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	resp.SupportedMechanisms = saslMechanisms
	cn := rc.conn
	switch {
	case !rc.listener.SASL:
		resp.ErrorCode = kerr.IllegalSaslState.Code
	case cn.principal != nil:
		resp.ErrorCode = cn.beginReauthentication(req)
	case cn.saslStarted:
		resp.ErrorCode = kerr.IllegalSaslState.Code
		cn.closeAfter = "ILLEGAL_SASL_STATE: a second SaslHandshake"
	case req.Mechanism != "PLAIN":
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
	default:
		cn.saslStarted = true
		cn.rawSASL = req.Version == 0
	}
	return resp, nil
}
