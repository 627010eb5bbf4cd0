// Package auth authenticates SASL/PLAIN principals against Pulsar and answers whether a
// principal may produce to or consume from a topic, from Pulsar's own permission grants.
//
// The PLAIN username names the Pulsar tenant (or tenant/namespace) and the password is a
// Pulsar token, "token:<jwt>". Pulsar verifies the token: the gateway presents it to Pulsar's
// admin API, which answers 401 for a token it does not accept. The principal is the token's
// role (its subject), and its rights are the produce/consume grants Pulsar holds for that role
// on the namespace and the topic. Topics are named as Kafka names them; grants are asked of
// Pulsar on the topic's Pulsar name (naming.ToPulsar), and a name Kafka forbids never reaches
// Pulsar: it has the namespace's grants, as a topic that does not exist has.
package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
)

// Action is what a principal wants to do, in Pulsar's permission names.
type Action string

// Pulsar's actions the Kafka APIs map to.
const (
	Produce Action = "produce"
	Consume Action = "consume"
)

// ErrCredentials is wrapped by every authentication failure; its text says why.
var ErrCredentials = errors.New("authentication failed")

// Principal is an authenticated client.
type Principal struct {
	Role string // the token's subject
}

// Pulsar authenticates and authorizes with a Pulsar cluster's admin API.
type Pulsar struct {
	adminURL, tenant, namespace string
	superToken                  string // reads grants; empty when Pulsar runs without auth
	http                        *http.Client
	ttl                         time.Duration

	mu    sync.Mutex
	cache map[string]grants // "" for the namespace, else a topic name
}

type grants struct {
	roles   map[string][]string
	expires time.Time
}

// maxCached bounds the grant cache; when full it starts over.
const maxCached = 4096

// NewPulsar uses the admin API at adminURL for the gateway's tenant and namespace; superToken
// is the gateway's own token, allowed to read permission grants.
func NewPulsar(adminURL, tenant, namespace, superToken string) *Pulsar {
	return &Pulsar{adminURL: strings.TrimRight(adminURL, "/"), tenant: tenant, namespace: namespace, superToken: superToken,
		http: &http.Client{Timeout: 10 * time.Second}, ttl: 2 * time.Second, cache: map[string]grants{}}
}

// Authenticate checks PLAIN credentials: user is "tenant" or "tenant/namespace" of this
// gateway, password is "token:<jwt>" and Pulsar accepts the token.
func (p *Pulsar) Authenticate(ctx context.Context, user, password string) (Principal, error) {
	tenant, ns, hasNS := strings.Cut(user, "/")
	if !hasNS {
		ns = p.namespace
	}
	if tenant != p.tenant || ns != p.namespace {
		return Principal{}, fmt.Errorf("%w: this gateway serves tenant/namespace %s/%s, not %q", ErrCredentials, p.tenant, p.namespace, user)
	}
	jwt, ok := strings.CutPrefix(password, "token:")
	if !ok || jwt == "" {
		return Principal{}, fmt.Errorf("%w: the password must be token:<a Pulsar token>", ErrCredentials)
	}
	role, err := subject(jwt)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrCredentials, err)
	}
	// Any admin call authenticates; 401 is Pulsar refusing the token, 403 only a missing grant.
	status, _, err := p.get(ctx, jwt, "/admin/v2/namespaces/"+url.PathEscape(p.tenant)+"/"+url.PathEscape(p.namespace)+"/permissions")
	if err != nil {
		return Principal{}, fmt.Errorf("asking Pulsar to verify the token: %w", err)
	}
	if status == http.StatusUnauthorized {
		return Principal{}, fmt.Errorf("%w: Pulsar did not accept the token", ErrCredentials)
	}
	return Principal{Role: role}, nil
}

// Allowed says whether role may take action on topic, a Kafka topic name ("" for the
// namespace: consumer groups).
func (p *Pulsar) Allowed(ctx context.Context, role string, action Action, topic string) (bool, error) {
	if topic != "" && naming.Check(topic) != nil {
		topic = "" // no topic can have this name: the namespace's grants apply
	}
	g, err := p.grants(ctx, topic)
	if err != nil {
		return false, err
	}
	for _, a := range g[role] {
		if Action(a) == action {
			return true, nil
		}
	}
	return false, nil
}

// grants are the role -> actions grants on topic (namespace grants included, as Pulsar
// reports them), or on the namespace.
func (p *Pulsar) grants(ctx context.Context, topic string) (map[string][]string, error) {
	now := time.Now()
	p.mu.Lock()
	g, ok := p.cache[topic]
	p.mu.Unlock()
	if ok && now.Before(g.expires) {
		return g.roles, nil
	}
	base := url.PathEscape(p.tenant) + "/" + url.PathEscape(p.namespace)
	path := "/admin/v2/namespaces/" + base + "/permissions"
	if topic != "" {
		path = "/admin/v2/persistent/" + base + "/" + url.PathEscape(naming.ToPulsar(topic)) + "/permissions"
	}
	status, body, err := p.get(ctx, p.superToken, path)
	if err == nil && status == http.StatusNotFound && topic != "" {
		return p.grants(ctx, "") // a topic that does not exist yet has the namespace's grants
	}
	if err != nil {
		return nil, fmt.Errorf("reading grants for %q: %w", topic, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("reading grants for %q: Pulsar answered %d: %s", topic, status, strings.TrimSpace(string(body)))
	}
	roles := map[string][]string{}
	if err := json.Unmarshal(body, &roles); err != nil {
		return nil, fmt.Errorf("grants for %q: %w", topic, err)
	}
	p.mu.Lock()
	if len(p.cache) >= maxCached {
		clear(p.cache)
	}
	p.cache[topic] = grants{roles: roles, expires: now.Add(p.ttl)}
	p.mu.Unlock()
	return roles, nil
}

func (p *Pulsar) get(ctx context.Context, token, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.adminURL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// subject reads a JWT's "sub" claim. The signature is Pulsar's to check (Authenticate asks it).
func subject(jwt string) (string, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", errors.New("the token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("the token's payload is not base64url")
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Sub == "" {
		return "", errors.New("the token names no subject")
	}
	return claims.Sub, nil
}

// ParsePlain splits a SASL/PLAIN message (RFC 4616: authzid NUL authcid NUL passwd).
func ParsePlain(msg []byte) (user, password string, err error) {
	parts := strings.Split(string(msg), "\x00")
	if len(parts) != 3 || parts[1] == "" {
		return "", "", fmt.Errorf("%w: malformed PLAIN message (want authzid NUL user NUL password)", ErrCredentials)
	}
	if parts[0] != "" && parts[0] != parts[1] {
		return "", "", fmt.Errorf("%w: acting as another user (authzid %q) is not supported", ErrCredentials, parts[0])
	}
	return parts[1], parts[2], nil
}
