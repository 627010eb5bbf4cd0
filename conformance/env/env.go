// Package env provides the endpoint the conformance suite runs against: Pulsar standalone and
// the reference server started as containers on one Docker network (testcontainers-go), an
// Apache Kafka broker container (the oracle), or an external Kafka-protocol endpoint. Targets
// without level listeners of their own get level proxies (package levelproxy).
package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
	"github.com/kop-conformance/kop-conformance/conformance/levelproxy"
	"github.com/kop-conformance/kop-conformance/fixtures/certs"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

// Options configure Start; set them with the With* functions.
type Options struct {
	PulsarImage    string
	ReferenceImage string
	KafkaImage     string
	LogDir         string
	Progress       io.Writer
	StartupTimeout time.Duration
	CertDir        string // with certificates (package certs): TLS listeners too
	SASL           bool   // SASL/PLAIN listeners, Pulsar with token authentication and grants
	Fault          string // reference server faults (the mutation check); empty in normal runs
}

// Option customises Start.
type Option func(*Options)

// WithPulsarImage names the Pulsar image (the locally built one, or apachepulsar/pulsar:*).
func WithPulsarImage(img string) Option { return func(o *Options) { o.PulsarImage = img } }

// WithReferenceImage names the reference server image.
func WithReferenceImage(img string) Option { return func(o *Options) { o.ReferenceImage = img } }

// WithKafkaImage names the Apache Kafka image (the kafka target).
func WithKafkaImage(img string) Option { return func(o *Options) { o.KafkaImage = img } }

// WithLogDir is where container logs are saved when the environment stops.
func WithLogDir(dir string) Option { return func(o *Options) { o.LogDir = dir } }

// WithProgress receives one line per step.
func WithProgress(w io.Writer) Option { return func(o *Options) { o.Progress = w } }

// WithCerts adds TLS listeners (SSL, and MTLS requiring client certificates) using the
// certificates certs.Generate wrote to dir.
func WithCerts(dir string) Option { return func(o *Options) { o.CertDir = dir } }

// WithFault starts the reference server with deliberate faults (package reference/faults), for
// the suite's mutation check.
func WithFault(names string) Option { return func(o *Options) { o.Fault = names } }

// WithSASL adds SASL/PLAIN listeners with an allowed and a denied principal; for the reference
// server, Pulsar runs with token authentication and authorization.
func WithSASL() Option { return func(o *Options) { o.SASL = true } }

// Env is a running environment.
type Env struct {
	Target    clients.Target
	opts      Options
	net       *testcontainers.DockerNetwork
	pulsar    *testcontainers.DockerContainer
	reference *testcontainers.DockerContainer
	kafka     *testcontainers.DockerContainer
	proxies   []*levelproxy.Proxy
	// tap records the level proxies' traffic (targets without a server-side tap), served to
	// every suite process over loopback HTTP.
	tap     *wiretap.Tap
	tapSrv  *http.Server
	proxyLg *os.File
}

const (
	pulsarAlias    = "pulsar"
	referencePort  = 9092
	debugPort      = 9099 // the reference server's wire tap
	levelPortStart = 9101
	// TLS listeners: the main one, then one per level from its start (reference and Kafka).
	sslPort, sslLevelStart   = 9094, 9201
	mtlsPort, mtlsLevelStart = 9095, 9301
	saslPort, saslLevelStart = 9096, 9401
	certMount                = "/certs/"
)

// secureListeners names the TLS listeners a target gets with certificates and whether each
// requires client certificates.
var secureListeners = []struct {
	name       string
	port, lv   int
	clientAuth bool
}{{"SSL", sslPort, sslLevelStart, false}, {"MTLS", mtlsPort, mtlsLevelStart, true}}

// certFiles copies the certificate directory into a container.
func certFiles(dir string) testcontainers.CustomizeRequestOption {
	var files []testcontainers.ContainerFile
	for _, f := range []string{certs.CAFile, certs.ServerCertFile, certs.ServerKeyFile, certs.ServerStoreFile} {
		files = append(files, testcontainers.ContainerFile{HostFilePath: filepath.Join(dir, f), ContainerFilePath: certMount + f, FileMode: 0o644})
	}
	return testcontainers.WithFiles(files...)
}

