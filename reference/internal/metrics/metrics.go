// Package metrics counts what the gateway does, for Prometheus (--metrics-addr): requests and
// their latency per API and version, bytes in and out, connections, open partitions, groups,
// rebalances and Pulsar errors. Every method works on a nil *Metrics (metrics off, and the
// handlers' in-process tests) and costs a few atomic adds otherwise.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the gateway's set of collectors on a registry of its own.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	bytesIn     prometheus.Counter
	bytesOut    prometheus.Counter
	conns       prometheus.Gauge
	connsTotal  prometheus.Counter
	refused     *prometheus.CounterVec
	rebalances  prometheus.Counter
	pulsarFails *prometheus.CounterVec
	stages      *prometheus.HistogramVec
}

// New makes the collectors, with the Go runtime's and the process's own.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kop_requests_total",
			Help: "Kafka requests answered (or refused), by API, version and whether they failed."}, []string{"api", "version", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kop_request_duration_seconds",
			Help:    "Time from a request's arrival to its response, by API and version.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"api", "version"}),
		bytesIn:    prometheus.NewCounter(prometheus.CounterOpts{Name: "kop_received_bytes_total", Help: "Request bytes read from Kafka clients."}),
		bytesOut:   prometheus.NewCounter(prometheus.CounterOpts{Name: "kop_sent_bytes_total", Help: "Response bytes written to Kafka clients."}),
		conns:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "kop_connections", Help: "Open Kafka connections."}),
		connsTotal: prometheus.NewCounter(prometheus.CounterOpts{Name: "kop_connections_total", Help: "Kafka connections accepted."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kop_connections_refused_total",
			Help: "Kafka connections refused by a limit, by reason."}, []string{"reason"}),
		rebalances: prometheus.NewCounter(prometheus.CounterOpts{Name: "kop_group_rebalances_total", Help: "Consumer group rebalances started."}),
		pulsarFails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kop_pulsar_errors_total",
			Help: "Pulsar operations that failed, by operation."}, []string{"op"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kop_produce_stage_seconds",
			Help:    "Time each stage of storing a Kafka batch takes: write (sent to Pulsar until acknowledged), offset (acknowledged until its offset is known).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"stage"}),
	}
	reg.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut, m.conns, m.connsTotal, m.refused, m.rebalances, m.pulsarFails, m.stages,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gauge registers a value read at each scrape (open partitions, groups).
func (m *Metrics) Gauge(name, help string, value func() float64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, value))
}

// versions are the label values of API versions, made once.
var versions = func() [64]string {
	var v [64]string
	for i := range v {
		v[i] = strconv.Itoa(i)
	}
	return v
}()

func versionLabel(v int16) string {
	if v >= 0 && int(v) < len(versions) {
		return versions[v]
	}
	return "other"
}

// Request counts one request of api at version that took d; failed is a request that cost
// its connection (a handler error or a refusal).
func (m *Metrics) Request(api string, version int16, d time.Duration, failed bool) {
	if m == nil {
		return
	}
	outcome := "ok"
	if failed {
		outcome = "closed"
	}
	v := versionLabel(version)
	m.requests.WithLabelValues(api, v, outcome).Inc()
	m.latency.WithLabelValues(api, v).Observe(d.Seconds())
}

// Received counts request bytes read.
func (m *Metrics) Received(n int) {
	if m != nil {
		m.bytesIn.Add(float64(n))
	}
}

// Sent counts response bytes written.
func (m *Metrics) Sent(n int) {
	if m != nil {
		m.bytesOut.Add(float64(n))
	}
}

// Opened counts an accepted connection.
func (m *Metrics) Opened() {
	if m != nil {
		m.connsTotal.Inc()
		m.conns.Inc()
	}
}

// Closed counts a connection gone.
func (m *Metrics) Closed() {
	if m != nil {
		m.conns.Dec()
	}
}

// Refused counts a connection refused for reason (a limit's name).
func (m *Metrics) Refused(reason string) {
	if m != nil {
		m.refused.WithLabelValues(reason).Inc()
	}
}

// Rebalance counts a group rebalance started.
func (m *Metrics) Rebalance() {
	if m != nil {
		m.rebalances.Inc()
	}
}

// Stage records how long a stage of storing a batch took (storage.Config.Stage).
func (m *Metrics) Stage(stage string, d time.Duration) {
	if m == nil {
		return
	}
	m.stages.WithLabelValues(stage).Observe(d.Seconds())
}

// PulsarError counts a failed Pulsar operation.
func (m *Metrics) PulsarError(op string) {
	if m != nil {
		m.pulsarFails.WithLabelValues(op).Inc()
	}
}
