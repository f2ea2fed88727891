// Package metrics holds Gatehouse's Prometheus collectors in a registry of
// its own (no global state): sign-ins by outcome, the wait for a slot in the
// password-hashing pool, and request latency by route.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of collectors one server exposes at /metrics.
type Metrics struct {
	registry        *prometheus.Registry
	signIns         *prometheus.CounterVec
	hashWait        prometheus.Histogram
	deliveries      *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
}

// New returns a fresh set of collectors, with the Go runtime and process
// collectors beside them.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_signins_total",
			Help: "Password sign-in attempts by outcome.",
		}, []string{"outcome"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_password_hash_wait_seconds",
			Help:    "Time spent waiting for a slot in the password-hashing pool.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5},
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_deliveries_total",
			Help: "Codes and notices handed to a provider, by channel and result (sent or failed).",
		}, []string{"channel", "result"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "HTTP request latency by route, method and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "code"}),
	}
	m.registry.MustRegister(m.signIns, m.hashWait, m.deliveries, m.requestDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SignIn counts one sign-in attempt with its outcome.
func (m *Metrics) SignIn(outcome string) { m.signIns.WithLabelValues(outcome).Inc() }

// Delivery counts one code or notice handed to a provider.
func (m *Metrics) Delivery(channel, result string) {
	m.deliveries.WithLabelValues(channel, result).Inc()
}

// HashWait records one wait for the hashing pool.
func (m *Metrics) HashWait(d time.Duration) { m.hashWait.Observe(d.Seconds()) }

// Request records one HTTP request. route is the mux pattern, never the raw
// path, so the label set stays bounded.
func (m *Metrics) Request(route, method, code string, d time.Duration) {
	m.requestDuration.WithLabelValues(route, method, code).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Registry gives tests access to gathered values.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }
