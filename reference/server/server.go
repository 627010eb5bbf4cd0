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

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/idempotence"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
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
	// Faults are deliberate defects for the suite's mutation check; empty in production.
	Faults faults.Set
	// Data bounds partition counts and fetch sizes (limits.go).
	Data DataLimits
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

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// New builds a server on its partition logs, topic catalog and group coordinator; nothing
// listens until Serve.
func New(cfg Config, logs partition.Store, cat Catalog, groups Coordinator) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Data = cfg.Data.OrDefaults()
	return &Server{cfg: cfg, logs: logs, catalog: cat, groups: groups, log: cfg.Logger, conns: map[net.Conn]struct{}{},
		producers: idempotence.NewTable(10000)}
}

// Serve accepts connections until ctx ends or the listener fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener, l Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
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
		s.track(c, true)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.track(c, false)
			newConn(s, c, l).serve(ctx)
		}()
	}
}

func (s *Server) track(c net.Conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
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
