package env

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/fixtures/tokens"
)

// SASL/PLAIN principals of the security specs. Kafka knows them as users with passwords;
// on Pulsar they are token roles, the username naming the tenant/namespace.
const (
	allowedRole = "alice"   // may produce and consume topics and use consumer groups
	deniedRole  = "mallory" // authenticates, but holds no grant
	adminRole   = "admin"   // Pulsar superuser: the reference server's own identity
)

// sasl is one run's token material: Pulsar verifies tokens signed with key.
type sasl struct {
	key                    []byte
	admin, allowed, denied string
	forged                 string // signed with another key: Pulsar must refuse it
}

func newSASL() (*sasl, error) {
	key, err := tokens.NewKey()
	if err != nil {
		return nil, err
	}
	other, err := tokens.NewKey()
	if err != nil {
		return nil, err
	}
	return &sasl{key: key, admin: tokens.Sign(key, adminRole), allowed: tokens.Sign(key, allowedRole),
		denied: tokens.Sign(key, deniedRole), forged: tokens.Sign(other, allowedRole)}, nil
}

// pulsarSettings turn on token authentication and authorization, the admin role a superuser.
func (s *sasl) pulsarSettings() map[string]string {
	return map[string]string{
		"authenticationEnabled":                "true",
		"authorizationEnabled":                 "true",
		"authenticationProviders":              "org.apache.pulsar.broker.authentication.AuthenticationProviderToken",
		"tokenSecretKey":                       tokens.PulsarSetting(s.key),
		"superUserRoles":                       adminRole,
		"brokerClientAuthenticationPlugin":     "org.apache.pulsar.client.impl.auth.AuthenticationToken",
		"brokerClientAuthenticationParameters": "token:" + s.admin,
	}
}

// users are the reference target's credentials: username tenant/namespace, password a token.
func (s *sasl) users() map[string]clients.Credentials {
	const ns = "public/default"
	return map[string]clients.Credentials{
		clients.UserAllowed:       {User: ns, Password: "token:" + s.allowed},
		clients.UserWrongPassword: {User: ns, Password: "token:" + s.forged},
		clients.UserDenied:        {User: ns, Password: "token:" + s.denied},
	}
}

// grantPulsar gives the allowed role produce and consume on the namespace.
func (s *sasl) grantPulsar(ctx context.Context, adminURL string) error {
	url := adminURL + "/admin/v2/namespaces/public/default/permissions/" + allowedRole
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(`["produce","consume"]`))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("granting %s on public/default: %w", allowedRole, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("granting %s on public/default: Pulsar answered %d: %s", allowedRole, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// Kafka's side of the same principals: PLAIN users with passwords on the SASL listener.
var kafkaUsers = map[string]clients.Credentials{
	clients.UserAllowed:       {User: allowedRole, Password: "alice-secret"},
	clients.UserWrongPassword: {User: allowedRole, Password: "not-alice-secret"},
	clients.UserDenied:        {User: deniedRole, Password: "mallory-secret"},
}

// kafkaSASLSettings add the SASL listener's PLAIN users and the KRaft authorizer. Principals
// of the listeners without SASL (ANONYMOUS, and the mutual-TLS certificate's) are superusers,
// so every other spec runs unrestricted, as on a Kafka with no authorizer.
func kafkaSASLSettings() map[string]string {
	jaas := "org.apache.kafka.common.security.plain.PlainLoginModule required"
	for _, u := range []clients.Credentials{kafkaUsers[clients.UserAllowed], kafkaUsers[clients.UserDenied]} {
		jaas += fmt.Sprintf(" user_%s=%q", u.User, u.Password)
	}
	return map[string]string{
		"sasl.enabled.mechanisms":                   "PLAIN",
		"listener.name.sasl.plain.sasl.jaas.config": jaas + ";",
		"authorizer.class.name":                     "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                               "User:ANONYMOUS;User:CN=kop-conformance client",
	}
}

// grantKafka lets the allowed user do everything to the suite's topics (ct-*) and groups
// (cg-*), as the Pulsar grant does for the namespace.
func grantKafka(ctx context.Context, bootstrap string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer cl.Close()
	acl := kadm.NewACLs().Allow("User:" + allowedRole).AllowHosts().
		Topics("ct-").Groups("cg-").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpAll)
	results, err := kadm.NewClient(cl).CreateACLs(ctx, acl)
	if err != nil {
		return fmt.Errorf("creating Kafka ACLs: %w", err)
	}
	for _, r := range results {
		if r.Err != nil {
			return fmt.Errorf("creating Kafka ACL: %w", r.Err)
		}
	}
	return nil
}
