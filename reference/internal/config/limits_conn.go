package config

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// ConnLimits bound what connections may cost the server: how many there are, the request
// bytes they hold, and how long they may stay idle, unauthenticated or in the middle of a frame.
type ConnLimits struct {
	// MaxConnections is the most open connections over all listeners (Kafka's max.connections,
	// unlimited there); MaxConnectionsPerIP the most from one address (max.connections.per.ip,
	// unlimited there too). A connection over either is accepted and closed at once.
	MaxConnections      int
	MaxConnectionsPerIP int
	// MaxInflightBytes is the most request bytes the server holds at once, read or being read
	// and not yet answered (Kafka's queued.max.request.bytes); MaxInflightBytesPerConn the most
	// one connection holds. A connection whose next frame does not fit waits, without reading,
	// until it does. A connection serves one request at a time, so the per-connection budget
	// is also the largest frame it can send.
	MaxInflightBytes        int64
	MaxInflightBytesPerConn int64
	// IdleTimeout closes a connection that sends no request for this long (Kafka's
	// connections.max.idle.ms).
	IdleTimeout time.Duration
	// SASLTimeout is the time from connecting to authenticated on SASL listeners.
	SASLTimeout time.Duration
	// FrameTimeout is the time a request frame has, once its first byte arrives, to arrive
	// whole (a peer trickling bytes is dropped), and the time a response has to be taken.
	FrameTimeout time.Duration
	// MaxReauth is Kafka's connections.max.reauth.ms: the longest a SASL session lasts before
	// the client must re-authenticate on its connection (KIP-368), also for tokens that never
	// expire; a token's own expiry ends a session sooner. 0 (the default, as in Kafka) sets no
	// limit beyond the token's.
	MaxReauth time.Duration
}

// DefaultConnLimits are Kafka's defaults where Kafka has a bounded one, and bounds of the same
// order where Kafka's is unlimited.
var DefaultConnLimits = ConnLimits{
	MaxConnections:          10000,
	MaxConnectionsPerIP:     1000,
	MaxInflightBytes:        100 << 20,
	MaxInflightBytesPerConn: 100 << 20,
	IdleTimeout:             10 * time.Minute,
	SASLTimeout:             10 * time.Second,
	FrameTimeout:            30 * time.Second,
}

// WithDefaults returns l with every zero field set to its default (the per-connection budget
// no larger than the server's).
func (l ConnLimits) WithDefaults() ConnLimits {
	d := DefaultConnLimits
	orDefault(&l.MaxConnections, d.MaxConnections)
	orDefault(&l.MaxConnectionsPerIP, d.MaxConnectionsPerIP)
	orDefault(&l.MaxInflightBytes, d.MaxInflightBytes)
	orDefault(&l.MaxInflightBytesPerConn, min(d.MaxInflightBytesPerConn, l.MaxInflightBytes))
	orDefault(&l.IdleTimeout, d.IdleTimeout)
	orDefault(&l.SASLTimeout, d.SASLTimeout)
	orDefault(&l.FrameTimeout, d.FrameTimeout)
	return l
}

func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// connLimitFlags registers the connection limits' flags (each with its KOP_* variable) on fs;
// after fs.Parse, parse checks them against the largest request frame and returns them.
func connLimitFlags(fs *flag.FlagSet, env func(name, def string) string) (parse func(maxRequest int32) (ConnLimits, error)) {
	d := DefaultConnLimits
	str := func(name, envName, def, usage string) *string {
		return fs.String(name, env(envName, def), usage+" (env "+envName+")")
	}
	var (
		conns   = str("max-connections", "KOP_MAX_CONNECTIONS", strconv.Itoa(d.MaxConnections), "most open connections over all listeners; more are accepted and closed at once")
		perIP   = str("max-connections-per-ip", "KOP_MAX_CONNECTIONS_PER_IP", strconv.Itoa(d.MaxConnectionsPerIP), "most open connections from one IP address")
		inflt   = str("max-inflight-bytes", "KOP_MAX_INFLIGHT_BYTES", strconv.FormatInt(d.MaxInflightBytes, 10), "most request bytes held by the server at once; a connection whose frame does not fit stops reading until it does")
		perConn = str("max-inflight-bytes-per-conn", "KOP_MAX_INFLIGHT_BYTES_PER_CONN", strconv.FormatInt(d.MaxInflightBytesPerConn, 10), "most request bytes one connection holds at once; at least max-request-bytes")
		idle    = str("connections-max-idle", "KOP_CONNECTIONS_MAX_IDLE", d.IdleTimeout.String(), "close a connection that sends no request for this long")
		sasl    = str("sasl-timeout", "KOP_SASL_TIMEOUT", d.SASLTimeout.String(), "time from connecting to authenticated on SASL listeners")
		frame   = str("frame-timeout", "KOP_FRAME_TIMEOUT", d.FrameTimeout.String(), "time a request frame has to arrive once it has started, and a response has to be taken")
		reauth  = str("connections-max-reauth", "KOP_CONNECTIONS_MAX_REAUTH", d.MaxReauth.String(), "longest a SASL session lasts before the client must re-authenticate on its connection (Kafka's connections.max.reauth.ms); a token's exp ends it sooner; 0 is no limit beyond the token's")
	)
	return func(maxRequest int32) (ConnLimits, error) {
		var l ConnLimits
		var err error
		for _, f := range []struct {
			name string
			v    string
			min  int64
			dst  any
		}{
			{"max-connections", *conns, 1, &l.MaxConnections},
			{"max-connections-per-ip", *perIP, 1, &l.MaxConnectionsPerIP},
			{"max-inflight-bytes", *inflt, 1024, &l.MaxInflightBytes},
			{"max-inflight-bytes-per-conn", *perConn, 1024, &l.MaxInflightBytesPerConn},
		} {
			n, perr := strconv.ParseInt(f.v, 10, 64)
			switch {
			case perr != nil:
				err = fmt.Errorf("%s: %q is not an integer", f.name, f.v)
			case n < f.min:
				err = fmt.Errorf("%s: %d is below the minimum %d", f.name, n, f.min)
			}
			if err != nil {
				return ConnLimits{}, err
			}
			switch dst := f.dst.(type) {
			case *int:
				*dst = int(n)
			case *int64:
				*dst = n
			}
		}
		for _, f := range []struct {
			name string
			v    string
			dst  *time.Duration
		}{{"connections-max-idle", *idle, &l.IdleTimeout}, {"sasl-timeout", *sasl, &l.SASLTimeout}, {"frame-timeout", *frame, &l.FrameTimeout}} {
			if *f.dst, err = time.ParseDuration(f.v); err != nil || *f.dst <= 0 {
				return ConnLimits{}, fmt.Errorf("%s: %q is not a positive duration", f.name, f.v)
			}
		}
		if l.MaxReauth, err = time.ParseDuration(*reauth); err != nil || l.MaxReauth < 0 {
			return ConnLimits{}, fmt.Errorf("connections-max-reauth: %q is not a duration of 0 or more", *reauth)
		}
		switch {
		case l.MaxInflightBytesPerConn > l.MaxInflightBytes:
			return ConnLimits{}, fmt.Errorf("max-inflight-bytes-per-conn (%d) cannot exceed max-inflight-bytes (%d)", l.MaxInflightBytesPerConn, l.MaxInflightBytes)
		case int64(maxRequest) > l.MaxInflightBytesPerConn:
			return ConnLimits{}, fmt.Errorf("max-request-bytes (%d) cannot exceed max-inflight-bytes-per-conn (%d): a frame that large could never be read", maxRequest, l.MaxInflightBytesPerConn)
		}
		return l, nil
	}
}
