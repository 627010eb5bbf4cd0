// Package auth authenticates SASL/PLAIN principals against Pulsar and answers whether a
// principal may produce to or consume from a topic, from Pulsar's own permission grants.
//
// The PLAIN username names the Pulsar tenant (or tenant/namespace) and the password is a
// Pulsar token, "token:<jwt>". Pulsar verifies the token: the gateway presents it to Pulsar's
// admin API, which answers 401 for a token it does not accept. The principal is the token's
// role (its subject), and its rights are the produce/consume grants Pulsar holds for that role
// on the namespace and the topic. Grants come from one read of the namespace's policies (the
// namespace's grants and every topic's), kept for a short time and shared by every question
// asked meanwhile: a Metadata request for all topics asks about each topic, and one admin call
// per topic would make it as slow as the namespace is large. Questions that find no fresh read
// wait for one read, however many they are, and a read is started in the background once the
// last one is half its lifetime old, so busy gateways rarely wait. Logins presenting the same
// token at the same time share one verification by Pulsar. Topics are named as Kafka names
// them; a topic's grants are found under its Pulsar name (naming.ToPulsar), and a name Kafka
// forbids has the namespace's grants, as a topic that does not exist has.
//
// A Kafka consumer group is what a Pulsar subscription is, and is authorized as Pulsar
// authorizes subscribing: consume on the namespace, and the group's subscription permission
// (pulsar-admin namespaces grant-subscription-permission) either absent or empty, or listing
// the role; under the namespace's subscription auth mode Prefix the group's name must also
// start with the role. Subscription permissions come with the same read of the policies.
package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
	"github.com/kop-conformance/kop-conformance/reference/internal/safe"
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
	// Expires is when the credentials stop being valid (the token's "exp" claim); zero when
	// they do not expire. A session ends then unless the client re-authenticates (KIP-368).
	Expires time.Time
}

// Pulsar authenticates and authorizes with a Pulsar cluster's admin API.
type Pulsar struct {
	adminURL, tenant, namespace string
	superToken                  string // reads grants; empty when Pulsar runs without auth
	http                        *http.Client
	ttl                         time.Duration

	calls      safe.Shared // policy reads, and token verifications by token
	refreshing atomic.Bool // a background policy read is under way

	mu     sync.Mutex
	policy *policy // the latest read, until it expires
}

// policy is what the namespace's policies grant: role -> actions on the namespace, per topic
// (full Pulsar name) role -> actions on that topic, and per subscription the roles that may
// use it.
type policy struct {
	namespace     map[string][]string
	topics        map[string]map[string][]string
	subscriptions map[string][]string
	prefixed      bool // subscription auth mode Prefix: a subscription's name starts with its role
	read, expires time.Time
}

// callTimeout bounds a shared call to Pulsar: it runs for every caller waiting on it, so no
// one caller's context may end it.
const callTimeout = 10 * time.Second

// NewPulsar uses the admin API at adminURL for the gateway's tenant and namespace; superToken
// is the gateway's own token, allowed to read permission grants.
func NewPulsar(adminURL, tenant, namespace, superToken string) *Pulsar {
	p := &Pulsar{adminURL: strings.TrimRight(adminURL, "/"), tenant: tenant, namespace: namespace, superToken: superToken,
		http: &http.Client{Timeout: 10 * time.Second}, ttl: 2 * time.Second}
	// A panic is answered as an error: authorization fails closed.
	p.calls.Timeout, p.calls.What = callTimeout, "tokens and grants"
	return p
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
	role, exp, err := claims(jwt)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrCredentials, err)
	}
	if !exp.IsZero() && !time.Now().Before(exp) {
		return Principal{}, fmt.Errorf("%w: the token expired at %s", ErrCredentials, exp.UTC().Format(time.RFC3339))
	}
	// Any admin call authenticates; 401 is Pulsar refusing the token, 403 only a missing grant.
	// Anything else (Pulsar unavailable, say) is no verdict and authenticates nobody. Clients
	// logging in with one token at once share the call: Pulsar's verdict is the same for all.
	v, err := p.calls.Call(ctx, "token/"+jwt, func(ctx context.Context) (any, error) {
		status, _, err := p.get(ctx, jwt, "/admin/v2/namespaces/"+url.PathEscape(p.tenant)+"/"+url.PathEscape(p.namespace)+"/permissions")
		return status, err
	})
	status, _ := v.(int)
	if err != nil {
		return Principal{}, fmt.Errorf("asking Pulsar to verify the token: %w", err)
	}
	switch status {
	case http.StatusOK, http.StatusForbidden: // Pulsar verified the token; 403 is a missing grant
		return Principal{Role: role, Expires: exp}, nil
	case http.StatusUnauthorized:
		return Principal{}, fmt.Errorf("%w: Pulsar did not accept the token", ErrCredentials)
	default: // fail closed: only Pulsar's verdict on the token authenticates
		return Principal{}, fmt.Errorf("%w: Pulsar could not verify the token (it answered %d)", ErrCredentials, status)
	}
}

