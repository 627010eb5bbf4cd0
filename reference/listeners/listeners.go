// Package listeners is the reference server's listener syntax (its --listeners flag and
// KOP_LISTENERS): where each Kafka listener binds, what it advertises, its security protocol and
// an optional protocol level cap. It is public so that tools starting the server (the
// conformance environment) can check the strings they build against the server's own parser.
package listeners

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// Listener is one Kafka listener: where it binds, what it advertises, its security protocol,
// and an optional protocol level cap (a listener for level 2.0 advertises only Kafka 2.0's API
// versions).
type Listener struct {
	Bind       string
	Advertised string // host:port
	Level      string
	Protocol   string // Kafka's security protocol names: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
	ClientAuth string // TLS listeners only: none, requested or required (Kafka's ssl.client.auth)
}

// TLS says whether the listener speaks TLS (SSL, SASL_SSL).
func (l Listener) TLS() bool { return l.Protocol == "SSL" || l.Protocol == "SASL_SSL" }

// SASL says whether clients must authenticate (SASL_PLAINTEXT, SASL_SSL).
func (l Listener) SASL() bool { return strings.HasPrefix(l.Protocol, "SASL_") }

// ClientAuthModes are the values of ssl.client.auth (Kafka's names).
var ClientAuthModes = map[string]bool{"none": true, "requested": true, "required": true}

// Parse parses `[LEVEL/][PROTOCOL://]BIND=ADVERTISED_HOST:PORT[?ssl.client.auth=MODE],...`.
func Parse(s string) ([]Listener, error) {
	var out []Listener
	binds := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		spec := item
		l := Listener{Protocol: "PLAINTEXT"}
		if i := strings.Index(item, "/"); i >= 0 && !strings.Contains(item[:i], ":") {
			l.Level, item = item[:i], item[i+1:]
			if _, ok := protocol.Levels[l.Level]; !ok {
				return nil, fmt.Errorf("listener %q: unknown protocol level %q (known: %s)", spec, l.Level, strings.Join(protocol.LevelNames(), ", "))
			}
		}
		if proto, rest, ok := strings.Cut(item, "://"); ok {
			switch proto {
			case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
			default:
				return nil, fmt.Errorf("listener %q: unknown security protocol %q (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)", spec, proto)
			}
			l.Protocol, item = proto, rest
		}
		if rest, opts, ok := strings.Cut(item, "?"); ok {
			item = rest
			for _, opt := range strings.Split(opts, "&") {
				k, v, _ := strings.Cut(opt, "=")
				if k != "ssl.client.auth" || !ClientAuthModes[v] {
					return nil, fmt.Errorf("listener %q: option %q: the only option is ssl.client.auth=none|requested|required", spec, opt)
				}
				if !l.TLS() {
					return nil, fmt.Errorf("listener %q: ssl.client.auth needs a TLS protocol (SSL, SASL_SSL)", spec)
				}
				l.ClientAuth = v
			}
		}
		bind, adv, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("listener %q: want BIND=ADVERTISED_HOST:PORT", spec)
		}
		if _, _, err := net.SplitHostPort(bind); err != nil {
			return nil, fmt.Errorf("listener %q: bind address: %v", spec, err)
		}
		host, port, err := net.SplitHostPort(adv)
		if err != nil || host == "" {
			return nil, fmt.Errorf("listener %q: advertised address must be HOST:PORT", spec)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("listener %q: advertised port %q is not 1-65535", spec, port)
		}
		if binds[bind] {
			return nil, fmt.Errorf("listener %q: bind address %s used twice", spec, bind)
		}
		binds[bind] = true
		l.Bind, l.Advertised = bind, adv
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no listeners configured")
	}
	return out, nil
}
