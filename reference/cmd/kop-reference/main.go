// Command kop-reference is a Kafka protocol server that stores everything in Apache Pulsar.
// See `kop-reference -h` for its flags; every flag has a KOP_* environment variable.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
	"github.com/kop-conformance/kop-conformance/reference/internal/config"
	"github.com/kop-conformance/kop-conformance/reference/internal/group"
	"github.com/kop-conformance/kop-conformance/reference/internal/memlimit"
	"github.com/kop-conformance/kop-conformance/reference/internal/metrics"
	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
	"github.com/kop-conformance/kop-conformance/reference/internal/storage"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/server"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

func main() {
	if len(os.Args) == 2 && strings.TrimLeft(os.Args[1], "-") == "list-faults" {
		// The mutation check's inventory: NAME<TAB>FEATURE,FEATURE<TAB>DESCRIPTION per line.
		for _, f := range faults.All {
			fmt.Printf("%s\t%s\t%s\n", f.Name, strings.Join(f.Features, ","), f.Description)
		}
		return
	}
	cfg, err := config.Parse(os.Args[1:], config.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kop-reference:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "kop-reference:", err)
		os.Exit(1)
	}
}

func run(cfg *config.Config) error {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if soft, err := memlimit.Apply(os.Getenv); err != nil {
		log.Warn("reading the container's memory limit", "err", err)
	} else if soft > 0 {
		log.Info("Go memory limit set below the container's", "bytes", soft, "share", memlimit.Share)
	}

	cat, err := catalog.New(cfg.PulsarAdminURL, cfg.Tenant, cfg.Namespace, cfg.PulsarToken)
	if err != nil {
		return err
	}
	// Listen only once Pulsar answers, so "port open" means "ready" for orchestrators.
	if err := waitPulsar(ctx, cat, cfg, log); err != nil {
		return err
	}
	// The Pulsar client logs every reader open/close at info; keep it at warn unless debugging.
	plevel := slog.LevelWarn
	if level == slog.LevelDebug {
		plevel = level
	}
	var m *metrics.Metrics
	if cfg.MetricsAddr != "" {
		m = metrics.New()
	}
	store, err := storage.Open(storage.Config{
		ServiceURL: cfg.PulsarURL, Tenant: cfg.Tenant, Namespace: cfg.Namespace, Token: cfg.PulsarToken,
		Ledgers: cat.Ledgers, PartitionIdle: cfg.PartitionIdle,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: plevel})),
		Faults: cfg.Faults, Stage: m.Stage,
	})
	if err != nil {
		return err
	}
	defer store.Close()

	if err := ensureInternalNamespace(ctx, cfg, log); err != nil {
		return err
	}
	if m != nil {
		m.Gauge("kop_open_partitions", "Partitions open in this gateway (each with a Pulsar tail reader).", func() float64 { return float64(store.Open()) })
	}
	groupTopic := naming.InternalTopic(cfg.InternalNamespace, naming.GroupsTopic)
	gctx, gcancel := context.WithTimeout(ctx, cfg.StartupTimeout)
	groups, err := group.Open(gctx, store.Client(), groupTopic, group.Config{Logger: log, Faults: cfg.Faults,
		MaxGroups: cfg.Groups.MaxGroups, MaxMembers: cfg.Groups.MaxMembers, MaxPendingMembers: cfg.Groups.MaxPendingMembers,
		InitialRebalanceDelay: cfg.Groups.InitialRebalanceDelay,
		OnRebalance:           m.Rebalance})
	gcancel()
	if err != nil {
		return fmt.Errorf("group coordinator: %w", err)
	}
	defer groups.Close()
	log.Info("group coordinator ready", "state_topic", groupTopic)
	if m != nil {
		m.Gauge("kop_groups", "Consumer groups this gateway coordinates.", func() float64 { return float64(groups.Count()) })
		if err := serveMetrics(ctx, cfg.MetricsAddr, m, cfg.Pprof, log); err != nil {
			return err
		}
	}

	// Log starts moved by DeleteRecords, in their own compacted topic next to the groups'.
	logStartTopic := naming.InternalTopic(cfg.InternalNamespace, naming.LogStartTopic)
	lctx, lcancel := context.WithTimeout(ctx, cfg.StartupTimeout)
	err = store.OpenLogStarts(lctx, logStartTopic)
	lcancel()
	if err != nil {
		return fmt.Errorf("log starts: %w", err)
	}
	log.Info("log starts ready", "topic", logStartTopic)

	if len(cfg.Faults) > 0 {
		log.Warn("RUNNING WITH DELIBERATE FAULTS (test-only mutation check); this server is broken on purpose", "faults", strings.Join(cfg.Faults.Names(), ","))
	}
	var tap *wiretap.Tap
	if cfg.DebugAddr != "" {
		tap = wiretap.New()
		if err := serveDebug(ctx, cfg.DebugAddr, tap, log); err != nil {
			return err
		}
	}
	// Topics are answered from memory, the namespace listed in the background: Metadata from
	// thousands of clients must not wait on Pulsar's admin API one call each.
	topics := catalog.NewCache(cat, catalog.CacheConfig{MaxAge: cfg.MetadataMaxAge, Logger: log})
	defer topics.Close()
	go topics.Run(ctx)
	srv := server.New(server.Config{
		NodeID: cfg.NodeID, ClusterID: cfg.ClusterID, DefaultPartitions: cfg.DefaultPartitions,
		AutoCreateTopics: cfg.AutoCreateTopics, MaxRequestBytes: cfg.MaxRequestBytes,
		MaxMessageBytes: cfg.MaxMessageBytes, Logger: log,
		Auth: auth.NewPulsar(cfg.PulsarAdminURL, cfg.Tenant, cfg.Namespace, cfg.PulsarToken),
		Tap:  tap, Metrics: m, Faults: cfg.Faults, Data: cfg.DataLimits, Conn: cfg.Conn,
	}, store, topics, groups)

	var wg sync.WaitGroup
	errs := make(chan error, len(cfg.Listeners))
	for _, l := range cfg.Listeners {
		versions, err := protocol.Cap(server.Implemented(), l.Level)
		if err != nil {
			return err
		}
		if cfg.Faults.On(faults.ProduceOverLevel) {
			versions[kmsg.Produce.Int16()] = server.Implemented()[kmsg.Produce.Int16()]
		}
		host, portStr, _ := net.SplitHostPort(l.Advertised)
		port, _ := strconv.Atoi(portStr)
		ln, err := net.Listen("tcp", l.Bind)
		if err != nil {
			return fmt.Errorf("listener %s: %w", l.Bind, err)
		}
		name := "default"
		if l.Level != "" {
			name = "level-" + l.Level
		}
		if l.Protocol != "PLAINTEXT" {
			name += "-" + strings.ToLower(l.Protocol)
		}
		if l.TLS() {
			tcfg, err := cfg.TLS.ServerConfig(l.ClientAuth)
			if err != nil {
				ln.Close()
				return fmt.Errorf("listener %s: %w", l.Bind, err)
			}
			ln = tls.NewListener(ln, tcfg)
			if l.ClientAuth != "none" {
				name += "-client-auth-" + l.ClientAuth
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ctx, ln, server.Listener{Name: name, AdvertisedHost: host, AdvertisedPort: int32(port), Versions: versions, SASL: l.SASL()}); err != nil {
				errs <- fmt.Errorf("listener %s: %w", l.Bind, err)
			}
		}()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errs:
		stop()
	}
	wg.Wait()
	srv.Shutdown()
	return err
}