// Allowed says whether role may take action on topic, a Kafka topic name ("" for the
// namespace: consumer groups).
func (p *Pulsar) Allowed(ctx context.Context, role string, action Action, topic string) (bool, error) {
	pol, err := p.policies(ctx)
	if err != nil {
		return false, err
	}
	granted := pol.namespace[role]
	if topic != "" && naming.Check(topic) == nil {
		granted = append(granted[:len(granted):len(granted)], pol.topics[p.pulsarTopic(topic)][role]...)
	}
	for _, a := range granted {
		if Action(a) == action {
			return true, nil
		}
	}
	return false, nil
}

// GroupAllowed says whether role may use consumer group group (join, commit, fetch offsets,
// describe, delete), as Pulsar says whether it may use the subscription of that name: consume
// on the namespace, and the group's subscription permission absent, empty or listing role.
func (p *Pulsar) GroupAllowed(ctx context.Context, role, group string) (bool, error) {
	pol, err := p.policies(ctx)
	if err != nil {
		return false, err
	}
	if !slices.Contains(pol.namespace[role], string(Consume)) {
		return false, nil
	}
	if pol.prefixed && !strings.HasPrefix(group, role) {
		return false, nil
	}
	roles := pol.subscriptions[group]
	return len(roles) == 0 || slices.Contains(roles, role), nil
}

func (p *Pulsar) pulsarTopic(topic string) string {
	return "persistent://" + p.tenant + "/" + p.namespace + "/" + naming.ToPulsar(topic)
}

// policies returns the namespace's grants, reading them from Pulsar when the last read has
// expired: callers that find none fresh wait for one read, and one past half its lifetime is
// read again in the background.
func (p *Pulsar) policies(ctx context.Context) (*policy, error) {
	pol := p.fresh()
	if pol != nil {
		if time.Since(pol.read) >= p.ttl/2 && p.refreshing.CompareAndSwap(false, true) {
			go func() {
				defer p.refreshing.Store(false)
				p.calls.Call(context.Background(), "policies", func(ctx context.Context) (any, error) {
					if pol := p.fresh(); pol != nil && time.Since(pol.read) < p.ttl/2 {
						return pol, nil // read again since this caller looked
					}
					return p.readPolicies(ctx)
				})
			}()
		}
		return pol, nil
	}
	v, err := p.calls.Call(ctx, "policies", func(ctx context.Context) (any, error) {
		if pol := p.fresh(); pol != nil {
			return pol, nil // read by a call that ended just before this one began
		}
		return p.readPolicies(ctx)
	})
	if err != nil {
		return nil, err
	}
	return v.(*policy), nil
}

// fresh is the latest read of the policies unless it has expired.
func (p *Pulsar) fresh() *policy {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.policy != nil && time.Now().Before(p.policy.expires) {
		return p.policy
	}
	return nil
}

// readPolicies reads the namespace's policies (its own grants and its topics' grants) and
// keeps them for the TTL.
func (p *Pulsar) readPolicies(ctx context.Context) (any, error) {
	read := time.Now()
	path := "/admin/v2/namespaces/" + url.PathEscape(p.tenant) + "/" + url.PathEscape(p.namespace)
	status, body, err := p.get(ctx, p.superToken, path)
	if err != nil {
		return nil, fmt.Errorf("reading grants of %s/%s: %w", p.tenant, p.namespace, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("reading grants of %s/%s: Pulsar answered %d: %s", p.tenant, p.namespace, status, strings.TrimSpace(string(body)))
	}
	var doc struct {
		Auth struct {
			Namespace     map[string][]string            `json:"namespace_auth"`
			Topics        map[string]map[string][]string `json:"destination_auth"`
			Subscriptions map[string][]string            `json:"subscription_auth_roles"`
		} `json:"auth_policies"`
		SubscriptionAuthMode string `json:"subscription_auth_mode"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("grants of %s/%s: %w", p.tenant, p.namespace, err)
	}
	pol := &policy{namespace: doc.Auth.Namespace, topics: doc.Auth.Topics, subscriptions: doc.Auth.Subscriptions,
		prefixed: doc.SubscriptionAuthMode == "Prefix", read: read, expires: read.Add(p.ttl)}
	p.mu.Lock()
	if p.policy == nil || !p.policy.read.After(read) {
		p.policy = pol
	}
	p.mu.Unlock()
	return pol, nil
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

// claims reads a JWT's "sub" claim and its "exp" claim (zero without one). The signature is
// Pulsar's to check (Authenticate asks it), and so is the expiry, but the gateway needs the
// expiry too: a session lasts no longer than its token (KIP-368).
func claims(jwt string) (sub string, exp time.Time, err error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", time.Time{}, errors.New("the token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", time.Time{}, errors.New("the token's payload is not base64url")
	}
	var c struct {
		Sub string   `json:"sub"`
		Exp *float64 `json:"exp"` // a JWT NumericDate: seconds, possibly fractional
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Sub == "" {
		return "", time.Time{}, errors.New("the token names no subject")
	}
	if c.Exp != nil {
		if *c.Exp <= 0 || *c.Exp > 1<<40 {
			return "", time.Time{}, errors.New("the token's expiry is not a time")
		}
		sec, frac := math.Modf(*c.Exp)
		exp = time.Unix(int64(sec), int64(frac*1e9))
	}
	return c.Sub, exp, nil
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
