// Package levelproxy makes any Kafka endpoint look like a broker of one protocol level. It
// forwards bytes unchanged except three responses: ApiVersions is capped to the level's table
// (franz-go's kversion, i.e. what that Kafka release advertised), and Metadata and
// FindCoordinator name the proxy instead of the real brokers so clients stay on it.
// Clients that negotiate versions (kafka-go) then run at that level against real Kafka.
//
// A request above the level (other than ApiVersions, which Kafka answers with its own list,
// KIP-511) is refused the way the reference server's level listeners refuse it: logged, and
// the connection closed. With a wire tap every request is recorded by client id, so the suite
// can prove which versions a client sent at a level on any target.
//
// For fault specs it can also lose Produce responses: the broker has written the batch, the
// client never hears so and retries, as after a network failure (DropProduceResponses).
package levelproxy

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

const maxFrame = 100 << 20

// Proxy fronts one cluster at one level. Each upstream broker gets its own local listener.
type Proxy struct {
	level    string
	versions *kversion.Versions
	front    *tls.Config // TLS towards clients (nil: plaintext)
	back     *tls.Config // TLS towards the brokers (nil: plaintext)
	tap      *wiretap.Tap
	logf     func(format string, args ...any)

	mu        sync.Mutex
	listeners map[string]net.Listener // upstream host:port -> local listener
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup

	dropProduce atomic.Int32 // Produce responses still to lose
	dropped     atomic.Int32
}

// Dropped is how many Produce responses the proxy has lost so far.
func (p *Proxy) Dropped() int { return int(p.dropped.Load()) }

// DropProduceResponses makes the proxy swallow the next n Produce responses, closing the
// client's connection instead of answering.
func (p *Proxy) DropProduceResponses(n int) { p.dropProduce.Store(int32(n)) }

// Config is one proxy: the cluster it fronts and the level it emulates.
type Config struct {
	Bootstrap string // upstream host:port
	Level     string
	// Front terminates TLS towards clients, enforcing its client authentication the way the
	// broker's listener would; Back dials the brokers over TLS. The proxy must read the
	// protocol to cap versions, so it cannot pass TLS through.
	Front, Back *tls.Config
	// Tap records every request by client id (nil: nothing recorded).
	Tap *wiretap.Tap
	// Logf receives refusals and dial failures (nil: discarded).
	Logf func(format string, args ...any)
}

// Start returns a proxy for level and the local address that stands for bootstrap.
func Start(bootstrap, level string) (*Proxy, string, error) {
	return New(Config{Bootstrap: bootstrap, Level: level})
}

// New starts a proxy and returns it with the local address that stands for cfg.Bootstrap.
func New(cfg Config) (*Proxy, string, error) {
	lv, ok := dims.LevelNamed(cfg.Level)
	if !ok {
		return nil, "", fmt.Errorf("levelproxy: unknown level %q", cfg.Level)
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	p := &Proxy{level: cfg.Level, versions: lv.Versions(), front: cfg.Front, back: cfg.Back, tap: cfg.Tap, logf: logf,
		listeners: map[string]net.Listener{}, conns: map[net.Conn]struct{}{}}
	addr, err := p.listenerFor(cfg.Bootstrap)
	if err != nil {
		return nil, "", err
	}
	return p, addr, nil
}

// Close stops every listener and connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for _, l := range p.listeners {
		l.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// listenerFor returns the local address standing for an upstream broker, opening it if needed.
func (p *Proxy) listenerFor(upstream string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return "", errors.New("levelproxy closed")
	}
	if l, ok := p.listeners[upstream]; ok {
		return l.Addr().String(), nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	if p.front != nil {
		l = tls.NewListener(l, p.front)
	}
	p.listeners[upstream] = l
	p.wg.Add(1)
	go p.accept(l, upstream)
	return l.Addr().String(), nil
}

func (p *Proxy) accept(l net.Listener, upstream string) {
	defer p.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c, upstream)
		}()
	}
}