func (o *Options) say(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "==> [env] "+format+"\n", args...)
	}
}

func newOptions(opts []Option) Options {
	o := Options{StartupTimeout: 3 * time.Minute}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// External connects to an endpoint the suite does not manage, with level proxies in front.
func External(ctx context.Context, name, bootstrap string, opts ...Option) (*Env, error) {
	e := &Env{opts: newOptions(opts)}
	if err := WaitKafka(ctx, bootstrap, time.Minute); err != nil {
		return nil, err
	}
	if err := e.proxyLevels(name, bootstrap); err != nil {
		return nil, err
	}
	if err := e.serveTap(); err != nil {
		e.Stop(context.Background())
		return nil, err
	}
	return e, nil
}

// serveTap serves the proxies' wire tap on loopback for every suite process.
func (e *Env) serveTap() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("wire tap listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(wiretap.Path, e.proxyTap().Handler())
	e.tapSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go e.tapSrv.Serve(ln)
	e.Target.WireURL = "http://" + ln.Addr().String()
	return nil
}

func (e *Env) proxyTap() *wiretap.Tap {
	if e.tap == nil {
		e.tap = wiretap.New()
	}
	return e.tap
}

// startProxy starts a level proxy that records into the environment's tap and logs refusals
// to levelproxy.log in the log directory.
func (e *Env) startProxy(cfg levelproxy.Config) (string, error) {
	cfg.Tap = e.proxyTap()
	if e.proxyLg == nil && e.opts.LogDir != "" {
		if err := os.MkdirAll(e.opts.LogDir, 0o755); err == nil {
			e.proxyLg, _ = os.Create(filepath.Join(e.opts.LogDir, "levelproxy.log"))
		}
	}
	if lg := e.proxyLg; lg != nil {
		cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(lg, time.Now().UTC().Format(time.RFC3339Nano)+" "+format+"\n", args...)
		}
	}
	p, addr, err := levelproxy.New(cfg)
	if err != nil {
		return "", err
	}
	e.proxies = append(e.proxies, p)
	return addr, nil
}

// proxyLevels sets the target with one level proxy per protocol level in front of bootstrap.
func (e *Env) proxyLevels(name, bootstrap string) error {
	e.Target = clients.Target{Name: name, Bootstrap: bootstrap, Levels: map[string]string{}}
	for _, lv := range protocol.LevelNames() {
		addr, err := e.startProxy(levelproxy.Config{Bootstrap: bootstrap, Level: lv})
		if err != nil {
			e.Stop(context.Background())
			return err
		}
		e.Target.Levels[lv] = addr
	}
	return nil
}

// proxySecureLevels gives Kafka's TLS listeners (at hostPorts, in secureListeners order) level
// proxies that terminate TLS as the listener would and dial Kafka over TLS (with the client
// certificate, for MTLS).
func (e *Env) proxySecureLevels(hostPorts []int) error {
	dir := e.opts.CertDir
	e.Target.CertDir, e.Target.Secure = dir, map[string]clients.Endpoint{}
	for i, s := range secureListeners {
		front, err := certs.ServerConfig(dir, s.clientAuth)
		if err != nil {
			return err
		}
		cert, key := "", ""
		if s.clientAuth {
			cert, key = certs.ClientCertFile, certs.ClientKeyFile
		}
		back, err := certs.ClientConfig(dir, cert, key)
		if err != nil {
			return err
		}
		ep := clients.Endpoint{Bootstrap: fmt.Sprintf("127.0.0.1:%d", hostPorts[i]), Levels: map[string]string{}}
		for _, lv := range protocol.LevelNames() {
			addr, err := e.startProxy(levelproxy.Config{Bootstrap: ep.Bootstrap, Level: lv, Front: front, Back: back})
			if err != nil {
				return err
			}
			ep.Levels[lv] = addr
		}
		e.Target.Secure[s.name] = ep
	}
	return nil
}

