package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/fixtures/certs"
	"github.com/kop-conformance/kop-conformance/reference/internal/config"
)

// startTLS serves the protocol layer on a TLS listener with the given client authentication,
// using freshly generated certificates; it returns the address and the certificate directory.
func startTLS(t *testing.T, clientAuth string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := certs.Generate(dir, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	tcfg, err := config.TLS{CertFile: dir + "/" + certs.ServerCertFile, KeyFile: dir + "/" + certs.ServerKeyFile,
		CAFile: dir + "/" + certs.CAFile}.ServerConfig(clientAuth)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withListener(func(ln net.Listener) net.Listener { return tls.NewListener(ln, tcfg) }))
	return e.addr, dir
}

// apiVersionsOver sends ApiVersions v1 and checks a well-formed answer comes back.
func apiVersionsOver(t *testing.T, c net.Conn) error {
	t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(1)
	if _, err := c.Write(frame(kmsg.ApiVersions.Int16(), 1, 9, false, req.AppendTo(nil))); err != nil {
		return err
	}
	var sz [4]byte
	if _, err := io.ReadFull(c, sz[:]); err != nil {
		return err
	}
	return nil
}

func TestTLSListener(t *testing.T) {
	cases := []struct {
		name       string
		clientAuth string
		cert, key  string // client certificate presented, if any
		wantErr    string // "" means ApiVersions is answered
	}{
		{"server TLS only", "none", "", "", ""},
		{"mutual TLS with a trusted client certificate", "required", certs.ClientCertFile, certs.ClientKeyFile, ""},
		{"mutual TLS without a client certificate", "required", "", "", "certificate"},
		{"mutual TLS with an untrusted client certificate", "required", certs.RogueCertFile, certs.RogueKeyFile, "certificate"},
		{"requested: no certificate is fine", "requested", "", "", ""},
		{"requested: an untrusted certificate is not", "requested", certs.RogueCertFile, certs.RogueKeyFile, "certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, dir := startTLS(t, tc.clientAuth)
			cfg, err := certs.ClientConfig(dir, tc.cert, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
			if err == nil {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				// TLS 1.3: the server's verdict on the client certificate arrives with the first read.
				err = apiVersionsOver(t, c)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want ApiVersions answered, got %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error mentioning %q, got %v", tc.wantErr, err)
			}
		})
	}
}

// TestTLSListenerGarbage: bytes that are not a TLS handshake end the connection; the server
// keeps serving.
func TestTLSListenerGarbage(t *testing.T) {
	addr, dir := startTLS(t, "none")
	for _, junk := range [][]byte{
		frame(kmsg.ApiVersions.Int16(), 1, 1, false, nil), // a plaintext Kafka request on a TLS port
		[]byte("\x16\x03\x01\xff\xffnot really a client hello"),
		make([]byte, 4096),
	} {
		c := dial(t, addr)
		c.Write(junk)
		// The server may answer with a TLS alert; then it must close, not wait for more.
		// (a reset counts as closed: the server hung up with junk unread).
		var ne net.Error
		if _, err := io.Copy(io.Discard, c); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("junk %q: connection not closed: %v", junk[:8], err)
		}
	}
	cfg, err := certs.ClientConfig(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := apiVersionsOver(t, c); err != nil {
		t.Fatalf("after garbage, a good client: %v", err)
	}
}
