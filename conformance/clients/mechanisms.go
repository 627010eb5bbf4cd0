package clients

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	kgsasl "github.com/segmentio/kafka-go/sasl"
	kgplain "github.com/segmentio/kafka-go/sasl/plain"
	kgscram "github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	xdg "github.com/xdg-go/scram"
)

// The SASL mechanism of each client for a target's Credentials: PLAIN (the default),
// SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER with an unsecured JWT (not kafka-go: it has
// no OAUTHBEARER). The adapters build their SASL settings here from Target.SASL.

// franzMechanism is franz-go's mechanism for c. An unknown mechanism fails when the client
// authenticates, with the reason.
func franzMechanism(c Credentials) sasl.Mechanism {
	switch c.Mechanism {
	case "", MechanismPlain:
		return plain.Auth{User: c.User, Pass: c.Password}.AsMechanism()
	case MechanismSCRAMSHA256:
		return scram.Auth{User: c.User, Pass: c.Password}.AsSha256Mechanism()
	case MechanismSCRAMSHA512:
		return scram.Auth{User: c.User, Pass: c.Password}.AsSha512Mechanism()
	case MechanismOAuthBearer:
		// A fresh token for every connection: a client may outlive one token's lifetime.
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			return oauth.Auth{Token: UnsecuredJWT(c.User, time.Now())}, nil
		})
	}
	return unknownMechanism(c.Mechanism)
}

// unknownMechanism is a franz-go mechanism that refuses to start.
type unknownMechanism string

func (m unknownMechanism) Name() string { return string(m) }
func (m unknownMechanism) Authenticate(context.Context, string) (sasl.Session, []byte, error) {
	return nil, nil, fmt.Errorf("franz-go: unknown SASL mechanism %q", string(m))
}

// saramaSASL sets sarama's SASL configuration for c (SaslHandshake v1, then SaslAuthenticate).
func saramaSASL(cfg *sarama.Config, c Credentials) error {
	cfg.Net.SASL.Enable, cfg.Net.SASL.Handshake, cfg.Net.SASL.Version = true, true, sarama.SASLHandshakeV1
	cfg.Net.SASL.User, cfg.Net.SASL.Password = c.User, c.Password
	switch c.Mechanism {
	case "", MechanismPlain:
		cfg.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case MechanismSCRAMSHA256:
		// sarama has the SCRAM exchange but no SCRAM client: xdg-go/scram is the usual one.
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: xdg.SHA256} }
	case MechanismSCRAMSHA512:
		cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: xdg.SHA512} }
	case MechanismOAuthBearer:
		cfg.Net.SASL.Mechanism = sarama.SASLTypeOAuth
		cfg.Net.SASL.TokenProvider = unsecuredTokens{sub: c.User}
	default:
		return fmt.Errorf("sarama: unknown SASL mechanism %q", c.Mechanism)
	}
	return nil
}

// xdgSCRAM is sarama's SCRAMClient over xdg-go/scram.
type xdgSCRAM struct {
	hash xdg.HashGeneratorFcn
	conv *xdg.ClientConversation
}

func (x *xdgSCRAM) Begin(user, password, authzID string) error {
	cl, err := x.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	x.conv = cl.NewConversation()
	return nil
}

func (x *xdgSCRAM) Step(challenge string) (string, error) { return x.conv.Step(challenge) }
func (x *xdgSCRAM) Done() bool                            { return x.conv.Done() }

// unsecuredTokens hands sarama a fresh unsecured JWT for sub on every connection.
type unsecuredTokens struct{ sub string }

func (u unsecuredTokens) Token() (*sarama.AccessToken, error) {
	return &sarama.AccessToken{Token: UnsecuredJWT(u.sub, time.Now())}, nil
}

// kafkaGoMechanism is kafka-go's mechanism for c.
func kafkaGoMechanism(c Credentials) (kgsasl.Mechanism, error) {
	switch c.Mechanism {
	case "", MechanismPlain:
		return kgplain.Mechanism{Username: c.User, Password: c.Password}, nil
	case MechanismSCRAMSHA256:
		return kgscram.Mechanism(kgscram.SHA256, c.User, c.Password)
	case MechanismSCRAMSHA512:
		return kgscram.Mechanism(kgscram.SHA512, c.User, c.Password)
	case MechanismOAuthBearer:
		return nil, fmt.Errorf("kafka-go has no %s mechanism", c.Mechanism)
	}
	return nil, fmt.Errorf("kafka-go: unknown SASL mechanism %q", c.Mechanism)
}

// UnsecuredJWT is an unsecured JSON Web Token (RFC 7519 with the JWS "none" algorithm, RFC
// 7515 compact form: base64url without padding, an empty signature after the last dot) for
// subject sub, issued at now and valid for UnsecuredJWTLifetime. Kafka's default OAUTHBEARER
// validator for brokers without a configured one (OAuthBearerUnsecuredValidatorCallbackHandler)
// accepts it and makes the principal User:<sub>; it requires alg "none", an empty signature, a
// string "sub" and a numeric "exp" in the future (and "iat", when present, not in the future).
func UnsecuredJWT(sub string, now time.Time) string {
	header, _ := json.Marshal(map[string]string{"alg": "none"})
	claims, _ := json.Marshal(map[string]any{"sub": sub, "iat": now.Unix(), "exp": now.Add(UnsecuredJWTLifetime).Unix()})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "."
}
