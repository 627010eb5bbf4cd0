package env

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// PulsarContainer is Pulsar standalone in a container.
type PulsarContainer struct {
	*testcontainers.DockerContainer
	// ServiceURL is the broker as the suite's own Pulsar clients reach it (the "external"
	// listener, on a loopback host port); AdminURL is the admin REST API.
	ServiceURL, AdminURL string

	network *testcontainers.DockerNetwork // where the reference server reaches it as pulsarAlias
	tokens  *sasl                         // with WithSASL: token authentication and authorization
}

const pulsarAlias = "pulsar"

// MaxMessageBytes is the largest record batch the servers under test accept: 4 MiB, above
// Kafka's 1 MiB default so the suite proves large records, below Pulsar's 5 MiB maxMessageSize.
// The Kafka image's message.max.bytes says the same.
const MaxMessageBytes = 4 << 20

// pulsarSettings are what the reference server needs from Pulsar; the local image has them in
// its standalone.conf, the official image gets them from the environment.
var pulsarSettings = map[string]string{
	"brokerEntryMetadataInterceptors":            "org.apache.pulsar.common.intercept.AppendIndexMetadataInterceptor,org.apache.pulsar.common.intercept.AppendBrokerTimestampMetadataInterceptor",
	"exposingBrokerEntryMetadataToClientEnabled": "true",
	"defaultRetentionTimeInMinutes":              "-1",
	"defaultRetentionSizeInMB":                   "-1",
	"brokerDeleteInactiveTopicsEnabled":          "false",
	"brokerDeduplicationEnabled":                 "true",
	"managedLedgerNewEntriesCheckDelayInMillis":  "1",
	// The gateway's --max-partitions-per-topic default, enforced by Pulsar too (its default, 0,
	// is unlimited) for topics created around the gateway.
	"maxNumPartitionsPerPartitionedTopic": "1000",
}

// RunPulsar starts Pulsar standalone and waits until its admin API serves the default
// namespace. With WithSASL it authenticates with tokens it makes for this run and grants the
// security specs' roles their permissions. On error the container, if it was created, is
// returned too, for its logs.
func RunPulsar(ctx context.Context, opts ...Option) (*PulsarContainer, error) {
	o := newOptions(opts)
	if o.PulsarImage == "" {
		return nil, errors.New("env: the Pulsar image must be named (KOP_PULSAR_IMAGE); `make conformance` builds and names it")
	}
	var tokens *sasl
	if o.SASL {
		var err error
		if tokens, err = newSASL(); err != nil {
			return nil, err
		}
	}
	o.say("starting Pulsar (%s)%s", o.PulsarImage, map[bool]string{true: " with token authentication", false: ""}[o.SASL])
	serviceURL := ""
	c, err := runPublished(ctx, o, o.PulsarImage, func(pick func() (int, error)) ([]testcontainers.ContainerCustomizer, error) {
		binaryPort, err := pick()
		if err != nil {
			return nil, err
		}
		serviceURL = fmt.Sprintf("pulsar://127.0.0.1:%d", binaryPort)
		return pulsarCustomizers(o, tokens, binaryPort), nil
	})
	if c == nil {
		return nil, err
	}
	p := &PulsarContainer{DockerContainer: c, ServiceURL: serviceURL, network: o.network, tokens: tokens}
	if err != nil {
		return p, err
	}
	if p.AdminURL, err = c.PortEndpoint(ctx, "8080/tcp", "http"); err != nil {
		return p, err
	}
	if tokens != nil {
		if err := tokens.grantPulsar(ctx, p.AdminURL); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Client is how the suite's own Pulsar clients reach this Pulsar (with a superuser token when
// it authenticates).
func (p *PulsarContainer) Client() *clients.Pulsar {
	out := &clients.Pulsar{ServiceURL: p.ServiceURL, AdminURL: p.AdminURL, Tenant: "public", Namespace: "default"}
	if p.tokens != nil {
		out.Token = p.tokens.admin
	}
	return out
}

// pulsarCustomizers configure Pulsar. Its broker port is published on binaryPort of the
// host's loopback and advertised twice: as pulsar:6650 to the reference server on the Docker
// network (the internal listener) and as 127.0.0.1:binaryPort to the suite's own Pulsar
// clients (the "external" listener), since a Pulsar client connects where the broker says.
// The admin port is advertised nowhere: Docker picks its host port.
func pulsarCustomizers(o Options, tokens *sasl, binaryPort int) []testcontainers.ContainerCustomizer {
	ready := wait.ForHTTP("/admin/v2/namespaces/public/default").WithPort("8080/tcp").WithStartupTimeout(o.StartupTimeout)
	extra := map[string]string{
		"advertisedListeners":  fmt.Sprintf("internal:pulsar://%s:6650,%s:pulsar://127.0.0.1:%d", pulsarAlias, clients.PulsarListener, binaryPort),
		"internalListenerName": "internal",
	}
	if tokens != nil {
		ready = ready.WithHeaders(map[string]string{"Authorization": "Bearer " + tokens.admin})
		for k, v := range tokens.pulsarSettings() {
			extra[k] = v
		}
	}
	custom := []testcontainers.ContainerCustomizer{publish(map[int]int{6650: binaryPort, 8080: 0}), testcontainers.WithWaitStrategy(ready)}
	if o.network != nil {
		custom = append(custom, tcnetwork.WithNetwork([]string{pulsarAlias}, o.network))
	}
	if strings.HasPrefix(o.PulsarImage, "apachepulsar/") {
		// The official image: same settings through its PULSAR_PREFIX_ mechanism.
		env := map[string]string{"PULSAR_MEM": "-Xms256m -Xmx768m -XX:MaxDirectMemorySize=768m"}
		for k, v := range pulsarSettings {
			env["PULSAR_PREFIX_"+k] = v
		}
		for k, v := range extra {
			env["PULSAR_PREFIX_"+k] = v
		}
		env["PULSAR_PREFIX_advertisedAddress"] = pulsarAlias
		return append(custom, testcontainers.WithEnv(env), testcontainers.WithCmd("sh", "-c",
			"bin/apply-config-from-env.py conf/standalone.conf && exec bin/pulsar standalone -nfw -nss"))
	}
	// The local image: the rest is in its standalone.conf; PULSAR_CONF_<key> overrides.
	env := map[string]string{"PULSAR_ADVERTISED_ADDRESS": pulsarAlias}
	for k, v := range extra {
		env["PULSAR_CONF_"+k] = v
	}
	return append(custom, testcontainers.WithEnv(env))
}
