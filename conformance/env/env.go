// Package env provides the endpoint the conformance suite runs against: Pulsar standalone and
// the reference server started as containers on one Docker network (testcontainers-go), or an
// external Kafka-protocol endpoint named by the caller.
package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// Options configure Start; set them with the With* functions.
type Options struct {
	PulsarImage    string
	ReferenceImage string
	LogDir         string
	Progress       io.Writer
	StartupTimeout time.Duration
}

// Option customises Start.
type Option func(*Options)

// WithPulsarImage names the Pulsar image (the locally built one, or apachepulsar/pulsar:*).
func WithPulsarImage(img string) Option { return func(o *Options) { o.PulsarImage = img } }

// WithReferenceImage names the reference server image.
func WithReferenceImage(img string) Option { return func(o *Options) { o.ReferenceImage = img } }

// WithLogDir is where container logs are saved when the environment stops.
func WithLogDir(dir string) Option { return func(o *Options) { o.LogDir = dir } }

// WithProgress receives one line per step.
func WithProgress(w io.Writer) Option { return func(o *Options) { o.Progress = w } }

// Env is a running environment.
type Env struct {
	Target    clients.Target
	opts      Options
	net       *testcontainers.DockerNetwork
	pulsar    *testcontainers.DockerContainer
	reference *testcontainers.DockerContainer
}

const (
	pulsarAlias    = "pulsar"
	referencePort  = 9092
	levelPortStart = 9101
)

func (o *Options) say(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "==> [env] "+format+"\n", args...)
	}
}

// Start brings up Pulsar and the reference server. On error everything started is removed.
func Start(ctx context.Context, opts ...Option) (e *Env, err error) {
	o := Options{StartupTimeout: 3 * time.Minute}
	for _, f := range opts {
		f(&o)
	}
	if o.PulsarImage == "" || o.ReferenceImage == "" {
		return nil, errors.New("env: the Pulsar and reference images must be named (KOP_PULSAR_IMAGE, KOP_REFERENCE_IMAGE); `make conformance` builds and names them")
	}
	e = &Env{opts: o}
	defer func() {
		if err != nil {
			e.Stop(context.Background())
		}
	}()
	start := time.Now()
	if e.net, err = tcnetwork.New(ctx); err != nil {
		return nil, fmt.Errorf("docker network: %w", err)
	}
	o.say("starting Pulsar (%s)", o.PulsarImage)
	if e.pulsar, err = startPulsar(ctx, e.net, o); err != nil {
		return nil, fmt.Errorf("pulsar: %w", err)
	}
	o.say("Pulsar ready after %s", time.Since(start).Round(time.Second))

	levels := protocol.LevelNames()
	ports, err := freePorts(1 + len(levels))
	if err != nil {
		return nil, err
	}
	e.Target = clients.Target{Name: "reference", Bootstrap: fmt.Sprintf("127.0.0.1:%d", ports[0]), Levels: map[string]string{}}
	listeners := []string{fmt.Sprintf("0.0.0.0:%d=127.0.0.1:%d", referencePort, ports[0])}
	bindings := network.PortMap{}
	bind := func(cport, hport int) {
		bindings[network.MustParsePort(fmt.Sprintf("%d/tcp", cport))] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(hport)}}
	}
	bind(referencePort, ports[0])
	for i, lv := range levels {
		cport, hport := levelPortStart+i, ports[i+1]
		listeners = append(listeners, fmt.Sprintf("%s/0.0.0.0:%d=127.0.0.1:%d", lv, cport, hport))
		e.Target.Levels[lv] = fmt.Sprintf("127.0.0.1:%d", hport)
		bind(cport, hport)
	}
	exposed := make([]string, 0, len(bindings))
	for p := range bindings {
		exposed = append(exposed, p.String())
	}
	sort.Strings(exposed)
	o.say("starting reference server (%s) on %s", o.ReferenceImage, e.Target.Bootstrap)
	e.reference, err = testcontainers.Run(ctx, o.ReferenceImage,
		tcnetwork.WithNetwork([]string{"reference"}, e.net),
		testcontainers.WithExposedPorts(exposed...),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.PortBindings = bindings }),
		testcontainers.WithEnv(map[string]string{
			"KOP_LISTENERS":        strings.Join(listeners, ","),
			"KOP_PULSAR_URL":       "pulsar://" + pulsarAlias + ":6650",
			"KOP_PULSAR_ADMIN_URL": "http://" + pulsarAlias + ":8080",
		}),
		// FROM scratch: nothing to exec into, so wait on the log line printed after Pulsar answered.
		testcontainers.WithWaitStrategy(wait.ForLog("msg=listening listener=default").WithStartupTimeout(o.StartupTimeout)),
	)
	if err != nil {
		return nil, fmt.Errorf("reference server: %w", err)
	}
	if err := WaitKafka(ctx, e.Target.Bootstrap, time.Minute); err != nil {
		return nil, err
	}
	o.say("environment ready after %s", time.Since(start).Round(time.Second))
	return e, nil
}