func waitPulsar(ctx context.Context, cat *catalog.Catalog, cfg *config.Config, log *slog.Logger) error {
	deadline := time.Now().Add(cfg.StartupTimeout)
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := cat.Ping(pctx)
		cancel()
		if err == nil {
			log.Info("pulsar is ready", "admin", cfg.PulsarAdminURL, "namespace", cfg.Tenant+"/"+cfg.Namespace)
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("pulsar admin %s did not answer within %s: %w", cfg.PulsarAdminURL, cfg.StartupTimeout, err)
		}
		if attempt == 1 || attempt%10 == 0 {
			log.Info("waiting for pulsar", "admin", cfg.PulsarAdminURL, "err", err)
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
	}
}

// ensureInternalNamespace creates the namespace of the gateway's own topics if it is missing
// (one admin call; an existing namespace answers 409). A token that may not create namespaces
// is no error: an operator may have created it; opening the topics then says whether it exists.
func ensureInternalNamespace(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	if cfg.InternalNamespace == cfg.Tenant+"/"+cfg.Namespace {
		log.Warn("the internal namespace is the Kafka topics' namespace: any principal granted it can read and forge the group state with a Pulsar client",
			"namespace", cfg.InternalNamespace)
	}
	nctx, cancel := context.WithTimeout(ctx, cfg.StartupTimeout)
	defer cancel()
	created, err := catalog.EnsureNamespace(nctx, cfg.PulsarAdminURL, cfg.PulsarToken, cfg.InternalNamespace)
	switch {
	case errors.Is(err, catalog.ErrNamespaceForbidden):
		log.Warn("could not create the internal namespace; using it as it is", "namespace", cfg.InternalNamespace, "err", err)
	case err != nil:
		return fmt.Errorf("internal namespace: %w", err)
	case created:
		log.Info("created the internal namespace", "namespace", cfg.InternalNamespace)
	}
	// The gateway's state topics keep only each key's latest value: the namespace's own
	// compaction policy says so, rather than a broker-wide threshold that would compact every
	// Kafka topic too.
	if err := catalog.SetCompactionThreshold(nctx, cfg.PulsarAdminURL, cfg.PulsarToken, cfg.InternalNamespace, internalCompactionThreshold); err != nil {
		log.Warn("could not set the internal namespace's compaction threshold; set it, or the state topics grow without bound and the gateway's start reads all of them",
			"namespace", cfg.InternalNamespace, "threshold_bytes", internalCompactionThreshold, "err", err)
	}
	return nil
}

// internalCompactionThreshold is the backlog past which Pulsar compacts a state topic.
const internalCompactionThreshold = 1 << 20

// serveDebug serves the wire tap until ctx ends. It listens before returning, so a bad
// address fails the start instead of a request later.
func serveDebug(ctx context.Context, addr string, tap *wiretap.Tap, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(wiretap.Path, tap.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	go hs.Serve(ln)
	log.Warn("serving the wire tap (test-only): every request's client id and API version is recorded", "addr", ln.Addr().String(), "path", wiretap.Path)
	return nil
}

// serveMetrics serves Prometheus metrics (and with withPprof Go's profiler) until ctx ends. It
// listens before returning, so a bad address fails the start.
func serveMetrics(ctx context.Context, addr string, m *metrics.Metrics, withPprof bool, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	go hs.Serve(ln)
	log.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics", "pprof", withPprof)
	return nil
}
