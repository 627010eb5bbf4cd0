package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestCountersMoveAndAreServed(t *testing.T) {
	m := New()
	m.Request("Produce", 8, 3*time.Millisecond, false)
	m.Request("Produce", 8, time.Millisecond, false)
	m.Request("Fetch", 200, time.Millisecond, true)
	m.Received(100)
	m.Sent(40)
	m.Opened()
	m.Opened()
	m.Closed()
	m.Refused("per-ip")
	m.Rebalance()
	m.PulsarError("append")
	open := 7.0
	m.Gauge("kop_open_partitions", "Partitions open.", func() float64 { return open })
	out := scrape(t, m)
	for _, want := range []string{
		`kop_requests_total{api="Produce",outcome="ok",version="8"} 2`,
		`kop_requests_total{api="Fetch",outcome="closed",version="other"} 1`,
		`kop_request_duration_seconds_count{api="Produce",version="8"} 2`,
		`kop_received_bytes_total 100`,
		`kop_sent_bytes_total 40`,
		`kop_connections 1`,
		`kop_connections_total 2`,
		`kop_connections_refused_total{reason="per-ip"} 1`,
		`kop_group_rebalances_total 1`,
		`kop_pulsar_errors_total{op="append"} 1`,
		`kop_open_partitions 7`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestNilMetricsAreOff(t *testing.T) {
	var m *Metrics
	m.Request("Produce", 8, time.Millisecond, false)
	m.Received(1)
	m.Sent(1)
	m.Opened()
	m.Closed()
	m.Refused("x")
	m.Rebalance()
	m.PulsarError("x")
	m.Gauge("x", "x", func() float64 { return 0 })
}
