// Package config reads the reference server's settings from flags and KOP_* environment
// variables (a flag wins over its variable) and validates them with specific errors.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
	"github.com/kop-conformance/kop-conformance/reference/listeners"
)

// Listener is one Kafka listener (package listeners: the KOP_LISTENERS syntax).
type Listener = listeners.Listener

// TLS is the server side of SSL listeners.
type TLS struct {
	CertFile   string // PEM certificate chain
	KeyFile    string // PEM private key
	CAFile     string // PEM CAs that sign client certificates (needed unless client auth is none)
	ClientAuth string // default for SSL listeners: none, requested or required
}

// Config is every setting of the reference server.
type Config struct {
	Listeners         []Listener
	TLS               TLS
	PulsarToken       string // the gateway's own Pulsar token (needed for SASL listeners)
	PulsarURL         string
	PulsarAdminURL    string
	Tenant            string
	Namespace         string
	InternalNamespace string // "tenant/namespace" of the gateway's own topics (package naming)
	NodeID            int32
	ClusterID         string
	DefaultPartitions int32
	AutoCreateTopics  bool
	MaxRequestBytes   int32
	MaxMessageBytes   int32
	Conn              ConnLimits // limits_conn.go
	StartupTimeout    time.Duration
	LogLevel          string
	// DebugAddr serves the wire tap (requests by client id) over HTTP; empty is off.
	DebugAddr string
	// MetricsAddr serves Prometheus metrics at /metrics; empty is off. Pprof adds Go's
	// profiler at /debug/pprof/ on the same address.
	MetricsAddr string
	Pprof       bool
	// Faults are deliberate defects for the suite's mutation check (test-only).
	Faults faults.Set
	DataLimits
	Groups GroupLimits // limits_groups.go
	// MetadataMaxAge is the oldest answer about topics the gateway gives from memory (package
	// catalog, Cache): the namespace is listed every min(MetadataMaxAge/2, 2 s), a partition
	// count read again once this old, as clients cache metadata for metadata.max.age.ms.
	MetadataMaxAge time.Duration
	// PartitionIdle parks partitions unused that long; 0 never parks.
	PartitionIdle time.Duration
}

// DefaultMetadataMaxAge is 30 s: a tenth of Kafka clients' metadata.max.age.ms (5 min), so a
// client that refreshes its metadata on schedule sees a change made elsewhere on its next
// refresh, while a busy gateway asks Pulsar about a topic's partitions at most twice a minute.
const DefaultMetadataMaxAge = 30 * time.Second

// DefaultPartitionIdle is how long a partition goes unused before the gateway parks it (closes
// its Pulsar tail reader, producer and fetch readers; reopened on the next use).
const DefaultPartitionIdle = 2 * time.Minute

