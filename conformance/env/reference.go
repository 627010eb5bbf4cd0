package env

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/fixtures/certs"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// ReferenceContainer is the reference server (kop-reference) in a container next to its
// Pulsar.
type ReferenceContainer struct {
	*testcontainers.DockerContainer
	// Plan has every listener: each protocol's main one and one per level, all served by the
	// server itself and published on loopback.
	Plan *Plan
	// WireURL is the server's wire tap (KOP_DEBUG_ADDR), published on loopback.
	WireURL string
	// MetricsURL is the server's Prometheus endpoint (KOP_METRICS_ADDR), published on loopback.
	MetricsURL string

	certDir string
	users   map[string]clients.Credentials
}

const (
	referenceAlias = "reference"
	debugPort      = 9099 // the reference server's wire tap
	metricsPort    = 9098 // the reference server's Prometheus metrics
)

// RunReference starts the reference server on pulsar's Docker network, with the options'
// listeners (PLAINTEXT; SSL and MTLS with WithCerts; SASL_PLAINTEXT with WithSASL, which needs
// pulsar started WithSASL too), each also per protocol level, and waits until it answers
// ApiVersions. On error the container, if it was created, is returned too, for its logs.
func RunReference(ctx context.Context, pulsar *PulsarContainer, opts ...Option) (*ReferenceContainer, error) {
	o := newOptions(opts)
	switch {
	case o.ReferenceImage == "":
		return nil, errors.New("env: the reference image must be named (KOP_REFERENCE_IMAGE); `make conformance` builds and names it")
	case pulsar == nil || pulsar.network == nil:
		return nil, errors.New("env: the reference server needs a Pulsar on a Docker network (see Start)")
	case o.SASL && pulsar.tokens == nil:
		return nil, errors.New("env: SASL listeners need Pulsar with token authentication (RunPulsar WithSASL)")
	}
	plan, err := NewPlan(o.protocols(), protocol.LevelNames(), Published, Published)
	if err != nil {
		return nil, err
	}
	wireURL, metricsURL := "", ""
	c, err := runPublished(ctx, o, o.ReferenceImage, func(pick func() (int, error)) ([]testcontainers.ContainerCustomizer, error) {
		if err := plan.Bind(pick); err != nil {
			return nil, err
		}
		tapPort, err := pick()
		if err != nil {
			return nil, err
		}
		wireURL = "http://" + loopbackAddr(tapPort)
		scrapePort, err := pick()
		if err != nil {
			return nil, err
		}
		metricsURL = "http://" + loopbackAddr(scrapePort) + "/metrics"
		published := plan.Published()
		published[debugPort] = tapPort
		published[metricsPort] = scrapePort
		o.say("starting reference server (%s) on %s", o.ReferenceImage, plan.Main(Plaintext).Addr)
		return referenceCustomizers(o, pulsar, plan, published), nil
	})
	if c == nil {
		return nil, err
	}
	r := &ReferenceContainer{DockerContainer: c, Plan: plan, WireURL: wireURL, MetricsURL: metricsURL, certDir: o.CertDir}
	if pulsar.tokens != nil && o.SASL {
		r.users = pulsar.tokens.users()
	}
	return r, err
}

func referenceCustomizers(o Options, pulsar *PulsarContainer, plan *Plan, published map[int]int) []testcontainers.ContainerCustomizer {
	vars := map[string]string{
		"KOP_LISTENERS":         plan.KOPListeners(),
		"KOP_PULSAR_URL":        "pulsar://" + pulsarAlias + ":6650",
		"KOP_PULSAR_ADMIN_URL":  "http://" + pulsarAlias + ":8080",
		"KOP_MAX_MESSAGE_BYTES": strconv.Itoa(MaxMessageBytes),
		"KOP_DEBUG_ADDR":        fmt.Sprintf("0.0.0.0:%d", debugPort),
		"KOP_METRICS_ADDR":      fmt.Sprintf("0.0.0.0:%d", metricsPort),
	}
	if o.Fault != "" {
		vars["KOP_FAULT"] = o.Fault
	}
	if o.Pprof {
		vars["KOP_PPROF"] = "true"
	}
	for k, v := range o.ReferenceEnv {
		vars[k] = v
	}
	custom := []testcontainers.ContainerCustomizer{}
	if o.CertDir != "" {
		vars["KOP_SSL_CERT_FILE"] = certMount + certs.ServerCertFile
		vars["KOP_SSL_KEY_FILE"] = certMount + certs.ServerKeyFile
		vars["KOP_SSL_CA_FILE"] = certMount + certs.CAFile
		custom = append(custom, certFiles(o.CertDir))
	}
	if o.SASL {
		vars["KOP_PULSAR_TOKEN"] = pulsar.tokens.admin
	}
	// FROM scratch: nothing to exec into. The log line is printed once Pulsar answered; the
	// ApiVersions wait proves the listener serves (and is what a restart waits for, since the
	// log line of the previous run is still in the container's log).
	ready := wait.ForAll(
		wait.ForLog("msg=listening listener=default").WithStartupTimeout(o.StartupTimeout),
		ForKafkaAPI(fmt.Sprintf("%d/tcp", protocolSpecs[Plaintext].port)).WithStartupTimeout(o.StartupTimeout),
	)
	return append(custom,
		tcnetwork.WithNetwork([]string{referenceAlias}, pulsar.network),
		publish(published),
		memoryLimit(o.ReferenceMemory),
		testcontainers.WithEnv(vars),
		testcontainers.WithWaitStrategy(ready),
	)
}

// Target is the reference target: its listeners, wire tap, certificates and SASL users (the
// caller adds its Pulsar).
func (r *ReferenceContainer) Target() clients.Target {
	t := clients.Target{Name: "reference", WireURL: r.WireURL, MetricsURL: r.MetricsURL, Users: r.users, CertDir: r.certDir}
	r.Plan.Apply(&t)
	return t
}

// memoryLimit caps a container's memory, swap included (after publish: it keeps the host
// config changes made before it).
func memoryLimit(bytes int64) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		if bytes <= 0 {
			return nil
		}
		before := req.HostConfigModifier
		req.HostConfigModifier = func(hc *container.HostConfig) {
			if before != nil {
				before(hc)
			}
			hc.Memory, hc.MemorySwap = bytes, bytes
		}
		return nil
	}
}

// Health is what Docker knows of the server container: whether it runs, whether the kernel
// killed it for memory, when it last started and the memory cap it runs under.
type Health struct {
	Running, OOMKilled bool
	StartedAt          string
	MemoryLimit        int64
}

// Health inspects the container.
func (r *ReferenceContainer) Health(ctx context.Context) (Health, error) {
	info, err := r.Inspect(ctx)
	if err != nil {
		return Health{}, err
	}
	var h Health
	if info.State != nil {
		h.Running, h.OOMKilled, h.StartedAt = info.State.Running, info.State.OOMKilled, info.State.StartedAt
	}
	if info.HostConfig != nil {
		h.MemoryLimit = info.HostConfig.Memory
	}
	return h, nil
}

// Restart kills the server (SIGKILL: it keeps nothing that Pulsar does not have) and starts it
// again on the same ports, returning once it answers ApiVersions.
func (r *ReferenceContainer) Restart(ctx context.Context) error {
	return restart(ctx, r.DockerContainer, 0)
}
