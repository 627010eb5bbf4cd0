// Package server is the Kafka protocol front of the reference server: listeners, connections,
// and one handler per Kafka API (files named NN_api.go after the API key, each saying which
// versions it serves and how it behaves).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/config"
	"github.com/kop-conformance/kop-conformance/reference/internal/idempotence"
	"github.com/kop-conformance/kop-conformance/reference/internal/metrics"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/internal/safe"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

// Config is the behaviour of the Kafka front.
type Config struct {
	NodeID            int32
	ClusterID         string
	DefaultPartitions int32
	AutoCreateTopics  bool
	MaxRequestBytes   int32 // largest accepted frame (Kafka: socket.request.max.bytes)
	MaxMessageBytes   int32 // largest record batch (Kafka: message.max.bytes)
	Logger            *slog.Logger
	// Auth authenticates SASL listeners' clients and authorizes what they do; needed when a
	// listener has SASL.
	Auth Authorizer
	// Tap, when set, records every request by client id (the suite's wire evidence).
	Tap *wiretap.Tap
	// Metrics counts requests, bytes, connections and storage errors; nil is off.
	Metrics *metrics.Metrics
	// Faults are deliberate defects for the suite's mutation check; empty in production.
	Faults faults.Set
	// Data bounds partition counts and fetch sizes (limits.go).
	Data DataLimits
	// Conn limits connections: their number, request bytes in flight, timeouts (zero fields
	// take config.DefaultConnLimits; conn_limits.go).
	Conn config.ConnLimits
}

// Listener is one socket with its advertised address and the versions it serves.
type Listener struct {
	Name           string
	AdvertisedHost string
	AdvertisedPort int32
	Versions       protocol.Table
	SASL           bool // clients must authenticate (SASL_PLAINTEXT, SASL_SSL)
}

// Server answers Kafka requests from its dependencies (seams.go): Pulsar in production.
type Server struct {
	cfg     Config
	logs    partition.Store
	catalog Catalog
	groups  Coordinator
	log     *slog.Logger

	producers *idempotence.Table // idempotent producers' recent batches, per partition
	pids      idempotence.IDs

	limits   config.ConnLimits
	inflight *semaphore.Weighted // request bytes in flight (conn_limits.go)
	refusals refusals

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]string // open connections and their remote IPs
	perIP map[string]int

	hooks serverHooks // tests only
}

// serverHooks let in-package tests observe what they cannot see on the wire; nil in production.
type serverHooks struct {
	waiting  func()           // a connection waits for in-flight budget
	reserved func(n int64)    // a connection reserved n bytes of it
	closed   func()           // a connection was closed and no longer counts
	now      func() time.Time // the clock SASL sessions are timed by; time.Now when nil
}

// now is the time SASL sessions are timed by.
func (s *Server) now() time.Time {
	if s.hooks.now != nil {
		return s.hooks.now()
	}
	return time.Now()
}

// New builds a server on its partition logs, topic catalog and group coordinator; nothing
// listens until Serve.
func New(cfg Config, logs partition.Store, cat Catalog, groups Coordinator) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Data = cfg.Data.OrDefaults()
	cfg.Conn = cfg.Conn.WithDefaults()
	return &Server{cfg: cfg, logs: logs, catalog: cat, groups: groups, log: cfg.Logger,
		limits: cfg.Conn, inflight: newBudget(cfg.Conn.MaxInflightBytes),
		conns: map[net.Conn]string{}, perIP: map[string]int{},
		producers: idempotence.NewTable(10000)}
}

// Serve accepts connections until ctx ends or the listener fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener, l Listener) error {
	safe.Go(s.log, "listener "+l.Name, func() {
		<-ctx.Done()
		ln.Close()
	})
	s.log.Info("listening", "listener", l.Name, "addr", ln.Addr().String(),
		"advertised", fmt.Sprintf("%s:%d", l.AdvertisedHost, l.AdvertisedPort), "apis", len(l.Versions))
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if !s.admit(c) {
			continue
		}
		s.wg.Add(1)
		newConn(s, c, l).start(ctx)
	}
}

// Shutdown closes every connection and waits for their handlers to return.
func (s *Server) Shutdown() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
