package env

// Host ports, and why no start depends on luck.
//
// The suite reaches every container on loopback host ports. Most of them are advertised: each
// Kafka listener names its own address (KOP_LISTENERS, Kafka's advertised.listeners), Pulsar's
// "external" listener names the broker port the suite's Pulsar clients use, and the reference
// server's wire tap address is handed to every suite process. Such a port must be known before
// the container is created and must survive RestartServer, so Docker cannot pick it: Docker
// picks when it starts the container, after the configuration is written, and picks again on
// a restart. (Ports nobody advertises, Pulsar's admin port, are left to Docker and read back.)
//
// An advertised port is chosen in two steps that, together, leave no window unhandled:
//
//  1. The kernel picks it (a listener on 127.0.0.1:0), and the listener stays open until the
//     container's PreStarts hook, i.e. right before Docker binds the port: until then no other
//     process can take it, and no two picks of one start can be equal. (The port cannot be
//     handed over: Docker's port proxy binds a socket of its own.)
//  2. Between that release and Docker's bind another process can still take the port. Docker
//     then refuses to start the container ("address already in use", "port is already
//     allocated"); runPublished recognises that, removes the container and starts a new one
//     with a fresh plan (new ports, hence new listener strings and endpoints), up to
//     startAttempts times.
//
// A restart keeps the ports, since the suite's processes hold the addresses: a clash there is
// retried on the same ports for a few seconds and then reported as the failure it is.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
)

// startAttempts bounds the starts runPublished tries before giving up on port clashes.
const startAttempts = 5

// runContainer is testcontainers.Run (a test replaces it to play Docker).
var runContainer = testcontainers.Run

// portPicker holds the kernel-picked ports of one start attempt until Docker binds them.
type portPicker struct {
	mu   sync.Mutex
	held []net.Listener
}

// pick returns a free loopback port and keeps it taken until release.
func (p *portPicker) pick() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = append(p.held, l)
	return l.Addr().(*net.TCPAddr).Port, nil
}

// release frees the picked ports for Docker to bind; later calls do nothing.
func (p *portPicker) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.held {
		l.Close()
	}
	p.held = nil
}

// releaseOnStart releases the ports in the container's PreStarts hook, as late as possible.
func (p *portPicker) releaseOnStart() testcontainers.CustomizeRequestOption {
	return testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
		PreStarts: []testcontainers.ContainerHook{func(context.Context, testcontainers.Container) error {
			p.release()
			return nil
		}},
	})
}

// runPublished runs image with the customizers setup returns. setup is called once per
// attempt with a fresh pick function and must derive every advertised port from it; when
// Docker reports that one was taken, the attempt's container is removed and setup is called
// again. On any other error the container (if created) is returned with the error, so the
// caller can save its logs before removing it.
func runPublished(ctx context.Context, o Options, image string, setup func(pick func() (int, error)) ([]testcontainers.ContainerCustomizer, error)) (*testcontainers.DockerContainer, error) {
	for attempt := 1; ; attempt++ {
		ports := &portPicker{}
		custom, err := setup(ports.pick)
		if err != nil {
			ports.release()
			return nil, err
		}
		c, err := runContainer(ctx, image, append(custom, ports.releaseOnStart())...)
		ports.release()
		if err == nil || !isPortClash(err) || attempt == startAttempts {
			return c, err
		}
		o.say("a host port of %s was taken before Docker bound it; starting again with new ports (%v)", image, err)
		if terr := c.Terminate(context.Background()); terr != nil {
			return nil, fmt.Errorf("removing the container after a port clash: %w (the clash: %v)", terr, err)
		}
	}
}

// isPortClash says whether a container start failed because a host port was taken.
func isPortClash(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "address already in use") || strings.Contains(msg, "port is already allocated")
}

// restart stops c (a grace of 0 is SIGKILL at once) and starts it again on the same ports;
// Start runs the container's wait strategy again, so it returns once the server is ready.
func restart(ctx context.Context, c *testcontainers.DockerContainer, grace time.Duration) error {
	if err := c.Stop(ctx, &grace); err != nil {
		return fmt.Errorf("stopping the server: %w", err)
	}
	return startAgain(ctx, c)
}

// startAgain starts a stopped container on the ports it had, retrying for a few seconds
// while another process holds one, and returns once its wait strategy says it is ready.
func startAgain(ctx context.Context, c *testcontainers.DockerContainer) error {
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if err = c.Start(ctx); err == nil || !isPortClash(err) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return fmt.Errorf("starting again: %w", err)
	}
	return nil
}

// publish exposes the container ports and publishes each on its loopback host port; a host
// port of 0 lets Docker pick one (read it back with MappedPort or PortEndpoint).
func publish(ports map[int]int) testcontainers.CustomizeRequestOption {
	bindings := network.PortMap{}
	exposed := make([]string, 0, len(ports))
	for containerPort, hostPort := range ports {
		p := network.MustParsePort(fmt.Sprintf("%d/tcp", containerPort))
		b := network.PortBinding{HostIP: netip.MustParseAddr("127.0.0.1")}
		if hostPort != 0 {
			b.HostPort = strconv.Itoa(hostPort)
		}
		bindings[p] = []network.PortBinding{b}
		exposed = append(exposed, p.String())
	}
	sort.Strings(exposed)
	return func(req *testcontainers.GenericContainerRequest) error {
		if err := testcontainers.WithExposedPorts(exposed...)(req); err != nil {
			return err
		}
		return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.PortBindings = bindings })(req)
	}
}
