package env

// Faults the fault run injects into a running environment (conformance/rules names the kinds).
// Each method returns once the environment is in the state it names, fails with an error
// saying which container and what went wrong, and is safe to call twice: a heal of what is
// not broken, or a second break of what is broken, does nothing.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// stateWait bounds the wait for Docker to report a container stopped after a kill.
const stateWait = 30 * time.Second

// pulsarStopGrace is how long Pulsar gets to stop on SIGTERM before SIGKILL (RestartPulsar).
const pulsarStopGrace = 10 * time.Second

// docker is the Docker API client for what testcontainers does not wrap (kill, pause,
// network disconnect), made on first use with testcontainers' own settings.
func (e *Env) docker(ctx context.Context) (*testcontainers.DockerClient, error) {
	if e.dockerClient == nil {
		cli, err := testcontainers.NewDockerClientWithOpts(ctx)
		if err != nil {
			return nil, fmt.Errorf("docker client: %w", err)
		}
		e.dockerClient = cli
	}
	return e.dockerClient, nil
}

// server is the Kafka-protocol server's container: the reference server, or Kafka.
func (e *Env) server() (namedContainer, error) {
	switch {
	case e.reference != nil:
		return namedContainer{"reference", e.reference.DockerContainer}, nil
	case e.kafka != nil:
		return namedContainer{"kafka", e.kafka.DockerContainer}, nil
	}
	return namedContainer{}, errors.New("this environment has no server container")
}

// storage is the container that keeps the log: Pulsar behind the reference server, or Kafka.
func (e *Env) storage() (namedContainer, error) {
	switch {
	case e.pulsar != nil:
		return namedContainer{"pulsar", e.pulsar.DockerContainer}, nil
	case e.kafka != nil:
		return namedContainer{"kafka", e.kafka.DockerContainer}, nil
	}
	return namedContainer{}, errors.New("this environment has no container that keeps the log")
}