// Parse reads args (without the program name) and the environment.
func Parse(args []string, getenv func(string) string) (*Config, error) {
	fs := flag.NewFlagSet("kop-reference", flag.ContinueOnError)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var (
		listeners  = fs.String("listeners", env("KOP_LISTENERS", "0.0.0.0:9092=127.0.0.1:9092"), "comma-separated `[LEVEL/][PROTOCOL://]BIND=ADVERTISED_HOST:PORT[?ssl.client.auth=MODE]` listeners; PROTOCOL is PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL (SASL/PLAIN), e.g. 0.0.0.0:9092=kafka.local:9092,SSL://0.0.0.0:9093=kafka.local:9093,2.0/0.0.0.0:9120=kafka.local:9120 (env KOP_LISTENERS)")
		sslCert    = fs.String("ssl-cert-file", env("KOP_SSL_CERT_FILE", ""), "PEM server certificate chain for SSL listeners (env KOP_SSL_CERT_FILE)")
		sslKey     = fs.String("ssl-key-file", env("KOP_SSL_KEY_FILE", ""), "PEM private key of that certificate (env KOP_SSL_KEY_FILE)")
		sslCA      = fs.String("ssl-ca-file", env("KOP_SSL_CA_FILE", ""), "PEM CAs trusted to sign client certificates (env KOP_SSL_CA_FILE)")
		clientAuth = fs.String("ssl-client-auth", env("KOP_SSL_CLIENT_AUTH", "none"), "client certificates on SSL listeners: none, requested or required; a listener's ?ssl.client.auth= overrides it (env KOP_SSL_CLIENT_AUTH)")
		pulsarURL  = fs.String("pulsar-url", env("KOP_PULSAR_URL", "pulsar://127.0.0.1:6650"), "Pulsar binary protocol URL (env KOP_PULSAR_URL)")
		token      = fs.String("pulsar-token", env("KOP_PULSAR_TOKEN", ""), "the gateway's own Pulsar token (a JWT); needed when Pulsar requires authentication, and for SASL listeners (env KOP_PULSAR_TOKEN)")
		adminURL   = fs.String("pulsar-admin-url", env("KOP_PULSAR_ADMIN_URL", "http://127.0.0.1:8080"), "Pulsar admin REST URL (env KOP_PULSAR_ADMIN_URL)")
		tenant     = fs.String("tenant", env("KOP_TENANT", "public"), "Pulsar tenant holding Kafka topics (env KOP_TENANT)")
		namespace  = fs.String("namespace", env("KOP_NAMESPACE", "default"), "Pulsar namespace holding Kafka topics (env KOP_NAMESPACE)")
		internalNS = fs.String("internal-namespace", env("KOP_INTERNAL_NAMESPACE", ""), "TENANT/NAMESPACE of the gateway's own topics (group state, log starts), created at start if missing; no principal should have grants on it (default <tenant>/kop-internal) (env KOP_INTERNAL_NAMESPACE)")
		nodeID     = fs.String("node-id", env("KOP_NODE_ID", "0"), "Kafka broker id this gateway reports (env KOP_NODE_ID)")
		clusterID  = fs.String("cluster-id", env("KOP_CLUSTER_ID", "kop-reference"), "Kafka cluster id reported in Metadata (env KOP_CLUSTER_ID)")
		partitions = fs.String("default-partitions", env("KOP_DEFAULT_PARTITIONS", "1"), "partitions of auto-created topics and of CreateTopics with -1 (env KOP_DEFAULT_PARTITIONS)")
		autoCreate = fs.String("auto-create-topics", env("KOP_AUTO_CREATE_TOPICS", "true"), "create unknown topics on Metadata requests (env KOP_AUTO_CREATE_TOPICS)")
		maxReq     = fs.String("max-request-bytes", env("KOP_MAX_REQUEST_BYTES", "104857600"), "largest request frame accepted (env KOP_MAX_REQUEST_BYTES)")
		maxMsg     = fs.String("max-message-bytes", env("KOP_MAX_MESSAGE_BYTES", "1048588"), "largest record batch accepted; Pulsar's maxMessageSize must be larger (env KOP_MAX_MESSAGE_BYTES)")
		maxAge     = fs.String("metadata-max-age", env("KOP_METADATA_MAX_AGE", DefaultMetadataMaxAge.String()), "the oldest answer about topics given from memory: topics created, deleted or grown through another gateway or Pulsar's admin are seen within this (the namespace is listed every min(this/2, 2s)); this gateway's own changes at once; 0 asks Pulsar on every lookup, concurrent ones sharing one call (env KOP_METADATA_MAX_AGE)")
		idle       = fs.String("partition-idle-timeout", env("KOP_PARTITION_IDLE_TIMEOUT", DefaultPartitionIdle.String()), "park a partition unused this long: its Pulsar tail reader, producer and fetch readers are closed (a few KiB stay) and reopened on its next use; 0 never parks (env KOP_PARTITION_IDLE_TIMEOUT)")
		startup    = fs.String("startup-timeout", env("KOP_STARTUP_TIMEOUT", "120s"), "how long to wait for Pulsar at start (env KOP_STARTUP_TIMEOUT)")
		logLevel   = fs.String("log-level", env("KOP_LOG_LEVEL", "info"), "debug, info, warn or error (env KOP_LOG_LEVEL)")
		debugAddr  = fs.String("debug-addr", env("KOP_DEBUG_ADDR", ""), "test-only: serve the wire tap (every request's API version, by client id) over HTTP at this address; off when empty (env KOP_DEBUG_ADDR)")
		metrics    = fs.String("metrics-addr", env("KOP_METRICS_ADDR", ""), "serve Prometheus metrics at http://ADDR/metrics (requests and latency per API and version, bytes, connections, open partitions, groups, rebalances, Pulsar errors); off when empty (env KOP_METRICS_ADDR)")
		pprof      = fs.String("pprof", env("KOP_PPROF", "false"), "also serve Go's profiler at /debug/pprof/ on --metrics-addr (env KOP_PPROF)")
		faultList  = fs.String("fault", env("KOP_FAULT", ""), "test-only: comma-separated deliberate defects for the conformance suite's mutation check; never set in production (env KOP_FAULT)")
		groups     = groupLimitFlags(fs, env)
	)
	setDataLimits := dataLimitFlags(fs, env)
	connLimits := connLimitFlags(fs, env)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c := &Config{PulsarURL: *pulsarURL, PulsarAdminURL: *adminURL, Tenant: *tenant, Namespace: *namespace,
		ClusterID: *clusterID, LogLevel: *logLevel, DebugAddr: *debugAddr, MetricsAddr: *metrics}
	var err error
	if c.Pprof, err = strconv.ParseBool(*pprof); err != nil {
		return nil, fmt.Errorf("pprof: %q is not a boolean", *pprof)
	}
	if c.Pprof && c.MetricsAddr == "" {
		return nil, errors.New("pprof: needs --metrics-addr to serve on")
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return nil, fmt.Errorf("metrics-addr: %q is not HOST:PORT: %v", c.MetricsAddr, err)
		}
	}
	if c.Faults, err = faults.Parse(*faultList); err != nil {
		return nil, fmt.Errorf("fault: %w", err)
	}
	if c.Groups, err = groups(); err != nil {
		return nil, err
	}
	if c.DebugAddr != "" {
		if _, _, err := net.SplitHostPort(c.DebugAddr); err != nil {
			return nil, fmt.Errorf("debug-addr: %q is not HOST:PORT: %v", c.DebugAddr, err)
		}
	}
	if c.Listeners, err = ParseListeners(*listeners); err != nil {
		return nil, err
	}
	c.TLS = TLS{CertFile: *sslCert, KeyFile: *sslKey, CAFile: *sslCA, ClientAuth: *clientAuth}
	c.PulsarToken = *token
	for _, l := range c.Listeners {
		if l.SASL() && c.PulsarToken == "" {
			return nil, fmt.Errorf("%s listeners need pulsar-token: clients' tokens are verified by a Pulsar that runs with token authentication", l.Protocol)
		}
	}
	if err := c.checkTLS(); err != nil {
		return nil, err
	}
	if c.NodeID, err = int32Flag("node-id", *nodeID, 0); err != nil {
		return nil, err
	}
	if c.DefaultPartitions, err = int32Flag("default-partitions", *partitions, 1); err != nil {
		return nil, err
	}
	if c.MaxRequestBytes, err = int32Flag("max-request-bytes", *maxReq, 1024); err != nil {
		return nil, err
	}
	if c.MaxMessageBytes, err = int32Flag("max-message-bytes", *maxMsg, 1024); err != nil {
		return nil, err
	}
	if c.MaxMessageBytes > c.MaxRequestBytes {
		return nil, fmt.Errorf("max-message-bytes (%d) cannot exceed max-request-bytes (%d)", c.MaxMessageBytes, c.MaxRequestBytes)
	}
	if err := setDataLimits(c); err != nil {
		return nil, err
	}
	if c.Conn, err = connLimits(c.MaxRequestBytes); err != nil {
		return nil, err
	}
	if c.AutoCreateTopics, err = strconv.ParseBool(*autoCreate); err != nil {
		return nil, fmt.Errorf("auto-create-topics: %q is not a boolean", *autoCreate)
	}
	if c.MetadataMaxAge, err = time.ParseDuration(*maxAge); err != nil || c.MetadataMaxAge < 0 {
		return nil, fmt.Errorf("metadata-max-age: %q is not a duration of 0 or more", *maxAge)
	}
	if c.PartitionIdle, err = time.ParseDuration(*idle); err != nil || c.PartitionIdle < 0 {
		return nil, fmt.Errorf("partition-idle-timeout: %q is not a duration of 0 or more", *idle)
	}
	if c.StartupTimeout, err = time.ParseDuration(*startup); err != nil || c.StartupTimeout <= 0 {
		return nil, fmt.Errorf("startup-timeout: %q is not a positive duration", *startup)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("log-level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if !strings.HasPrefix(c.PulsarURL, "pulsar://") && !strings.HasPrefix(c.PulsarURL, "pulsar+ssl://") {
		return nil, fmt.Errorf("pulsar-url: %q must start with pulsar:// or pulsar+ssl://", c.PulsarURL)
	}
	if !strings.HasPrefix(c.PulsarAdminURL, "http://") && !strings.HasPrefix(c.PulsarAdminURL, "https://") {
		return nil, fmt.Errorf("pulsar-admin-url: %q must start with http:// or https://", c.PulsarAdminURL)
	}
	if c.Tenant == "" || c.Namespace == "" || strings.Contains(c.Tenant+c.Namespace, "/") {
		return nil, fmt.Errorf("tenant and namespace must be non-empty names without '/' (got %q/%q)", c.Tenant, c.Namespace)
	}
	if c.InternalNamespace, err = naming.InternalNamespace(c.Tenant, *internalNS); err != nil {
		return nil, fmt.Errorf("internal-namespace: %w", err)
	}
	return c, nil
}

