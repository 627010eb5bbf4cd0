package env

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kop-conformance/kop-conformance/conformance/levelproxy"
	"github.com/kop-conformance/kop-conformance/fixtures/certs"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

// levelProxies are the level proxies of a target without level listeners of its own (Kafka,
// external targets) and the wire tap they record into, served to every suite process over
// loopback HTTP (the reference server has a tap of its own). Every listener they open is
// picked by the kernel and kept open, so their ports cannot clash.
type levelProxies struct {
	logDir, certDir string

	proxies []*levelproxy.Proxy
	tap     *wiretap.Tap
	tapSrv  *http.Server
	log     *os.File // levelproxy.log: refusals and dial failures
}

// serve starts a level proxy for every proxied listener of plan, in front of its protocol's
// main listener, and sets the listener's address to the proxy's.
func (lp *levelProxies) serve(plan *Plan) error {
	if lp.tap == nil {
		lp.tap = wiretap.New()
	}
	if lp.log == nil && lp.logDir != "" {
		if err := os.MkdirAll(lp.logDir, 0o755); err == nil {
			lp.log, _ = os.Create(filepath.Join(lp.logDir, "levelproxy.log"))
		}
	}
	for _, l := range plan.Proxies() {
		cfg := levelproxy.Config{Bootstrap: plan.Upstream(l), Level: l.Level, Tap: lp.tap, Logf: lp.logf()}
		var err error
		if cfg.Front, cfg.Back, err = lp.tlsFor(l.Protocol); err != nil {
			return err
		}
		p, addr, err := levelproxy.New(cfg)
		if err != nil {
			return err
		}
		lp.proxies = append(lp.proxies, p)
		l.Addr = addr
	}
	return nil
}

func (lp *levelProxies) logf() func(format string, args ...any) {
	lg := lp.log
	if lg == nil {
		return nil
	}
	return func(format string, args ...any) {
		fmt.Fprintf(lg, time.Now().UTC().Format(time.RFC3339Nano)+" "+format+"\n", args...)
	}
}

// tlsFor is how a proxy for a listener of proto talks TLS: TLS proxies terminate TLS as the
// listener behind them would (requiring client certificates for MTLS) and dial it over TLS
// (with the client certificate for MTLS). SASL frames are ordinary Kafka requests: plaintext
// proxies pass them through.
func (lp *levelProxies) tlsFor(proto Protocol) (front, back *tls.Config, err error) {
	spec := protocolSpecs[proto]
	if spec.security != "SSL" {
		return nil, nil, nil
	}
	if front, err = certs.ServerConfig(lp.certDir, spec.clientAuth); err != nil {
		return nil, nil, err
	}
	cert, key := "", ""
	if spec.clientAuth {
		cert, key = certs.ClientCertFile, certs.ClientKeyFile
	}
	back, err = certs.ClientConfig(lp.certDir, cert, key)
	return front, back, err
}

// serveTap serves the proxies' wire tap on loopback and returns its URL (Target.WireURL).
func (lp *levelProxies) serveTap() (string, error) {
	if lp.tap == nil {
		lp.tap = wiretap.New()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("wire tap listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(wiretap.Path, lp.tap.Handler())
	lp.tapSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go lp.tapSrv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// close stops the tap server and every proxy.
func (lp *levelProxies) close() {
	if lp.tapSrv != nil {
		lp.tapSrv.Close()
	}
	for _, p := range lp.proxies {
		p.Close()
	}
	if lp.log != nil {
		lp.log.Close()
	}
}
