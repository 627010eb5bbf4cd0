package clients

import (
	"crypto/tls"
	"fmt"
)

// Target says where the endpoint under test is.
type Target struct {
	Name      string            // reference, kafka, external
	Bootstrap string            // host:port of the default listener
	Levels    map[string]string // level -> host:port of a listener capped to that level
	// Secure are the TLS listeners by name (SSL: server TLS; MTLS: client certificates
	// required), each with level listeners of its own; CertDir holds their certificates.
	Secure  map[string]Endpoint `json:",omitempty"`
	CertDir string              `json:",omitempty"`
	// Users are the SASL principals by role (UserAllowed, ...) on the SASL listener.
	Users map[string]Credentials `json:",omitempty"`
	// TLS and SASL, when set, are how clients connect (see Over and OverSASL).
	TLS  *tls.Config  `json:"-"`
	SASL *Credentials `json:"-"`
	// FailFast asks clients not to retry failed requests, so a refused connection surfaces as
	// the client's error instead of retries until a deadline.
	FailFast bool `json:"-"`
	// ClientID prefixes the client id every client sends ("<ClientID>.<client name>"), so the
	// wire tap can tell one spec's requests from another's; empty uses a fixed id.
	ClientID string `json:"-"`
	// WireURL is the wire tap recording every request by client id (package wiretap): the
	// reference server's debug endpoint, or the suite's level proxies.
	WireURL string `json:",omitempty"`
	// MetricsURL is the target's Prometheus endpoint, when it has one (the reference server).
	MetricsURL string `json:",omitempty"`
	// Pulsar is where the target keeps its data, for targets on Pulsar the suite can reach.
	Pulsar *Pulsar `json:",omitempty"`
}

// PulsarListener is the name of the Pulsar listener advertised to the suite's own clients.
const PulsarListener = "external"

// Pulsar is the Pulsar cluster behind a Kafka-on-Pulsar target.
type Pulsar struct {
	ServiceURL string // pulsar://host:port, reachable from the suite
	AdminURL   string // http://host:port
	Token      string `json:",omitempty"` // a superuser token when Pulsar authenticates
	Tenant     string
	Namespace  string
}

// ClientIDFor is the client id a client of the named library sends on t.
func (t Target) ClientIDFor(kind string) string {
	if t.ClientID == "" {
		return "kop-conformance-" + kind
	}
	return t.ClientID + "." + kind
}

// Credentials are a SASL username and password, and the mechanism to present them with
// (Mechanism* constants; "" is PLAIN). For OAUTHBEARER, User is the subject of the unsecured
// token the client mints (see UnsecuredJWT) and Password is unused.
type Credentials struct {
	User, Password string
	Mechanism      string `json:",omitempty"`
}

// The principals of the security specs, by role (Target.Users).
const (
	UserAllowed       = "allowed"        // may use the suite's topics and groups
	UserWrongPassword = "wrong-password" // the allowed user with a password the server refuses
	UserDenied        = "denied"         // authenticates, but has no permissions
	UserConsumeOnly   = "consume-only"   // may read topics and use groups, but not produce
)

// Endpoint is a listener and its level-capped companions.
type Endpoint struct {
	Bootstrap string
	Levels    map[string]string
}

// Over is the target reached through its secure listener name with the client TLS config cfg.
func (t Target) Over(name string, cfg *tls.Config) (Target, error) {
	ep, ok := t.Secure[name]
	if !ok {
		return Target{}, fmt.Errorf("target %s has no %s listener", t.Name, name)
	}
	t.Bootstrap, t.Levels, t.TLS = ep.Bootstrap, ep.Levels, cfg
	return t, nil
}

// OverSASL is the target reached through its SASL listener as the user of the given role.
func (t Target) OverSASL(role string) (Target, error) {
	u, ok := t.Users[role]
	if !ok {
		return Target{}, fmt.Errorf("target %s has no SASL user %q", t.Name, role)
	}
	t, err := t.Over("SASL", nil)
	t.SASL = &u
	return t, err
}