func startPulsar(ctx context.Context, nw *testcontainers.DockerNetwork, o Options) (*testcontainers.DockerContainer, error) {
	custom := []testcontainers.ContainerCustomizer{
		tcnetwork.WithNetwork([]string{pulsarAlias}, nw),
		testcontainers.WithExposedPorts("6650/tcp", "8080/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/admin/v2/namespaces/public/default").
			WithPort("8080/tcp").WithStartupTimeout(o.StartupTimeout)),
	}
	if strings.HasPrefix(o.PulsarImage, "apachepulsar/") {
		// The official image: same settings through its PULSAR_PREFIX_ mechanism.
		env := map[string]string{"PULSAR_MEM": "-Xms256m -Xmx768m -XX:MaxDirectMemorySize=768m"}
		for k, v := range pulsarSettings {
			env["PULSAR_PREFIX_"+k] = v
		}
		env["PULSAR_PREFIX_advertisedAddress"] = pulsarAlias
		custom = append(custom, testcontainers.WithEnv(env), testcontainers.WithCmd("sh", "-c",
			"bin/apply-config-from-env.py conf/standalone.conf && exec bin/pulsar standalone -nfw -nss"))
	} else {
		custom = append(custom, testcontainers.WithEnv(map[string]string{"PULSAR_ADVERTISED_ADDRESS": pulsarAlias}))
	}
	return testcontainers.Run(ctx, o.PulsarImage, custom...)
}

// pulsarSettings are what the reference server needs from Pulsar; the local image has them in
// its standalone.conf, the official image gets them from the environment.
var pulsarSettings = map[string]string{
	"brokerEntryMetadataInterceptors":            "org.apache.pulsar.common.intercept.AppendIndexMetadataInterceptor,org.apache.pulsar.common.intercept.AppendBrokerTimestampMetadataInterceptor",
	"exposingBrokerEntryMetadataToClientEnabled": "true",
	"defaultRetentionTimeInMinutes":              "-1",
	"defaultRetentionSizeInMB":                   "-1",
	"brokerDeleteInactiveTopicsEnabled":          "false",
}

// RestartReference kills the reference container (SIGKILL: no graceful shutdown), starts it
// again on the same ports and waits until it answers Kafka requests.
func (e *Env) RestartReference(ctx context.Context) error {
	if e.reference == nil {
		return errors.New("no reference container in this environment")
	}
	var kill time.Duration
	if err := e.reference.Stop(ctx, &kill); err != nil {
		return fmt.Errorf("stopping reference: %w", err)
	}
	if err := e.reference.Start(ctx); err != nil {
		return fmt.Errorf("starting reference: %w", err)
	}
	return WaitKafka(ctx, e.Target.Bootstrap, time.Minute)
}

// Stop saves container logs (when a log directory is set) and removes everything.
func (e *Env) Stop(ctx context.Context) {
	for name, c := range map[string]*testcontainers.DockerContainer{"pulsar": e.pulsar, "reference": e.reference} {
		if c == nil {
			continue
		}
		e.saveLogs(ctx, name, c)
		if err := c.Terminate(ctx); err != nil {
			e.opts.say("removing %s container: %v", name, err)
		}
	}
	if e.net != nil {
		if err := e.net.Remove(ctx); err != nil {
			e.opts.say("removing network: %v", err)
		}
	}
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

// WaitKafka waits until addr answers an ApiVersions request. A published Docker port accepts
// TCP before the process inside listens, so only a real request proves readiness.
func WaitKafka(ctx context.Context, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0), kgo.DialTimeout(2*time.Second))
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			_, err = kmsg.NewPtrApiVersionsRequest().RequestWith(rctx, cl)
			cancel()
			cl.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer ApiVersions within %s: %v", addr, within, last)
}

// freePorts asks the kernel for n free loopback ports.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		lns = append(lns, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