var clientAuthModes = listeners.ClientAuthModes

// checkTLS resolves each SSL listener's client authentication and checks that the files it
// needs are named and readable.
func (c *Config) checkTLS() error {
	if !clientAuthModes[c.TLS.ClientAuth] {
		return fmt.Errorf("ssl-client-auth: %q is not one of none, requested, required", c.TLS.ClientAuth)
	}
	anySSL, needCA := false, false
	for i := range c.Listeners {
		l := &c.Listeners[i]
		if !l.TLS() {
			continue
		}
		anySSL = true
		if l.ClientAuth == "" {
			l.ClientAuth = c.TLS.ClientAuth
		}
		needCA = needCA || l.ClientAuth != "none"
	}
	if !anySSL {
		return nil
	}
	if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
		return fmt.Errorf("SSL and SASL_SSL listeners need ssl-cert-file and ssl-key-file")
	}
	if needCA && c.TLS.CAFile == "" {
		return fmt.Errorf("TLS listeners that ask for client certificates need ssl-ca-file")
	}
	for _, f := range []string{c.TLS.CertFile, c.TLS.KeyFile, c.TLS.CAFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("TLS file: %w", err)
		}
	}
	return nil
}

func int32Flag(name, v string, min int64) (int32, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a 32-bit integer", name, v)
	}
	if n < min {
		return 0, fmt.Errorf("%s: %d is below the minimum %d", name, n, min)
	}
	return int32(n), nil
}

// ParseListeners parses the --listeners syntax (package listeners).
func ParseListeners(s string) ([]Listener, error) { return listeners.Parse(s) }

// Getenv is os.Getenv, for callers of Parse.
var Getenv = os.Getenv

// ServerConfig loads the certificate and, unless clientAuth is none, the client CAs.
func (t TLS) ServerConfig(clientAuth string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s / key %s: %w", t.CertFile, t.KeyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	switch clientAuth {
	case "none":
		return cfg, nil
	case "requested":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("ssl client auth %q is not one of none, requested, required", clientAuth)
	}
	pem, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, fmt.Errorf("TLS client CA: %w", err)
	}
	cfg.ClientCAs = x509.NewCertPool()
	if !cfg.ClientCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("TLS client CA %s holds no PEM certificate", t.CAFile)
	}
	return cfg, nil
}