func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.closed {
			return false
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

// reqInfo is what the response to a request needs: how to decode it and where to record it.
type reqInfo struct {
	key, version int16
	call         *wiretap.Call
}

// serve pipes one client connection to upstream, rewriting the responses it must.
func (p *Proxy) serve(client net.Conn, upstream string) {
	defer client.Close()
	var server net.Conn
	var err error
	if p.back != nil {
		cfg := p.back.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(upstream)
		}
		server, err = tls.Dial("tcp", upstream, cfg)
	} else {
		server, err = net.Dial("tcp", upstream)
	}
	if err != nil {
		p.logf("level %s: dialing %s: %v", p.level, upstream, err)
		return
	}
	defer server.Close()
	if !p.track(client, true) || !p.track(server, true) {
		return
	}
	defer p.track(client, false)
	defer p.track(server, false)

	var mu, wmu sync.Mutex // wmu orders writes to the client: the proxy answers some requests itself
	pending := map[int32]reqInfo{}
	toClient := func(f []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_, err := client.Write(f)
		return err
	}
	done := make(chan struct{}, 2)
	go func() { // client -> server
		defer func() { done <- struct{}{} }()
		rd := bufio.NewReader(client)
		raw := false // after a SaslHandshake v0 the next frame is bare SASL bytes, not a request
		for {
			f, err := readFrame(rd)
			if err != nil || len(f) < 12 {
				return
			}
			if raw {
				raw = false
			} else {
				ri, forward := p.request(f, client.RemoteAddr())
				if !forward {
					return // refused: the deferred closes end both connections
				}
				raw = ri.key == kmsg.SASLHandshake.Int16() && ri.version == 0
				if resp := p.answerLocally(ri); resp != nil {
					ri.call.End(resp)
					if toClient(protocol.AppendResponse(nil, int32(binary.BigEndian.Uint32(f[8:])), resp)) != nil {
						return
					}
					continue
				}
				if ri.key >= 0 {
					mu.Lock()
					pending[int32(binary.BigEndian.Uint32(f[8:]))] = ri
					mu.Unlock()
				}
			}
			if _, err := server.Write(f); err != nil {
				return
			}
		}
	}()
	go func() { // server -> client
		defer func() { done <- struct{}{} }()
		rd := bufio.NewReader(server)
		for {
			f, err := readFrame(rd)
			if err != nil || len(f) < 8 {
				return
			}
			corr := int32(binary.BigEndian.Uint32(f[4:]))
			mu.Lock()
			ri, ok := pending[corr]
			delete(pending, corr)
			mu.Unlock()
			if ok && ri.key == kmsg.Produce.Int16() && p.dropProduce.Add(-1) >= 0 {
				p.dropped.Add(1)
				return // lost: the deferred closes end both connections
			}
			if ok {
				f = p.response(f, corr, ri)
			}
			if toClient(f) != nil {
				return
			}
		}
	}()
	<-done // either side closing ends both
}

// request records a client's request and decides whether to forward it. The returned info
// has key -1 when no response is expected (Produce with acks=0).
func (p *Proxy) request(frame []byte, from net.Addr) (reqInfo, bool) {
	req, err := protocol.ParseRequest(frame[4:], func(int16, int16) bool { return true })
	if errors.Is(err, protocol.ErrTruncatedHeader) {
		return reqInfo{key: -1}, true // not a request the proxy can read; the broker will judge it
	}
	id := ""
	if req.ClientID != nil {
		id = *req.ClientID
	}
	ri := reqInfo{key: req.Key, version: req.Version, call: p.tap.Begin(id, req.Key, req.Version, req.Body)}
	if max, ok := p.versions.LookupMaxKeyVersion(req.Key); req.Key != kmsg.ApiVersions.Int16() && (!ok || req.Version > max) {
		p.logf("level %s: closing connection from %s: %s v%d is above the level (client %q)", p.level, from, kmsg.NameForKey(req.Key), req.Version, id)
		ri.call.End(nil)
		return ri, false
	}
	if pr, ok := req.Body.(*kmsg.ProduceRequest); ok && pr.Acks == 0 {
		ri.call.NoResponse()
		ri.key = -1
	}
	return ri, true
}

