package env

import (
	"fmt"
	"io"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// Options configure Start, StartKafka, External and the Run functions; set them with the
// With* functions.
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
	// ReferenceMemory caps the reference container's memory (bytes, swap included); 0 is
	// no cap. A request that makes the server allocate past it gets the server OOM-killed,
	// which the hostile specs look for.
	ReferenceMemory int64
	// Pprof serves Go's profiler beside the reference server's metrics (KOP_PPROF): the
	// benchmark forces a garbage collection through it before reading the heap.
	Pprof bool
	// ReferenceEnv sets or overrides the reference server's KOP_* variables (its flags), e.g.
	// a connection limit a load test must lift.
	ReferenceEnv map[string]string
	// KafkaConfig sets or overrides Kafka's server.properties, e.g. a setting a load test
	// gives both targets alike.
	KafkaConfig map[string]string

	network *testcontainers.DockerNetwork // the Docker network Pulsar joins (Start makes it)
}

// Option customises Start and the Run functions.
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

// WithReferenceMemory caps the reference container's memory at bytes (swap included).
func WithReferenceMemory(bytes int64) Option { return func(o *Options) { o.ReferenceMemory = bytes } }

// WithPprof serves the reference server's profiler at /debug/pprof/ on its metrics address.
func WithPprof() Option { return func(o *Options) { o.Pprof = true } }

// WithReferenceEnv sets the reference server's environment variables (KOP_* flags) vars,
// over the ones the environment sets itself.
func WithReferenceEnv(vars map[string]string) Option {
	return func(o *Options) {
		if o.ReferenceEnv == nil {
			o.ReferenceEnv = map[string]string{}
		}
		for k, v := range vars {
			o.ReferenceEnv[k] = v
		}
	}
}

// WithKafkaConfig sets Kafka broker settings (server.properties keys), over the ones the
// environment sets itself.
func WithKafkaConfig(conf map[string]string) Option {
	return func(o *Options) {
		if o.KafkaConfig == nil {
			o.KafkaConfig = map[string]string{}
		}
		for k, v := range conf {
			o.KafkaConfig[k] = v
		}
	}
}

// WithSASL adds SASL/PLAIN listeners with an allowed and a denied principal; for the reference
// server, Pulsar runs with token authentication and authorization.
func WithSASL() Option { return func(o *Options) { o.SASL = true } }

// onNetwork puts Pulsar on a Docker network, where the reference server finds it.
func onNetwork(nw *testcontainers.DockerNetwork) Option {
	return func(o *Options) { o.network = nw }
}

func newOptions(opts []Option) Options {
	o := Options{StartupTimeout: 3 * time.Minute}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// protocols are the listener protocols of a started target: PLAINTEXT always, SSL and MTLS
// with certificates, SASL with WithSASL.
func (o *Options) protocols() []Protocol {
	out := []Protocol{Plaintext}
	if o.CertDir != "" {
		out = append(out, SSL, MTLS)
	}
	if o.SASL {
		out = append(out, SASL)
	}
	return out
}

func (o *Options) say(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "==> [env] "+format+"\n", args...)
	}
}
