package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"

	"github.com/testcontainers/testcontainers-go"
	"golang.org/x/sync/errgroup"

	"github.com/kop-conformance/kop-conformance/bench/report"
	"github.com/kop-conformance/kop-conformance/conformance/env"
)

// gatewayMemory caps the gateway's container as the conformance suite does, so it runs
// with the same Go memory limit (80% of the cap).
const gatewayMemory = 2 << 30

// Images name the containers' images (fixtures/scripts/images.sh builds them).
type Images struct{ Pulsar, Reference, Kafka string }

// Environment is the containers the run started: Pulsar with the gateway (for the gateway
// and pulsar paths) and Kafka (for the kafka path), side by side on this machine.
type Environment struct {
	gateway, kafka *env.Env
	docker         *testcontainers.DockerClient
}

// Start starts what the configured paths need, both at once, with the conformance suite's
// environment package; on error it removes whatever it started.
func Start(ctx context.Context, c Config, img Images, logDir string, progress io.Writer) (*Environment, error) {
	e := &Environment{}
	g, gctx := errgroup.WithContext(ctx)
	if slices.Contains(c.Paths, report.Gateway) || slices.Contains(c.Paths, report.Pulsar) {
		g.Go(func() error {
			var err error
			e.gateway, err = env.Start(gctx, env.WithPulsarImage(img.Pulsar), env.WithReferenceImage(img.Reference),
				env.WithLogDir(filepath.Join(logDir, "gateway")), env.WithProgress(progress),
				env.WithReferenceMemory(gatewayMemory), env.WithPprof())
			return err
		})
	}
	if slices.Contains(c.Paths, report.Kafka) {
		g.Go(func() error {
			var err error
			e.kafka, err = env.StartKafka(gctx, env.WithKafkaImage(img.Kafka), env.WithLogDir(filepath.Join(logDir, "kafka")), env.WithProgress(progress))
			return err
		})
	}
	err := g.Wait()
	if err == nil {
		e.docker, err = testcontainers.NewDockerClientWithOpts(ctx)
	}
	if err != nil {
		e.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return e, nil
}

// Endpoints are the started containers' addresses and ids.
func (e *Environment) Endpoints() (Endpoints, error) {
	ep := Endpoints{Containers: map[string]string{}}
	if e.docker != nil {
		ep.Docker = e.docker
	}
	if e.gateway != nil {
		t := e.gateway.Target
		ep.Gateway, ep.Pulsar, ep.MetricsURL = t.Bootstrap, t.Pulsar, t.MetricsURL
		for _, name := range []string{"reference", "pulsar"} {
			if id, ok := e.gateway.ContainerID(name); ok {
				ep.Containers[name] = id
			}
		}
	}
	if e.kafka != nil {
		ep.Kafka = e.kafka.Target.Bootstrap
		if id, ok := e.kafka.ContainerID("kafka"); ok {
			ep.Containers["kafka"] = id
		}
	}
	if e.gateway == nil && e.kafka == nil {
		return ep, errors.New("no environment started")
	}
	if ep.MetricsURL == "" && e.gateway != nil {
		return ep, fmt.Errorf("the gateway publishes no metrics endpoint")
	}
	return ep, nil
}

// Stop saves the containers' logs and removes them, both environments at once.
func (e *Environment) Stop(ctx context.Context) {
	var wg sync.WaitGroup
	for _, x := range []*env.Env{e.gateway, e.kafka} {
		if x != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x.Stop(ctx)
			}()
		}
	}
	wg.Wait()
	if e.docker != nil {
		e.docker.Close()
	}
}