// StartKafka brings up a single-node Apache Kafka (KRaft) container, the oracle target.
func StartKafka(ctx context.Context, opts ...Option) (e *Env, err error) {
	o := newOptions(opts)
	if o.KafkaImage == "" {
		return nil, errors.New("env: the Kafka image must be named (KOP_KAFKA_IMAGE); `make conformance TARGET=kafka` builds and names it")
	}
	e = &Env{opts: o}
	defer func() {
		if err != nil {
			e.Stop(context.Background())
		}
	}()
	start := time.Now()
	ports, err := freePorts(2 + len(secureListeners))
	if err != nil {
		return nil, err
	}
	bootstrap := fmt.Sprintf("127.0.0.1:%d", ports[0])
	published := map[int]int{9092: ports[0]}
	// The broker talks to itself (transaction markers, say) on INTERNAL: the advertised
	// PLAINTEXT address is a host port, unreachable from inside the container.
	listeners := "PLAINTEXT://0.0.0.0:9092,CONTROLLER://localhost:9093,INTERNAL://localhost:9091"
	advertised := "PLAINTEXT://" + bootstrap + ",INTERNAL://localhost:9091"
	protocols := "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT"
	add := func(name, protocol string, port, hostPort int) {
		published[port] = hostPort
		listeners += fmt.Sprintf(",%s://0.0.0.0:%d", name, port)
		advertised += fmt.Sprintf(",%s://127.0.0.1:%d", name, hostPort)
		protocols += fmt.Sprintf(",%s:%s", name, protocol)
	}
	conf := map[string]string{"inter.broker.listener.name": "INTERNAL"}
	custom := []testcontainers.ContainerCustomizer{}
	if o.CertDir != "" {
		// Kafka's own TLS listeners, PEM key and trust stores; MTLS requires client certificates.
		for i, s := range secureListeners {
			add(s.name, "SSL", s.port, ports[1+i])
		}
		conf["ssl.keystore.type"], conf["ssl.keystore.location"] = "PEM", certMount+certs.ServerStoreFile
		conf["ssl.truststore.type"], conf["ssl.truststore.location"] = "PEM", certMount+certs.CAFile
		conf["listener.name.mtls.ssl.client.auth"] = "required"
		custom = append(custom, certFiles(o.CertDir))
	}
	saslHostPort := ports[1+len(secureListeners)]
	if o.SASL {
		add("SASL", "SASL_PLAINTEXT", saslPort, saslHostPort)
		for k, v := range kafkaSASLSettings() {
			conf[k] = v
		}
	}
	conf["listeners"], conf["listener.security.protocol.map"] = listeners, protocols
	vars := map[string]string{"KAFKA_ADVERTISED_LISTENERS": advertised}
	for k, v := range conf {
		vars["KAFKA_CONF_"+strings.ReplaceAll(k, ".", "_")] = v
	}
	exposed := []string{}
	for p := range published {
		exposed = append(exposed, fmt.Sprintf("%d/tcp", p))
	}
	o.say("starting Apache Kafka (%s) on %s", o.KafkaImage, bootstrap)
	e.kafka, err = testcontainers.Run(ctx, o.KafkaImage, append(custom,
		testcontainers.WithExposedPorts(exposed...),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.PortBindings = loopback(published) }),
		testcontainers.WithEnv(vars),
		testcontainers.WithWaitStrategy(wait.ForLog("Kafka Server started").WithStartupTimeout(o.StartupTimeout)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if err := WaitKafka(ctx, bootstrap, time.Minute); err != nil {
		return nil, err
	}
	if err := e.proxyLevels("kafka", bootstrap); err != nil {
		return nil, err
	}
	if o.CertDir != "" {
		if err := e.proxySecureLevels(ports[1:]); err != nil {
			return nil, err
		}
	}
	if o.SASL {
		if err := grantKafka(ctx, bootstrap); err != nil {
			return nil, err
		}
		if err := createKafkaSCRAM(ctx, bootstrap); err != nil {
			return nil, err
		}
		// SASL frames are ordinary Kafka requests: plain level proxies pass them through.
		sasl := clients.Endpoint{Bootstrap: fmt.Sprintf("127.0.0.1:%d", saslHostPort), Levels: map[string]string{}}
		for _, lv := range protocol.LevelNames() {
			addr, err := e.startProxy(levelproxy.Config{Bootstrap: sasl.Bootstrap, Level: lv})
			if err != nil {
				return nil, err
			}
			sasl.Levels[lv] = addr
		}
		if e.Target.Secure == nil {
			e.Target.Secure = map[string]clients.Endpoint{}
		}
		e.Target.Secure["SASL"], e.Target.Users = sasl, kafkaUsers
	}
	if err := e.serveTap(); err != nil {
		return nil, err
	}
	o.say("Kafka ready after %s", time.Since(start).Round(time.Second))
	return e, nil
}

// loopback publishes container ports on 127.0.0.1 at fixed host ports, so the advertised
// address is known before the container starts.
func loopback(ports map[int]int) network.PortMap {
	out := network.PortMap{}
	for c, h := range ports {
		out[network.MustParsePort(fmt.Sprintf("%d/tcp", c))] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(h)}}
	}
	return out
}

