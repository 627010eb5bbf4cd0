// Package levelproxy makes any Kafka endpoint look like a broker of one protocol level. It
// forwards bytes unchanged except three responses: ApiVersions is capped to the level's table
// (franz-go's kversion, i.e. what that Kafka release advertised), and Metadata and
// FindCoordinator name the proxy instead of the real brokers so clients stay on it.
// Clients that negotiate versions (kafka-go) then run at that level against real Kafka.
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
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

const maxFrame = 100 << 20

// Proxy fronts one cluster at one level. Each upstream broker gets its own local listener.
type Proxy struct {
	level    string
	versions *kversion.Versions
	front    *tls.Config // TLS towards clients (nil: plaintext)
	back     *tls.Config // TLS towards the brokers (nil: plaintext)

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

// Start returns a proxy for level and the local address that stands for bootstrap.
func Start(bootstrap, level string) (*Proxy, string, error) {
	return StartTLS(bootstrap, level, nil, nil)
}

// StartTLS is Start for TLS listeners: the proxy terminates TLS with front (whose client
// authentication it enforces the way the broker's listener would) and dials the brokers with
// back. It must read the protocol to cap versions, so it cannot pass TLS through.
func StartTLS(bootstrap, level string, front, back *tls.Config) (*Proxy, string, error) {
	lv, ok := protocol.Levels[level]
	if !ok {
		return nil, "", fmt.Errorf("levelproxy: unknown level %q", level)
	}
	p := &Proxy{level: level, versions: lv(), front: front, back: back, listeners: map[string]net.Listener{}, conns: map[net.Conn]struct{}{}}
	addr, err := p.listenerFor(bootstrap)
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

type reqInfo struct{ key, version int16 }

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
		return
	}
	defer server.Close()
	if !p.track(client, true) || !p.track(server, true) {
		return
	}
	defer p.track(client, false)
	defer p.track(server, false)

	var mu sync.Mutex
	pending := map[int32]reqInfo{} // only the requests whose responses are rewritten
	done := make(chan struct{}, 2)
	go func() { // client -> server
		defer func() { done <- struct{}{} }()
		rd := bufio.NewReader(client)
		for {
			f, err := readFrame(rd)
			if err != nil || len(f) < 12 {
				return
			}
			key := int16(binary.BigEndian.Uint16(f[4:]))
			if key == 18 || key == 3 || key == 10 || key == 0 {
				mu.Lock()
				pending[int32(binary.BigEndian.Uint32(f[8:]))] = reqInfo{key, int16(binary.BigEndian.Uint16(f[6:]))}
				mu.Unlock()
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
			if ok && ri.key == 0 {
				if p.dropProduce.Add(-1) >= 0 {
					p.dropped.Add(1)
					return // lost: the deferred closes end both connections
				}
				ok = false
			}
			if ok {
				f = p.rewrite(f, corr, ri)
			}
			if _, err := client.Write(f); err != nil {
				return
			}
		}
	}()
	<-done // either side closing ends both
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

// rewrite returns the frame to send to the client; on any decoding trouble the original.
func (p *Proxy) rewrite(frame []byte, corr int32, ri reqInfo) []byte {
	resp := kmsg.ResponseForKey(ri.key)
	resp.SetVersion(ri.version)
	body := frame[8:]
	if resp.IsFlexible() && ri.key != 18 {
		rd := kbin.Reader{Src: body}
		kmsg.SkipTags(&rd)
		body = rd.Src
	}
	if err := resp.ReadFrom(body); err != nil {
		if ri.key == 18 { // an old-version error answer (v0 body) to a new ApiVersions request
			resp.SetVersion(0)
			if resp.ReadFrom(frame[8:]) != nil {
				return frame
			}
		} else {
			return frame
		}
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
