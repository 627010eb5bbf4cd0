package env

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/testcontainers/testcontainers-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/fixtures/certs"
	"github.com/kop-conformance/kop-conformance/fixtures/tokens"
)

// SASL/PLAIN principals of the security specs. Kafka knows them as users with passwords;
// on Pulsar they are token roles, the username naming the tenant/namespace.
const (
	allowedRole = "alice"   // may produce and consume topics and use consumer groups
	deniedRole  = "mallory" // authenticates, but holds no grant
	readerRole  = "carol"   // may consume topics and use consumer groups, but not produce
	adminRole   = "admin"   // Pulsar superuser: the reference server's own identity
)

// sasl is one run's token material: Pulsar verifies tokens signed with key.
type sasl struct {
	key                            []byte
	admin, allowed, denied, reader string
	forged                         string // signed with another key: Pulsar must refuse it
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
		denied: tokens.Sign(key, deniedRole), reader: tokens.Sign(key, readerRole), forged: tokens.Sign(other, allowedRole)}, nil
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
		clients.UserConsumeOnly:   {User: ns, Password: "token:" + s.reader},
	}
}

// grantPulsar gives the allowed role produce and consume on the namespace, and the reader role
// consume only, through Pulsar's admin client with the superuser's token.
func (s *sasl) grantPulsar(ctx context.Context, adminURL string) error {
	client, err := admin.New(&config.Config{WebServiceURL: adminURL, Token: s.admin})
	if err != nil {
		return fmt.Errorf("pulsar admin client: %w", err)
	}
	ns, err := utils.GetNamespaceName("public/default")
	if err != nil {
		return err
	}
	grants := []struct {
		role    string
		actions []utils.AuthAction
	}{
		{allowedRole, []utils.AuthAction{"produce", "consume"}},
		{readerRole, []utils.AuthAction{"consume"}},
	}
	for _, g := range grants {
		if err := client.Namespaces().GrantNamespacePermissionWithContext(ctx, *ns, g.role, g.actions); err != nil {
			return fmt.Errorf("granting %s %v on public/default: %w", g.role, g.actions, err)
		}
	}
	return nil
}

// Kafka's side of the same principals: PLAIN users with passwords on the SASL listener.
var kafkaUsers = map[string]clients.Credentials{
	clients.UserAllowed:       {User: allowedRole, Password: "alice-secret"},
	clients.UserWrongPassword: {User: allowedRole, Password: "not-alice-secret"},
	clients.UserDenied:        {User: deniedRole, Password: "mallory-secret"},
	clients.UserConsumeOnly:   {User: readerRole, Password: "carol-secret"},
	// The allowed user by SCRAM (credentials created after start, see createKafkaSCRAM) and by
	// an unsecured OAUTHBEARER token (minted by the client for the subject). The SCRAM
	// passwords differ from the PLAIN one and from each other, so a client that fell back to
	// another mechanism would be refused rather than pass as SCRAM.
	clients.UserSCRAMSHA256: {User: allowedRole, Password: "alice-scram-256-secret", Mechanism: clients.MechanismSCRAMSHA256},
	clients.UserSCRAMSHA512: {User: allowedRole, Password: "alice-scram-512-secret", Mechanism: clients.MechanismSCRAMSHA512},
	clients.UserOAuth:       {User: allowedRole, Mechanism: clients.MechanismOAuthBearer},
	clients.UserOAuthDenied: {User: deniedRole, Mechanism: clients.MechanismOAuthBearer},
}