// Start brings up Pulsar and the reference server. On error everything started is removed.
func Start(ctx context.Context, opts ...Option) (e *Env, err error) {
	o := newOptions(opts)
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
	var sec *sasl
	if o.SASL {
		if sec, err = newSASL(); err != nil {
			return nil, err
		}
	}
	o.say("starting Pulsar (%s)%s", o.PulsarImage, map[bool]string{true: " with token authentication", false: ""}[o.SASL])
	pulsarPorts, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	if e.pulsar, err = startPulsar(ctx, e.net, o, sec, pulsarPorts[0]); err != nil {
		return nil, fmt.Errorf("pulsar: %w", err)
	}
	adminURL, err := e.pulsar.PortEndpoint(ctx, "8080/tcp", "http")
	if err != nil {
		return nil, err
	}
	if sec != nil {
		if err := sec.grantPulsar(ctx, adminURL); err != nil {
			return nil, err
		}
	}
	pulsarTarget := &clients.Pulsar{ServiceURL: fmt.Sprintf("pulsar://127.0.0.1:%d", pulsarPorts[0]), AdminURL: adminURL,
		Tenant: "public", Namespace: "default"}
	if sec != nil {
		pulsarTarget.Token = sec.admin
	}
	o.say("Pulsar ready after %s", time.Since(start).Round(time.Second))

	levels := protocol.LevelNames()
	nports := 2 + len(levels) // the default listener, one per level, the wire tap
	if o.CertDir != "" {
		nports += len(secureListeners) * (1 + len(levels))
	}
	if o.SASL {
		nports += 1 + len(levels)
	}
	ports, err := freePorts(nports)
	if err != nil {
		return nil, err
	}
	e.Target = clients.Target{Name: "reference", Bootstrap: fmt.Sprintf("127.0.0.1:%d", ports[0]), Levels: map[string]string{},
		Pulsar: pulsarTarget, WireURL: fmt.Sprintf("http://127.0.0.1:%d", ports[nports-1])}
	listeners := []string{fmt.Sprintf("0.0.0.0:%d=127.0.0.1:%d", referencePort, ports[0])}
	published := map[int]int{referencePort: ports[0], debugPort: ports[nports-1]}
	for i, lv := range levels {
		cport, hport := levelPortStart+i, ports[i+1]
		listeners = append(listeners, fmt.Sprintf("%s/0.0.0.0:%d=127.0.0.1:%d", lv, cport, hport))
		e.Target.Levels[lv] = fmt.Sprintf("127.0.0.1:%d", hport)
		published[cport] = hport
	}
	envVars := map[string]string{
		"KOP_PULSAR_URL":        "pulsar://" + pulsarAlias + ":6650",
		"KOP_PULSAR_ADMIN_URL":  "http://" + pulsarAlias + ":8080",
		"KOP_MAX_MESSAGE_BYTES": strconv.Itoa(MaxMessageBytes),
		"KOP_DEBUG_ADDR":        fmt.Sprintf("0.0.0.0:%d", debugPort),
	}
	if o.Fault != "" {
		envVars["KOP_FAULT"] = o.Fault
	}
	custom := []testcontainers.ContainerCustomizer{}
	if o.CertDir != "" {
		next := ports[1+len(levels):]
		e.Target.CertDir, e.Target.Secure = o.CertDir, map[string]clients.Endpoint{}
		for _, s := range secureListeners {
			opt := ""
			if s.clientAuth {
				opt = "?ssl.client.auth=required"
			}
			ep := clients.Endpoint{Bootstrap: fmt.Sprintf("127.0.0.1:%d", next[0]), Levels: map[string]string{}}
			listeners = append(listeners, fmt.Sprintf("SSL://0.0.0.0:%d=%s%s", s.port, ep.Bootstrap, opt))
			published[s.port] = next[0]
			for i, lv := range levels {
				cport, hport := s.lv+i, next[1+i]
				ep.Levels[lv] = fmt.Sprintf("127.0.0.1:%d", hport)
				listeners = append(listeners, fmt.Sprintf("%s/SSL://0.0.0.0:%d=%s%s", lv, cport, ep.Levels[lv], opt))
				published[cport] = hport
			}
			e.Target.Secure[s.name] = ep
			next = next[1+len(levels):]
		}
		envVars["KOP_SSL_CERT_FILE"] = certMount + certs.ServerCertFile
		envVars["KOP_SSL_KEY_FILE"] = certMount + certs.ServerKeyFile
		envVars["KOP_SSL_CA_FILE"] = certMount + certs.CAFile
		custom = append(custom, certFiles(o.CertDir))
	}
	if sec != nil {
		next := ports[nports-2-len(levels):]
		ep := clients.Endpoint{Bootstrap: fmt.Sprintf("127.0.0.1:%d", next[0]), Levels: map[string]string{}}
		listeners = append(listeners, fmt.Sprintf("SASL_PLAINTEXT://0.0.0.0:%d=%s", saslPort, ep.Bootstrap))
		published[saslPort] = next[0]
		for i, lv := range levels {
			cport, hport := saslLevelStart+i, next[1+i]
			ep.Levels[lv] = fmt.Sprintf("127.0.0.1:%d", hport)
			listeners = append(listeners, fmt.Sprintf("%s/SASL_PLAINTEXT://0.0.0.0:%d=%s", lv, cport, ep.Levels[lv]))
			published[cport] = hport
		}
		if e.Target.Secure == nil {
			e.Target.Secure = map[string]clients.Endpoint{}
		}
		e.Target.Secure["SASL"], e.Target.Users = ep, sec.users()
		envVars["KOP_PULSAR_TOKEN"] = sec.admin
	}
	envVars["KOP_LISTENERS"] = strings.Join(listeners, ",")
	bindings := loopback(published)
	exposed := make([]string, 0, len(bindings))
	for p := range bindings {
		exposed = append(exposed, p.String())
	}
	sort.Strings(exposed)
	o.say("starting reference server (%s) on %s", o.ReferenceImage, e.Target.Bootstrap)
	e.reference, err = testcontainers.Run(ctx, o.ReferenceImage, append(custom,
		tcnetwork.WithNetwork([]string{"reference"}, e.net),
		testcontainers.WithExposedPorts(exposed...),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) { hc.PortBindings = bindings }),
		testcontainers.WithEnv(envVars),
		// FROM scratch: nothing to exec into, so wait on the log line printed after Pulsar answered.
		testcontainers.WithWaitStrategy(wait.ForLog("msg=listening listener=default").WithStartupTimeout(o.StartupTimeout)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("reference server: %w", err)
	}
	if err := WaitKafka(ctx, e.Target.Bootstrap, time.Minute); err != nil {
		return nil, err
	}
	o.say("environment ready after %s", time.Since(start).Round(time.Second))
	return e, nil
}

