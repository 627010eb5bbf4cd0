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
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kop-conformance/kop-conformance/reference/auth"
	"github.com/kop-conformance/kop-conformance/reference/catalog"
	"github.com/kop-conformance/kop-conformance/reference/config"
	"github.com/kop-conformance/kop-conformance/reference/group"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/server"
	"github.com/kop-conformance/kop-conformance/reference/storage"
)

func main() {
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
	store, err := storage.Open(storage.Config{
		ServiceURL: cfg.PulsarURL, Tenant: cfg.Tenant, Namespace: cfg.Namespace, Token: cfg.PulsarToken,
		Ledgers: cat.Ledgers,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: plevel})),
	})
	if err != nil {
		return err
	}
	defer store.Close()

	groupTopic := store.InternalTopic("__kop_groups")
	gctx, gcancel := context.WithTimeout(ctx, cfg.StartupTimeout)
	groups, err := group.Open(gctx, store.Client(), groupTopic, group.Config{Logger: log})
	gcancel()
	if err != nil {
		return fmt.Errorf("group coordinator: %w", err)
	}
	defer groups.Close()
	log.Info("group coordinator ready", "state_topic", groupTopic)

	srv := server.New(server.Config{
		NodeID: cfg.NodeID, ClusterID: cfg.ClusterID, DefaultPartitions: cfg.DefaultPartitions,
		AutoCreateTopics: cfg.AutoCreateTopics, MaxRequestBytes: cfg.MaxRequestBytes,
		MaxMessageBytes: cfg.MaxMessageBytes, Logger: log,
		Auth: auth.NewPulsar(cfg.PulsarAdminURL, cfg.Tenant, cfg.Namespace, cfg.PulsarToken),
	}, store, cat, groups)

	var wg sync.WaitGroup
	errs := make(chan error, len(cfg.Listeners))
	for _, l := range cfg.Listeners {
		versions, err := protocol.Cap(server.Implemented(), l.Level)
		if err != nil {
			return err
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
