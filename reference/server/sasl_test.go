package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// fakeAuth accepts alice with password "token:good" and grants nothing to anyone.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, user, password string) (auth.Principal, error) {
	if user == "public" && password == "token:good" {
		return auth.Principal{Role: "alice"}, nil
	}
	return auth.Principal{}, fmt.Errorf("%w: Pulsar did not accept the token", auth.ErrCredentials)
}

func (fakeAuth) Allowed(context.Context, string, auth.Action, string) (bool, error) {
	return false, nil
}

func startSASL(t *testing.T) string {
	t.Helper()
	versions, _ := protocol.Cap(Implemented(), "")
	s := New(Config{MaxRequestBytes: 4 << 20, MaxMessageBytes: 1 << 20, Auth: fakeAuth{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.Serve(ctx, ln, Listener{Name: "sasl", AdvertisedHost: "127.0.0.1", AdvertisedPort: 1, Versions: versions, SASL: true})
	t.Cleanup(func() { cancel(); s.Shutdown() })
	return ln.Addr().String()
}

// roundTrip sends req at version v and decodes the response.
func roundTrip(t *testing.T, c net.Conn, req kmsg.Request, v int16) kmsg.Response {
	t.Helper()
	req.SetVersion(v)
	flexible := req.IsFlexible()
	c.Write(frame(req.Key(), v, 5, flexible, req.AppendTo(nil)))
	_, body := readResponse(t, c)
	resp := req.ResponseKind()
	resp.SetVersion(v)
	if flexible {
		body = body[1:] // response header tags (ApiVersions, which has none, is not sent here)
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decoding %T: %v", resp, err)
	}
	return resp
}

func handshake(t *testing.T, c net.Conn, mech string, v int16) *kmsg.SASLHandshakeResponse {
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = mech
	return roundTrip(t, c, req, v).(*kmsg.SASLHandshakeResponse)
}

func authenticate(t *testing.T, c net.Conn, msg string) *kmsg.SASLAuthenticateResponse {
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = []byte(msg)
	return roundTrip(t, c, req, 1).(*kmsg.SASLAuthenticateResponse)
}

func TestSASLPlain(t *testing.T) {
	addr := startSASL(t)

	t.Run("good credentials, then requests are served", func(t *testing.T) {
		c := dial(t, addr)
		if r := handshake(t, c, "PLAIN", 1); r.ErrorCode != 0 {
			t.Fatalf("handshake: %v", kerr.ErrorForCode(r.ErrorCode))
		}
		if r := authenticate(t, c, "\x00public\x00token:good"); r.ErrorCode != 0 {
			t.Fatalf("authenticate: %v %v", kerr.ErrorForCode(r.ErrorCode), r.ErrorMessage)
		}
		// An authenticated principal without grants is refused per group, on an open connection.
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey = "g"
		if r := roundTrip(t, c, fc, 2).(*kmsg.FindCoordinatorResponse); r.ErrorCode != kerr.GroupAuthorizationFailed.Code {
			t.Fatalf("find coordinator: got %v, want GROUP_AUTHORIZATION_FAILED", kerr.ErrorForCode(r.ErrorCode))
		}
	})

	t.Run("unknown mechanism lists PLAIN", func(t *testing.T) {
		c := dial(t, addr)
		r := handshake(t, c, "SCRAM-SHA-512", 1)
		if r.ErrorCode != kerr.UnsupportedSaslMechanism.Code || len(r.SupportedMechanisms) != 1 || r.SupportedMechanisms[0] != "PLAIN" {
			t.Fatalf("got %v %v", kerr.ErrorForCode(r.ErrorCode), r.SupportedMechanisms)
		}
	})

	bad := []struct {
		name string
		msg  string
		want string
	}{
		{"wrong password", "\x00public\x00token:bad", "did not accept"},
		{"malformed PLAIN message", "public:token:good", "malformed PLAIN"},
	}
	for _, tc := range bad {
		t.Run(tc.name+" fails and closes", func(t *testing.T) {
			c := dial(t, addr)
			handshake(t, c, "PLAIN", 1)
			r := authenticate(t, c, tc.msg)
			if r.ErrorCode != kerr.SaslAuthenticationFailed.Code || r.ErrorMessage == nil || !strings.Contains(*r.ErrorMessage, tc.want) {
				t.Fatalf("got %v %v, want SASL_AUTHENTICATION_FAILED mentioning %q", kerr.ErrorForCode(r.ErrorCode), r.ErrorMessage, tc.want)
			}
			expectClosed(t, c)
		})
	}

	t.Run("authenticate before the handshake is ILLEGAL_SASL_STATE and closes", func(t *testing.T) {
		c := dial(t, addr)
		if r := authenticate(t, c, "\x00public\x00token:good"); r.ErrorCode != kerr.IllegalSaslState.Code {
			t.Fatalf("got %v", kerr.ErrorForCode(r.ErrorCode))
		}
		expectClosed(t, c)
	})

	t.Run("a request before authentication closes the connection", func(t *testing.T) {
		c := dial(t, addr)
		md := kmsg.NewPtrMetadataRequest()
		md.SetVersion(1)
		c.Write(frame(md.Key(), 1, 1, false, md.AppendTo(nil)))
		expectClosed(t, c)
	})

	t.Run("an oversized frame before authentication closes the connection", func(t *testing.T) {
		c := dial(t, addr)
		c.Write(kbin.AppendInt32(nil, maxUnauthenticatedFrame+1))
		expectClosed(t, c)
	})

	t.Run("v0 handshake: bare PLAIN frames", func(t *testing.T) {
		c := dial(t, addr)
		if r := handshake(t, c, "PLAIN", 0); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
		msg := []byte("\x00public\x00token:good")
		c.Write(append(kbin.AppendInt32(nil, int32(len(msg))), msg...))
		var empty [4]byte
		if _, err := io.ReadFull(c, empty[:]); err != nil || empty != [4]byte{} {
			t.Fatalf("want an empty frame, got %v %v", empty, err)
		}
		c2 := dial(t, addr)
		handshake(t, c2, "PLAIN", 0)
		bad := []byte("\x00public\x00token:bad")
		c2.Write(append(kbin.AppendInt32(nil, int32(len(bad))), bad...))
		expectClosed(t, c2)
	})
}