func readFrame(rd io.Reader) ([]byte, error) {
	var sz [4]byte
	if _, err := io.ReadFull(rd, sz[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(sz[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	f := make([]byte, 4+n)
	copy(f, sz[:])
	_, err := io.ReadFull(rd, f[4:])
	return f, err
}

// answerLocally answers an ApiVersions request newer than the level the way a broker of that
// level does (KIP-511: v0, UNSUPPORTED_VERSION, its own list) without bothering the broker: a
// newer broker would accept it, and a SASL broker would then expect the handshake next and drop
// the client's retried ApiVersions. Anything else gets nil (forward it).
func (p *Proxy) answerLocally(ri reqInfo) kmsg.Response {
	max, _ := p.versions.LookupMaxKeyVersion(kmsg.ApiVersions.Int16())
	if ri.key != kmsg.ApiVersions.Int16() || ri.version <= max {
		return nil
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	for k := int16(0); k <= kmsg.MaxKey; k++ {
		if v, ok := p.versions.LookupMaxKeyVersion(k); ok {
			ak := kmsg.NewApiVersionsResponseApiKey()
			ak.ApiKey, ak.MaxVersion = k, v
			resp.ApiKeys = append(resp.ApiKeys, ak)
		}
	}
	return resp
}

// response records a response and returns the frame to send to the client: ApiVersions,
// Metadata and FindCoordinator rewritten, anything else as it came.
func (p *Proxy) response(frame []byte, corr int32, ri reqInfo) []byte {
	switch ri.key {
	case kmsg.ApiVersions.Int16(), kmsg.Metadata.Int16(), kmsg.FindCoordinator.Int16(), kmsg.Fetch.Int16():
	default:
		ri.call.End(nil)
		return frame
	}
	resp, err := decodeResponse(frame, ri)
	ri.call.End(resp)
	if err != nil || ri.key == kmsg.Fetch.Int16() {
		return frame
	}
	switch r := resp.(type) {
	case *kmsg.ApiVersionsResponse:
		p.capVersions(r)
		if max, _ := p.versions.LookupMaxKeyVersion(18); ri.version > max {
			// A broker of this level does not know this ApiVersions version: it answers v0
			// with UNSUPPORTED_VERSION and its list (KIP-511), and the client retries.
			r.ErrorCode = 35
			r.SetVersion(0)
		}
	case *kmsg.MetadataResponse:
		for i := range r.Brokers {
			if h, port, ok := p.local(r.Brokers[i].Host, r.Brokers[i].Port); ok {
				r.Brokers[i].Host, r.Brokers[i].Port = h, port
			}
		}
	case *kmsg.FindCoordinatorResponse:
		if h, port, ok := p.local(r.Host, r.Port); ok && r.Host != "" {
			r.Host, r.Port = h, port
		}
		for i := range r.Coordinators {
			if h, port, ok := p.local(r.Coordinators[i].Host, r.Coordinators[i].Port); ok {
				r.Coordinators[i].Host, r.Coordinators[i].Port = h, port
			}
		}
	}
	return protocol.AppendResponse(nil, corr, resp)
}

// decodeResponse reads a response frame (size, correlation id, body) of the request's version.
func decodeResponse(frame []byte, ri reqInfo) (kmsg.Response, error) {
	resp := kmsg.ResponseForKey(ri.key)
	resp.SetVersion(ri.version)
	body := frame[8:]
	if resp.IsFlexible() && ri.key != kmsg.ApiVersions.Int16() {
		rd := kbin.Reader{Src: body}
		kmsg.SkipTags(&rd)
		body = rd.Src
	}
	err := resp.ReadFrom(body)
	if err != nil && ri.key == kmsg.ApiVersions.Int16() {
		// An old-version error answer (v0 body) to a new ApiVersions request.
		resp.SetVersion(0)
		err = resp.ReadFrom(frame[8:])
	}
	return resp, err
}

func (p *Proxy) capVersions(r *kmsg.ApiVersionsResponse) {
	kept := r.ApiKeys[:0]
	for _, k := range r.ApiKeys {
		max, ok := p.versions.LookupMaxKeyVersion(k.ApiKey)
		if !ok {
			continue
		}
		if k.MaxVersion > max {
			k.MaxVersion = max
		}
		if k.MinVersion <= k.MaxVersion {
			kept = append(kept, k)
		}
	}
	r.ApiKeys = kept
	// Features (KIP-584) came after every level covered here.
	r.SupportedFeatures, r.FinalizedFeatures, r.FinalizedFeaturesEpoch = nil, nil, -1
}

func (p *Proxy) local(host string, port int32) (string, int32, bool) {
	addr, err := p.listenerFor(net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		return "", 0, false
	}
	h, ps, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(ps)
	return h, int32(n), true
}