// KillServer kills the Kafka-protocol server (the reference server or Kafka) with SIGKILL,
// with no grace (unlike RestartServer's clean stop of Kafka), and starts it again on the same
// ports, returning once it answers ApiVersions.
func (e *Env) KillServer(ctx context.Context) error {
	c, err := e.server()
	if err != nil {
		return err
	}
	if err := e.kill(ctx, c); err != nil {
		return err
	}
	if err := startAgain(ctx, c.DockerContainer); err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

// kill sends SIGKILL to a running container (unpausing it first: Docker refuses to kill a
// paused one) and waits until Docker reports it stopped.
func (e *Env) kill(ctx context.Context, c namedContainer) error {
	st, err := c.State(ctx)
	if err != nil {
		return fmt.Errorf("%s: inspecting the container: %w", c.name, err)
	}
	if !st.Running {
		return nil
	}
	cli, err := e.docker(ctx)
	if err != nil {
		return err
	}
	if st.Paused {
		if _, err := cli.ContainerUnpause(ctx, c.GetContainerID(), client.ContainerUnpauseOptions{}); err != nil {
			return fmt.Errorf("%s: unpausing before the kill: %w", c.name, err)
		}
	}
	if _, err := cli.ContainerKill(ctx, c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("%s: SIGKILL: %w", c.name, err)
	}
	return waitState(ctx, c, "stopped", func(st *container.State) bool { return !st.Running })
}

// waitState polls the container's state until done says so, at most stateWait.
func waitState(ctx context.Context, c namedContainer, what string, done func(*container.State) bool) error {
	ctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	for {
		st, err := c.State(ctx)
		if err == nil && done(st) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not %s within %s (last: %+v, %v)", c.name, what, stateWait, st, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// PauseStorage freezes the container that keeps the log (Pulsar behind the reference
// server; the Kafka broker itself) with Docker's pause: its processes stop, its sockets stay
// open, so clients see requests hang rather than connections refused.
func (e *Env) PauseStorage(ctx context.Context) error {
	c, err := e.storage()
	if err != nil {
		return err
	}
	st, err := c.State(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("%s: inspecting the container: %w", c.name, err)
	case st.Paused:
		return nil
	case !st.Running:
		return fmt.Errorf("%s: cannot pause a container that is %s", c.name, st.Status)
	}
	cli, err := e.docker(ctx)
	if err != nil {
		return err
	}
	if _, err := cli.ContainerPause(ctx, c.GetContainerID(), client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("%s: pause: %w", c.name, err)
	}
	return waitState(ctx, c, "paused", func(st *container.State) bool { return st.Paused })
}

// UnpauseStorage resumes the container PauseStorage froze.
func (e *Env) UnpauseStorage(ctx context.Context) error {
	c, err := e.storage()
	if err != nil {
		return err
	}
	st, err := c.State(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("%s: inspecting the container: %w", c.name, err)
	case !st.Paused:
		return nil
	}
	cli, err := e.docker(ctx)
	if err != nil {
		return err
	}
	if _, err := cli.ContainerUnpause(ctx, c.GetContainerID(), client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("%s: unpause: %w", c.name, err)
	}
	return waitState(ctx, c, "running unpaused", func(st *container.State) bool { return st.Running && !st.Paused })
}

// RestartPulsar stops Pulsar (SIGTERM, then SIGKILL after pulsarStopGrace) and starts it
// again, returning once its admin API serves the default namespace; the reference server
// keeps running and must reconnect by itself. Pulsar's broker port is fixed, but Docker picks
// its admin port again: the environment's AdminURL and Target.Pulsar are updated, and a caller
// holding a copy of them (the suite's processes) must take the new ones.
func (e *Env) RestartPulsar(ctx context.Context) error {
	if e.pulsar == nil {
		return errors.New("this environment has no Pulsar container")
	}
	c := namedContainer{"pulsar", e.pulsar.DockerContainer}
	if err := e.UnpauseStorage(ctx); err != nil { // Docker does not stop a paused container
		return err
	}
	grace := pulsarStopGrace
	if err := c.Stop(ctx, &grace); err != nil {
		return fmt.Errorf("pulsar: stopping: %w", err)
	}
	if err := startAgain(ctx, c.DockerContainer); err != nil {
		return fmt.Errorf("pulsar: %w", err)
	}
	return e.refreshPulsar(ctx)
}

// refreshPulsar reads Pulsar's admin port again after a start (Docker picks it) into AdminURL
// and Target.Pulsar.
func (e *Env) refreshPulsar(ctx context.Context) error {
	adminURL, err := e.pulsar.PortEndpoint(ctx, "8080/tcp", "http")
	if err != nil {
		return fmt.Errorf("pulsar: the admin port after the start: %w", err)
	}
	e.pulsar.AdminURL = adminURL
	if e.Target.Pulsar != nil {
		e.Target.Pulsar = e.pulsar.Client()
	}
	return nil
}

// DisconnectServer cuts the reference server from the Docker network it shares with Pulsar
// (where it reaches Pulsar as pulsar:6650). That network is its only one, so its published
// ports go with it: clients see connections refused until ReconnectServer.
func (e *Env) DisconnectServer(ctx context.Context) error {
	if e.reference == nil || e.net == nil {
		return errors.New("this environment has no reference server on a Docker network")
	}
	on, err := e.onNetwork(ctx)
	if err != nil || !on {
		return err
	}
	cli, err := e.docker(ctx)
	if err != nil {
		return err
	}
	if _, err := cli.NetworkDisconnect(ctx, e.net.ID, client.NetworkDisconnectOptions{Container: e.reference.GetContainerID(), Force: true}); err != nil {
		return fmt.Errorf("reference: disconnecting from network %s: %w", e.net.Name, err)
	}
	return nil
}

// ReconnectServer puts the reference server back on Pulsar's network under its alias, then
// waits until its main listener answers ApiVersions again (Docker publishes its ports anew).
func (e *Env) ReconnectServer(ctx context.Context) error {
	if _, err := e.connectServer(ctx); err != nil {
		return err
	}
	return e.serverAnswers(ctx)
}

// connectServer attaches the reference server to Pulsar's network under its alias unless it
// is attached (a stopped container can be attached too), and says whether it had to.
func (e *Env) connectServer(ctx context.Context) (bool, error) {
	if e.reference == nil || e.net == nil {
		return false, errors.New("this environment has no reference server on a Docker network")
	}
	on, err := e.onNetwork(ctx)
	if err != nil || on {
		return false, err
	}
	cli, err := e.docker(ctx)
	if err != nil {
		return false, err
	}
	opts := client.NetworkConnectOptions{Container: e.reference.GetContainerID(),
		EndpointConfig: &network.EndpointSettings{Aliases: []string{referenceAlias}}}
	// Its host ports are published again on connect: another process may hold one for a
	// moment, as on a restart.
	for attempt := 1; ; attempt++ {
		_, err = cli.NetworkConnect(ctx, e.net.ID, opts)
		if err == nil || !isPortClash(err) || attempt == startAttempts {
			break
		}
		if err := sleep(ctx, time.Second); err != nil {
			return false, err
		}
	}
	if err != nil {
		return false, fmt.Errorf("reference: reconnecting to network %s: %w", e.net.Name, err)
	}
	return true, nil
}

// serverAnswers waits (at most a minute) until the reference server's main listener answers
// ApiVersions, failing early if its container stops.
func (e *Env) serverAnswers(ctx context.Context) error {
	alive := func(ctx context.Context) error {
		st, err := e.reference.State(ctx)
		if err == nil && !st.Running {
			err = fmt.Errorf("container is %s (exit code %d)", st.Status, st.ExitCode)
		}
		return err
	}
	if err := answersAPIVersions(ctx, e.reference.Plan.Main(Plaintext).Addr, time.Minute, 250*time.Millisecond, alive); err != nil {
		return fmt.Errorf("reference after reconnecting: %w", err)
	}
	return nil
}

// onNetwork says whether the reference server is attached to Pulsar's network.
func (e *Env) onNetwork(ctx context.Context) (bool, error) {
	nets, err := e.reference.Networks(ctx)
	if err != nil {
		return false, fmt.Errorf("reference: inspecting its networks: %w", err)
	}
	return slices.Contains(nets, e.net.Name), nil
}

// UnloadTopic unloads, through Pulsar's admin API, every namespace bundle that owns a
// partition of the Kafka topic (a Pulsar partitioned topic in the reference server's
// tenant/namespace): the broker closes those topics and the next lookup loads them again, so
// every producer and reader on them reconnects. It returns the bundles it unloaded. Unloading
// a bundle nobody owns does nothing, so a second call is harmless.
func (e *Env) UnloadTopic(ctx context.Context, topic string) ([]string, error) {
	if e.pulsar == nil {
		return nil, errors.New("this environment has no Pulsar container")
	}
	p := e.pulsar.Client()
	adm, err := admin.New(&config.Config{WebServiceURL: p.AdminURL, Token: p.Token})
	if err != nil {
		return nil, fmt.Errorf("pulsar admin client: %w", err)
	}
	ns := p.Tenant + "/" + p.Namespace
	full := "persistent://" + ns + "/" + topic
	tn, err := utils.GetTopicName(full)
	if err != nil {
		return nil, err
	}
	meta, err := adm.Topics().GetMetadataWithContext(ctx, *tn)
	if err != nil {
		return nil, fmt.Errorf("pulsar: partitions of %s: %w", full, err)
	}
	names := []string{full} // a topic that is not partitioned is its own only partition
	if meta.Partitions > 0 {
		names = names[:0]
		for i := 0; i < meta.Partitions; i++ {
			names = append(names, fmt.Sprintf("%s-partition-%d", full, i))
		}
	}
	var bundles []string
	for _, name := range names {
		tn, err := utils.GetTopicName(name)
		if err != nil {
			return nil, err
		}
		b, err := adm.Topics().GetBundleRangeWithContext(ctx, *tn)
		if err != nil {
			return nil, fmt.Errorf("pulsar: the bundle of %s: %w", name, err)
		}
		// The range comes as text ("0x40000000_0x80000000"), possibly JSON-quoted.
		if b = strings.Trim(b, "\" \r\n"); !slices.Contains(bundles, b) {
			bundles = append(bundles, b)
		}
	}
	for _, b := range bundles {
		if err := adm.Namespaces().UnloadNamespaceBundleWithContext(ctx, ns, b); err != nil {
			return bundles, fmt.Errorf("pulsar: unloading bundle %s of %s: %w", b, ns, err)
		}
	}
	return bundles, nil
}

// Heal undoes whatever faults left behind, for whatever runs after them: the container that
// keeps the log unpaused, the reference server back on Pulsar's network, and any container
// that stopped (a fault that killed it for good) started again, Pulsar before the server that
// needs it. It says what it had to do.
func (e *Env) Heal(ctx context.Context) (done []string, err error) {
	if _, serr := e.storage(); serr == nil {
		if err := e.UnpauseStorage(ctx); err != nil {
			return done, err
		}
	}
	reconnected := false
	if e.reference != nil && e.net != nil {
		if reconnected, err = e.connectServer(ctx); err != nil {
			return done, err
		}
		if reconnected {
			done = append(done, "reconnected the reference server to Pulsar's network")
		}
	}
	cs := e.containers()
	slices.Reverse(cs)
	for _, c := range cs {
		st, err := c.State(ctx)
		if err != nil {
			return done, fmt.Errorf("%s: inspecting the container: %w", c.name, err)
		}
		if st.Running {
			continue
		}
		if err := startAgain(ctx, c.DockerContainer); err != nil {
			return done, fmt.Errorf("%s: %w", c.name, err)
		}
		done = append(done, fmt.Sprintf("started %s again (it was %s, exit code %d)", c.name, st.Status, st.ExitCode))
		if c.name == "pulsar" {
			if err := e.refreshPulsar(ctx); err != nil {
				return done, err
			}
		}
	}
	if reconnected {
		return done, e.serverAnswers(ctx)
	}
	return done, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