// kafkaSASLSettings add the SASL listener's PLAIN users and the KRaft authorizer. Principals
// of the listeners without SASL (ANONYMOUS, and the mutual-TLS certificate's) are superusers,
// so every other spec runs unrestricted, as on a Kafka with no authorizer.
func kafkaSASLSettings() map[string]string {
	jaas := "org.apache.kafka.common.security.plain.PlainLoginModule required"
	for _, u := range []clients.Credentials{kafkaUsers[clients.UserAllowed], kafkaUsers[clients.UserDenied], kafkaUsers[clients.UserConsumeOnly]} {
		jaas += fmt.Sprintf(" user_%s=%q", u.User, u.Password)
	}
	return map[string]string{
		"sasl.enabled.mechanisms":                   "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
		"listener.name.sasl.plain.sasl.jaas.config": jaas + ";",
		// SCRAM: the users' credentials live in the cluster metadata (createKafkaSCRAM).
		"listener.name.sasl.scram-sha-256.sasl.jaas.config": scramJAAS,
		"listener.name.sasl.scram-sha-512.sasl.jaas.config": scramJAAS,
		// OAUTHBEARER: with no sasl.server.callback.handler.class configured, the broker
		// validates tokens with OAuthBearerUnsecuredValidatorCallbackHandler (unsecured JWS,
		// alg "none", principal from "sub"): for tests only, as Kafka's documentation says.
		// The login module's own token (the broker's identity as a client, never used: no
		// broker connects over this listener) is an unsecured one for "admin".
		"listener.name.sasl.oauthbearer.sasl.jaas.config": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"admin\";",
		"authorizer.class.name":                           "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                                     "User:ANONYMOUS;User:CN=kop-conformance client",
	}
}

const scramJAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;"

// createKafkaSCRAM gives the allowed user its SCRAM-SHA-256 and SCRAM-SHA-512 credentials
// (AlterUserScramCredentials, KIP-554: in KRaft they are metadata records) and waits until
// the broker describes both, i.e. has applied them and will authenticate with them.
func createKafkaSCRAM(ctx context.Context, bootstrap string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	want := map[kadm.ScramMechanism]clients.Credentials{
		kadm.ScramSha256: kafkaUsers[clients.UserSCRAMSHA256],
		kadm.ScramSha512: kafkaUsers[clients.UserSCRAMSHA512],
	}
	for mech, u := range want { // one request per mechanism: never a duplicate (user, mechanism)
		res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: u.User, Mechanism: mech, Iterations: 8192, Password: u.Password}})
		if err != nil {
			return fmt.Errorf("creating Kafka SCRAM credentials: %w", err)
		}
		if err := res.Error(); err != nil {
			return fmt.Errorf("creating Kafka %s credentials for %s: %w", mech, u.User, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		described, err := adm.DescribeUserSCRAMs(ctx, allowedRole)
		have := map[kadm.ScramMechanism]bool{}
		if err == nil {
			for _, ci := range described[allowedRole].CredInfos {
				have[ci.Mechanism] = true
			}
		}
		if have[kadm.ScramSha256] && have[kadm.ScramSha512] {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kafka did not describe %s's SCRAM credentials within 30s (have %v, err %v)", allowedRole, have, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// grantKafka lets the allowed user do everything to the suite's topics (ct-*) and groups
// (cg-*), as the Pulsar grant does for the namespace, and the reader user read them (Kafka's
// READ implies DESCRIBE; it has no WRITE, so it cannot produce).
func grantKafka(ctx context.Context, bootstrap string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer cl.Close()
	all := kadm.NewACLs().Allow("User:" + allowedRole).AllowHosts().
		Topics("ct-").Groups("cg-").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpAll)
	read := kadm.NewACLs().Allow("User:" + readerRole).AllowHosts().
		Topics("ct-").Groups("cg-").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpRead)
	for _, acl := range []*kadm.ACLBuilder{all, read} {
		results, err := kadm.NewClient(cl).CreateACLs(ctx, acl)
		if err != nil {
			return fmt.Errorf("creating Kafka ACLs: %w", err)
		}
		for _, r := range results {
			if r.Err != nil {
				return fmt.Errorf("creating Kafka ACL: %w", r.Err)
			}
		}
	}
	return nil
}

// certMount is where certFiles puts the certificates in a container.
const certMount = "/certs/"

// certFiles copies the certificate directory into a container.
func certFiles(dir string) testcontainers.CustomizeRequestOption {
	var files []testcontainers.ContainerFile
	for _, f := range []string{certs.CAFile, certs.ServerCertFile, certs.ServerKeyFile, certs.ServerStoreFile} {
		files = append(files, testcontainers.ContainerFile{HostFilePath: filepath.Join(dir, f), ContainerFilePath: certMount + f, FileMode: 0o644})
	}
	return testcontainers.WithFiles(files...)
}