// startPulsar starts Pulsar standalone. Its broker port is published on binaryPort of the
// host's loopback and advertised twice: as pulsar:6650 to the reference server on the Docker
// network (the internal listener) and as 127.0.0.1:binaryPort to the suite's own Pulsar
// clients (the "external" listener), since a Pulsar client connects where the broker says.
func startPulsar(ctx context.Context, nw *testcontainers.DockerNetwork, o Options, sec *sasl, binaryPort int) (*testcontainers.DockerContainer, error) {
	ready := wait.ForHTTP("/admin/v2/namespaces/public/default").WithPort("8080/tcp").WithStartupTimeout(o.StartupTimeout)
	extra := map[string]string{
		"advertisedListeners":  fmt.Sprintf("internal:pulsar://%s:6650,%s:pulsar://127.0.0.1:%d", pulsarAlias, clients.PulsarListener, binaryPort),
		"internalListenerName": "internal",
	}
	if sec != nil {
		ready = ready.WithHeaders(map[string]string{"Authorization": "Bearer " + sec.admin})
		for k, v := range sec.pulsarSettings() {
			extra[k] = v
		}
	}
	custom := []testcontainers.ContainerCustomizer{
		tcnetwork.WithNetwork([]string{pulsarAlias}, nw),
		testcontainers.WithExposedPorts("6650/tcp", "8080/tcp"),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = loopback(map[int]int{6650: binaryPort})
			// 8080 stays on a port Docker picks, published on loopback too.
			hc.PortBindings[network.MustParsePort("8080/tcp")] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
		}),
		testcontainers.WithWaitStrategy(ready),
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
		custom = append(custom, testcontainers.WithEnv(env), testcontainers.WithCmd("sh", "-c",
			"bin/apply-config-from-env.py conf/standalone.conf && exec bin/pulsar standalone -nfw -nss"))
	} else {
		// The local image: the rest is in its standalone.conf; PULSAR_CONF_<key> overrides.
		env := map[string]string{"PULSAR_ADVERTISED_ADDRESS": pulsarAlias}
		for k, v := range extra {
			env["PULSAR_CONF_"+k] = v
		}
		custom = append(custom, testcontainers.WithEnv(env))
	}
	return testcontainers.Run(ctx, o.PulsarImage, custom...)
}

