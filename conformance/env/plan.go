package env

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// Protocol is how a client reaches a listener. SSL, MTLS and SASL are the keys of
// clients.Target.Secure; PLAINTEXT is Target.Bootstrap and Target.Levels.
type Protocol string

const (
	Plaintext Protocol = "PLAINTEXT"
	SSL       Protocol = "SSL"  // server TLS
	MTLS      Protocol = "MTLS" // TLS requiring a client certificate
	SASL      Protocol = "SASL" // SASL without TLS (PLAIN; on Kafka also SCRAM and OAUTHBEARER)
)

// protocolSpec is where a protocol's listeners live in a container and what they speak.
type protocolSpec struct {
	port       int    // the main listener's container port
	levelPort  int    // the first level listener's; the others follow in level order
	security   string // the Kafka security protocol (also the reference listener's PROTOCOL)
	clientAuth bool   // client certificates required
}

var protocolSpecs = map[Protocol]protocolSpec{
	Plaintext: {port: 9092, levelPort: 9101, security: "PLAINTEXT"},
	SSL:       {port: 9094, levelPort: 9201, security: "SSL"},
	MTLS:      {port: 9095, levelPort: 9301, security: "SSL", clientAuth: true},
	SASL:      {port: 9096, levelPort: 9401, security: "SASL_PLAINTEXT"},
}

// Serving says what answers a planned listener.
type Serving int

const (
	// Published: the server in the container, on a container port published on a loopback
	// host port.
	Published Serving = iota
	// Proxied: a level proxy (package levelproxy) in front of its protocol's main listener.
	Proxied
	// Given: an address the suite was handed (an external target's bootstrap).
	Given
)

// Listener is one planned endpoint: a protocol's main listener (Level "") or one of its level
// listeners.
type Listener struct {
	Protocol Protocol
	Level    string
	Serving  Serving
	Port     int    // the container port (Published only)
	Addr     string // host:port clients dial: bound (Published), the proxy's (Proxied) or given
}

// Plan is every listener of a target: for each protocol its main listener, then one listener
// per protocol level. It yields the host ports to publish, the reference server's
// KOP_LISTENERS, the level proxies to start and the clients.Endpoint of each protocol, all from
// the same records, so they cannot disagree.
type Plan struct {
	Listeners []*Listener
}

// NewPlan plans protocols × (main + levels): main listeners are served as main says, level
// listeners as level says (Published on the reference, Proxied on Kafka and external targets).
func NewPlan(protocols []Protocol, levels []string, main, level Serving) (*Plan, error) {
	p := &Plan{}
	for _, proto := range protocols {
		spec, ok := protocolSpecs[proto]
		if !ok {
			return nil, fmt.Errorf("env: unknown listener protocol %q", proto)
		}
		p.add(&Listener{Protocol: proto, Serving: main}, spec.port)
		for i, lv := range levels {
			p.add(&Listener{Protocol: proto, Level: lv, Serving: level}, spec.levelPort+i)
		}
	}
	return p, nil
}

func (p *Plan) add(l *Listener, port int) {
	if l.Serving == Published {
		l.Port = port
	}
	p.Listeners = append(p.Listeners, l)
}

// Bind gives every published listener a loopback host port from pick, replacing any earlier
// binding (a start that clashed is retried with new ports; see ports.go).
func (p *Plan) Bind(pick func() (int, error)) error {
	for _, l := range p.Listeners {
		if l.Serving != Published {
			continue
		}
		hostPort, err := pick()
		if err != nil {
			return err
		}
		l.Addr = loopbackAddr(hostPort)
	}
	return nil
}

func loopbackAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Published maps the container port of every bound published listener to its host port.
func (p *Plan) Published() map[int]int {
	out := map[int]int{}
	for _, l := range p.Listeners {
		if l.Serving == Published && l.Addr != "" {
			_, port, _ := net.SplitHostPort(l.Addr)
			out[l.Port], _ = strconv.Atoi(port)
		}
	}
	return out
}

// Served are the listeners the server in the container serves itself, in plan order.
func (p *Plan) Served() []*Listener { return p.serving(Published) }

// Proxies are the listeners level proxies serve, in plan order.
func (p *Plan) Proxies() []*Listener { return p.serving(Proxied) }

func (p *Plan) serving(s Serving) []*Listener {
	var out []*Listener
	for _, l := range p.Listeners {
		if l.Serving == s {
			out = append(out, l)
		}
	}
	return out
}

// Main is proto's main listener, nil when the plan has none.
func (p *Plan) Main(proto Protocol) *Listener {
	for _, l := range p.Listeners {
		if l.Protocol == proto && l.Level == "" {
			return l
		}
	}
	return nil
}

// Upstream is what a level proxy for l forwards to: its protocol's main listener.
func (p *Plan) Upstream(l *Listener) string {
	if m := p.Main(l.Protocol); m != nil {
		return m.Addr
	}
	return ""
}

// KOPListeners is the reference server's KOP_LISTENERS for the served listeners:
// `[LEVEL/][PROTOCOL://]BIND=ADVERTISED_HOST:PORT[?ssl.client.auth=MODE]`, comma-separated,
// each bound on all interfaces in the container and advertising its loopback host address.
func (p *Plan) KOPListeners() string {
	var items []string
	for _, l := range p.Served() {
		spec := protocolSpecs[l.Protocol]
		item := fmt.Sprintf("0.0.0.0:%d=%s", l.Port, l.Addr)
		if spec.security != "PLAINTEXT" {
			item = spec.security + "://" + item
		}
		if l.Level != "" {
			item = l.Level + "/" + item
		}
		if spec.clientAuth {
			item += "?ssl.client.auth=required"
		}
		items = append(items, item)
	}
	return strings.Join(items, ",")
}

// Endpoint is proto's main listener with its level listeners, as clients dial them.
func (p *Plan) Endpoint(proto Protocol) (clients.Endpoint, bool) {
	m := p.Main(proto)
	if m == nil {
		return clients.Endpoint{}, false
	}
	ep := clients.Endpoint{Bootstrap: m.Addr, Levels: map[string]string{}}
	for _, l := range p.Listeners {
		if l.Protocol == proto && l.Level != "" {
			ep.Levels[l.Level] = l.Addr
		}
	}
	return ep, true
}

// Apply sets t's listeners: the PLAINTEXT endpoint as Bootstrap and Levels, every other
// protocol's in Secure.
func (p *Plan) Apply(t *clients.Target) {
	for _, proto := range []Protocol{Plaintext, SSL, MTLS, SASL} {
		ep, ok := p.Endpoint(proto)
		switch {
		case !ok:
		case proto == Plaintext:
			t.Bootstrap, t.Levels = ep.Bootstrap, ep.Levels
		default:
			if t.Secure == nil {
				t.Secure = map[string]clients.Endpoint{}
			}
			t.Secure[string(proto)] = ep
		}
	}
}
