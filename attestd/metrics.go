package attestd

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the service's Prometheus metrics, in a registry of its own
// (no process-wide state, so tests can run servers side by side). Labels
// have bounded values: routes are the mux patterns, codes HTTP statuses,
// statuses the four EAR tiers, refusal codes the Code constants.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	verdicts *prometheus.CounterVec
	refusals *prometheus.CounterVec
}

func newMetrics(usedNonces func() int) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cofre_attestd_requests_total",
			Help: "HTTP requests by route (mux pattern) and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cofre_attestd_request_duration_seconds",
			Help:    "HTTP request latency by route (mux pattern).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cofre_attestd_verdicts_total",
			Help: "Appraisal verdicts by EAR status (affirming and warning issue a token; contraindicated and none are refused; drafts issue nothing).",
		}, []string{"status"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cofre_attestd_refusals_total",
			Help: "Refused attestation requests by error code.",
		}, []string{"code"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.verdicts, m.refusals,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cofre_attestd_nonces_used",
			Help: "Used nonces remembered until they expire, for replay protection (expired ones until swept). Issued challenges are not stored.",
		}, func() float64 { return float64(usedNonces()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observe records one finished request.
func (m *metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
