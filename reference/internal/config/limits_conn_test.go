package config

import (
	"strings"
	"testing"
	"time"
)

func TestConnLimits(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want func(*ConnLimits)
	}{
		{name: "defaults", want: func(*ConnLimits) {}},
		{name: "flags", args: []string{"--max-connections", "50", "--max-connections-per-ip", "5",
			"--max-inflight-bytes", "209715200", "--max-inflight-bytes-per-conn", "104857600",
			"--connections-max-idle", "1m", "--sasl-timeout", "3s", "--frame-timeout", "5s"},
			want: func(l *ConnLimits) {
				l.MaxConnections, l.MaxConnectionsPerIP = 50, 5
				l.MaxInflightBytes, l.MaxInflightBytesPerConn = 200<<20, 100<<20
				l.IdleTimeout, l.SASLTimeout, l.FrameTimeout = time.Minute, 3*time.Second, 5*time.Second
			}},
		{name: "environment", env: map[string]string{"KOP_MAX_CONNECTIONS": "7", "KOP_MAX_CONNECTIONS_PER_IP": "2",
			"KOP_MAX_INFLIGHT_BYTES": "1048576", "KOP_MAX_INFLIGHT_BYTES_PER_CONN": "1048576", "KOP_MAX_REQUEST_BYTES": "1048576",
			"KOP_MAX_MESSAGE_BYTES": "1024", "KOP_CONNECTIONS_MAX_IDLE": "2m", "KOP_SASL_TIMEOUT": "1s", "KOP_FRAME_TIMEOUT": "4s"},
			want: func(l *ConnLimits) {
				l.MaxConnections, l.MaxConnectionsPerIP = 7, 2
				l.MaxInflightBytes, l.MaxInflightBytesPerConn = 1<<20, 1<<20
				l.IdleTimeout, l.SASLTimeout, l.FrameTimeout = 2*time.Minute, time.Second, 4*time.Second
			}},
		{name: "a flag wins over its variable", args: []string{"--sasl-timeout", "2s"}, env: map[string]string{"KOP_SASL_TIMEOUT": "9s"},
			want: func(l *ConnLimits) { l.SASLTimeout = 2 * time.Second }},
		{name: "re-authentication", args: []string{"--connections-max-reauth", "1h"},
			want: func(l *ConnLimits) { l.MaxReauth = time.Hour }},
		{name: "re-authentication from the environment", env: map[string]string{"KOP_CONNECTIONS_MAX_REAUTH": "15m"},
			want: func(l *ConnLimits) { l.MaxReauth = 15 * time.Minute }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultConnLimits
			tc.want(&want)
			if c.Conn != want {
				t.Fatalf("got  %+v\nwant %+v", c.Conn, want)
			}
		})
	}
}

func TestDefaultConnLimits(t *testing.T) {
	want := ConnLimits{MaxConnections: 10000, MaxConnectionsPerIP: 1000, MaxInflightBytes: 100 << 20,
		MaxInflightBytesPerConn: 100 << 20, IdleTimeout: 10 * time.Minute, SASLTimeout: 10 * time.Second,
		FrameTimeout: 30 * time.Second}
	if DefaultConnLimits != want {
		t.Fatalf("defaults %+v, want %+v", DefaultConnLimits, want)
	}
	if got := (ConnLimits{MaxConnections: 3}).WithDefaults(); got.MaxConnections != 3 || got.FrameTimeout != want.FrameTimeout {
		t.Fatalf("WithDefaults keeps what is set and fills the rest: %+v", got)
	}
}

func TestConnLimitsReject(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--max-connections", "0"}, "max-connections: 0 is below the minimum 1"},
		{[]string{"--max-connections-per-ip", "-1"}, "max-connections-per-ip: -1 is below the minimum 1"},
		{[]string{"--max-connections", "many"}, "max-connections: \"many\" is not an integer"},
		{[]string{"--max-inflight-bytes", "100"}, "max-inflight-bytes: 100 is below the minimum 1024"},
		{[]string{"--max-inflight-bytes-per-conn", "1x"}, "not an integer"},
		{[]string{"--connections-max-idle", "0s"}, "connections-max-idle: \"0s\" is not a positive duration"},
		{[]string{"--sasl-timeout", "soon"}, "sasl-timeout: \"soon\" is not a positive duration"},
		{[]string{"--frame-timeout", "-1s"}, "frame-timeout"},
		{[]string{"--connections-max-reauth", "-1s"}, "connections-max-reauth: \"-1s\" is not a duration of 0 or more"},
		{[]string{"--max-inflight-bytes-per-conn", "209715200"}, "max-inflight-bytes-per-conn (209715200) cannot exceed max-inflight-bytes (104857600)"},
		{[]string{"--max-inflight-bytes-per-conn", "1048576"}, "max-request-bytes (104857600) cannot exceed max-inflight-bytes-per-conn (1048576)"},
	}
	for _, c := range cases {
		_, err := Parse(c.args, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
}
