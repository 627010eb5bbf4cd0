package env

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/fixtures/certs"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// KafkaContainer is a single-node Apache Kafka (KRaft: broker and controller) container, the
// oracle target.
type KafkaContainer struct {
	*testcontainers.DockerContainer
	// Plan has each protocol's main listener, served by Kafka and published on loopback, and
	// the level listeners, left to level proxies (Kafka has no listeners capped to a level).
	Plan *Plan

	certDir string
	sasl    bool
}

// Kafka's listeners besides the planned ones. The broker talks to itself (transaction
// markers, say) on INTERNAL: the advertised addresses are host ports, unreachable from inside
// the container.
const (
	kafkaController = "CONTROLLER://localhost:9093"
	kafkaInternal   = "INTERNAL://localhost:9091"
)

// RunKafka starts Kafka with the options' listeners (PLAINTEXT; SSL and MTLS with WithCerts;
// SASL_PLAINTEXT with WithSASL) and waits until it answers ApiVersions. With WithSASL it also
// creates the security specs' ACLs and SCRAM credentials. On error the container, if it was
// created, is returned too, for its logs.
func RunKafka(ctx context.Context, opts ...Option) (*KafkaContainer, error) {
	o := newOptions(opts)
	if o.KafkaImage == "" {
		return nil, errors.New("env: the Kafka image must be named (KOP_KAFKA_IMAGE); `make conformance TARGET=kafka` builds and names it")
	}
	plan, err := NewPlan(o.protocols(), protocol.LevelNames(), Published, Proxied)
	if err != nil {
		return nil, err
	}
	c, err := runPublished(ctx, o, o.KafkaImage, func(pick func() (int, error)) ([]testcontainers.ContainerCustomizer, error) {
		if err := plan.Bind(pick); err != nil {
			return nil, err
		}
		o.say("starting Apache Kafka (%s) on %s", o.KafkaImage, plan.Main(Plaintext).Addr)
		return kafkaCustomizers(o, plan), nil
	})
	if c == nil {
		return nil, err
	}
	k := &KafkaContainer{DockerContainer: c, Plan: plan, certDir: o.CertDir, sasl: o.SASL}
	if err != nil {
		return k, err
	}
	if o.SASL {
		bootstrap := plan.Main(Plaintext).Addr
		if err := grantKafka(ctx, bootstrap); err != nil {
			return k, err
		}
		if err := createKafkaSCRAM(ctx, bootstrap); err != nil {
			return k, err
		}
	}
	return k, nil
}

// kafkaCustomizers configure Kafka through its image's entry point: KAFKA_ADVERTISED_LISTENERS
// and KAFKA_CONF_<key with _ for .> overrides of server.properties.
func kafkaCustomizers(o Options, plan *Plan) []testcontainers.ContainerCustomizer {
	var listeners, advertised, protocols []string
	conf := map[string]string{"inter.broker.listener.name": "INTERNAL"}
	for _, l := range plan.Served() {
		name, spec := string(l.Protocol), protocolSpecs[l.Protocol]
		listeners = append(listeners, fmt.Sprintf("%s://0.0.0.0:%d", name, l.Port))
		advertised = append(advertised, name+"://"+l.Addr)
		protocols = append(protocols, name+":"+spec.security)
		if spec.clientAuth {
			conf["listener.name."+strings.ToLower(name)+".ssl.client.auth"] = "required"
		}
	}
	conf["listeners"] = strings.Join(append(listeners, kafkaController, kafkaInternal), ",")
	conf["listener.security.protocol.map"] = strings.Join(append(protocols, "CONTROLLER:PLAINTEXT", "INTERNAL:PLAINTEXT"), ",")
	custom := []testcontainers.ContainerCustomizer{}
	if o.CertDir != "" {
		// Kafka's own TLS listeners: PEM key and trust stores.
		conf["ssl.keystore.type"], conf["ssl.keystore.location"] = "PEM", certMount+certs.ServerStoreFile
		conf["ssl.truststore.type"], conf["ssl.truststore.location"] = "PEM", certMount+certs.CAFile
		custom = append(custom, certFiles(o.CertDir))
	}
	if o.SASL {
		for k, v := range kafkaSASLSettings() {
			conf[k] = v
		}
	}
	for k, v := range o.KafkaConfig {
		conf[k] = v
	}
	vars := map[string]string{"KAFKA_ADVERTISED_LISTENERS": strings.Join(append(advertised, kafkaInternal), ",")}
	for k, v := range conf {
		vars["KAFKA_CONF_"+strings.ReplaceAll(k, ".", "_")] = v
	}
	ready := wait.ForAll(
		wait.ForLog("Kafka Server started").WithStartupTimeout(o.StartupTimeout),
		ForKafkaAPI(fmt.Sprintf("%d/tcp", protocolSpecs[Plaintext].port)).WithStartupTimeout(o.StartupTimeout),
	)
	return append(custom, publish(plan.Published()), testcontainers.WithEnv(vars), testcontainers.WithWaitStrategy(ready))
}

// Target is the Kafka target: its listeners, certificates and SASL users. The level
// listeners are level proxies': call it once they run (see StartKafka).
func (k *KafkaContainer) Target() clients.Target {
	t := clients.Target{Name: "kafka", CertDir: k.certDir}
	if k.sasl {
		t.Users = kafkaUsers
	}
	k.Plan.Apply(&t)
	return t
}

// Restart stops Kafka cleanly (an unclean stop starts a log recovery whose length is Kafka's
// business, not the suite's) and starts it again on the same ports, returning once it answers
// ApiVersions.
func (k *KafkaContainer) Restart(ctx context.Context) error {
	return restart(ctx, k.DockerContainer, 30*time.Second)
}
