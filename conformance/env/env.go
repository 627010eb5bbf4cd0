// Package env provides the endpoint the conformance suite runs against: Pulsar standalone and
// the reference server started as containers on one Docker network (testcontainers-go), an
// Apache Kafka broker container (the oracle), or an external Kafka-protocol endpoint. Targets
// without level listeners of their own get level proxies (package levelproxy).
//
// Each container has a Run function in the style of testcontainers-go modules (RunPulsar,
// RunReference, RunKafka) returning a typed container; one listener Plan per target yields
// its published ports, listener configuration, level proxies and client endpoints; readiness
// is a wait strategy (KafkaAPIStrategy: the server answers ApiVersions).
package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// Env is a running environment.
type Env struct {
	Target    clients.Target
	opts      Options
	net       *testcontainers.DockerNetwork
	pulsar    *PulsarContainer
	reference *ReferenceContainer
	kafka     *KafkaContainer
	proxies   levelProxies

	dockerClient *testcontainers.DockerClient // for the fault methods (faults.go), made on first use
}

func newEnv(o Options) *Env {
	return &Env{opts: o, proxies: levelProxies{logDir: o.LogDir, certDir: o.CertDir}}
}

// Start brings up Pulsar and the reference server. On error everything started is removed.
func Start(ctx context.Context, opts ...Option) (*Env, error) {
	o := newOptions(opts)
	if o.PulsarImage == "" || o.ReferenceImage == "" {
		return nil, errors.New("env: the Pulsar and reference images must be named (KOP_PULSAR_IMAGE, KOP_REFERENCE_IMAGE); `make conformance` builds and names them")
	}
	e := newEnv(o)
	return e.started(e.startReference(ctx, opts))
}

func (e *Env) startReference(ctx context.Context, opts []Option) (err error) {
	start := time.Now()
	if e.net, err = tcnetwork.New(ctx); err != nil {
		return fmt.Errorf("docker network: %w", err)
	}
	if e.pulsar, err = RunPulsar(ctx, append(opts[:len(opts):len(opts)], onNetwork(e.net))...); err != nil {
		return fmt.Errorf("pulsar: %w", err)
	}
	e.opts.say("Pulsar ready after %s", time.Since(start).Round(time.Second))
	if e.reference, err = RunReference(ctx, e.pulsar, opts...); err != nil {
		return fmt.Errorf("reference server: %w", err)
	}
	e.Target = e.reference.Target()
	e.Target.Pulsar = e.pulsar.Client()
	e.opts.say("environment ready after %s", time.Since(start).Round(time.Second))
	return nil
}

// StartKafka brings up a single-node Apache Kafka (KRaft) container, the oracle target, with
// level proxies in front of each of its listeners. On error everything started is removed.
func StartKafka(ctx context.Context, opts ...Option) (*Env, error) {
	e := newEnv(newOptions(opts))
	return e.started(e.startKafka(ctx, opts))
}

func (e *Env) startKafka(ctx context.Context, opts []Option) (err error) {
	start := time.Now()
	if e.kafka, err = RunKafka(ctx, opts...); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	wireURL, err := e.proxyLevels(e.kafka.Plan)
	if err != nil {
		return err
	}
	e.Target = e.kafka.Target()
	e.Target.WireURL = wireURL
	e.opts.say("Kafka ready after %s", time.Since(start).Round(time.Second))
	return nil
}

// started is e once its start succeeded; after a failed one it removes what was started
// (saving the containers' logs) and returns the error.
func (e *Env) started(err error) (*Env, error) {
	if err != nil {
		e.Stop(context.Background())
		return nil, err
	}
	return e, nil
}

// RestartServer kills the Kafka-protocol server container (the reference server, or Kafka),
// starts it again on the same ports and waits until it answers Kafka requests: the reference
// server gets SIGKILL, Kafka a clean stop (see their Restart methods).
func (e *Env) RestartServer(ctx context.Context) error {
	switch {
	case e.reference != nil:
		return e.reference.Restart(ctx)
	case e.kafka != nil:
		return e.kafka.Restart(ctx)
	}
	return errors.New("this environment has no server container to restart")
}

// ServerHealth is the reference server container's state (see Health); other targets have no
// container of the suite's that could run out of memory.
func (e *Env) ServerHealth(ctx context.Context) (Health, error) {
	if e.reference == nil {
		return Health{}, errors.New("this environment has no reference server container")
	}
	return e.reference.Health(ctx)
}

// Stop saves container logs (when a log directory is set) and removes everything.
func (e *Env) Stop(ctx context.Context) {
	e.proxies.close()
	for _, c := range e.containers() {
		e.saveLogs(ctx, c.name, c.DockerContainer)
		if err := c.Terminate(ctx); err != nil {
			e.opts.say("removing %s container: %v", c.name, err)
		}
	}
	if e.net != nil {
		if err := e.net.Remove(ctx); err != nil {
			e.opts.say("removing network: %v", err)
		}
	}
	if e.dockerClient != nil {
		e.dockerClient.Close()
	}
}

// ContainerID is the Docker id of the environment's container of that name (reference, kafka
// or pulsar), for callers that read its cgroup figures (the benchmark).
func (e *Env) ContainerID(name string) (string, bool) {
	for _, c := range e.containers() {
		if c.name == name {
			return c.GetContainerID(), true
		}
	}
	return "", false
}

type namedContainer struct {
	name string
	*testcontainers.DockerContainer
}

// containers are the environment's containers, servers before the Pulsar they use.
func (e *Env) containers() []namedContainer {
	var out []namedContainer
	if e.reference != nil {
		out = append(out, namedContainer{"reference", e.reference.DockerContainer})
	}
	if e.kafka != nil {
		out = append(out, namedContainer{"kafka", e.kafka.DockerContainer})
	}
	if e.pulsar != nil {
		out = append(out, namedContainer{"pulsar", e.pulsar.DockerContainer})
	}
	return out
}

func (e *Env) saveLogs(ctx context.Context, name string, c *testcontainers.DockerContainer) {
	if e.opts.LogDir == "" {
		return
	}
	rc, err := c.Logs(ctx)
	if err != nil {
		return
	}
	defer rc.Close()
	if err := os.MkdirAll(e.opts.LogDir, 0o755); err != nil {
		return
	}
	f, err := os.Create(filepath.Join(e.opts.LogDir, name+".log"))
	if err != nil {
		return
	}
	defer f.Close()
	io.Copy(f, rc)
}