// pulsarSettings are what the reference server needs from Pulsar; the local image has them in
// its standalone.conf, the official image gets them from the environment.
// MaxMessageBytes is the largest record batch the servers under test accept: 4 MiB, above
// Kafka's 1 MiB default so the suite proves large records, below Pulsar's 5 MiB maxMessageSize.
// The Kafka image's message.max.bytes says the same.
const MaxMessageBytes = 4 << 20

var pulsarSettings = map[string]string{
	"brokerEntryMetadataInterceptors":            "org.apache.pulsar.common.intercept.AppendIndexMetadataInterceptor,org.apache.pulsar.common.intercept.AppendBrokerTimestampMetadataInterceptor",
	"exposingBrokerEntryMetadataToClientEnabled": "true",
	"defaultRetentionTimeInMinutes":              "-1",
	"defaultRetentionSizeInMB":                   "-1",
	"brokerDeleteInactiveTopicsEnabled":          "false",
	"brokerServiceCompactionThresholdInBytes":    "1048576",
}

// RestartServer kills the Kafka-protocol server container (the reference server, or Kafka),
// starts it again on the same ports and waits until it answers Kafka requests. The reference
// server gets SIGKILL: it keeps nothing that Pulsar does not have. Kafka gets a clean stop,
// since an unclean one starts a log recovery whose length is Kafka's business, not the suite's.
func (e *Env) RestartServer(ctx context.Context) error {
	c, grace := e.reference, time.Duration(0)
	if c == nil {
		c, grace = e.kafka, 30*time.Second
	}
	if c == nil {
		return errors.New("this environment has no server container to restart")
	}
	if err := c.Stop(ctx, &grace); err != nil {
		return fmt.Errorf("stopping the server: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	return WaitKafka(ctx, e.Target.Bootstrap, 2*time.Minute)
}

// Stop saves container logs (when a log directory is set) and removes everything.
func (e *Env) Stop(ctx context.Context) {
	if e.tapSrv != nil {
		e.tapSrv.Close()
	}
	for _, p := range e.proxies {
		p.Close()
	}
	if e.proxyLg != nil {
		e.proxyLg.Close()
	}
	for name, c := range map[string]*testcontainers.DockerContainer{"pulsar": e.pulsar, "reference": e.reference, "kafka": e.kafka} {
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
