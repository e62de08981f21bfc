// Package httpmetrics counts a server's HTTP requests by route and status
// and times them, the same way for every cofre server. Routes are mux
// patterns (bounded); nothing from the request itself becomes a label.
package httpmetrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Requests holds <prefix>_requests_total{route,code} and
// <prefix>_request_duration_seconds{route}.
type Requests struct {
	count   *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// New makes the request metrics of a server whose metric names start with
// prefix (cofre_coordinator…), with latency buckets in seconds.
func New(prefix string, buckets []float64) *Requests {
	return &Requests{
		count: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "_requests_total",
			Help: "HTTP requests by route (mux pattern) and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    prefix + "_request_duration_seconds",
			Help:    "HTTP request latency by route (mux pattern).",
			Buckets: buckets,
		}, []string{"route"}),
	}
}

// Collectors returns the metrics, to register.
func (r *Requests) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.count, r.latency}
}

// Observe records one finished request.
func (r *Requests) Observe(route string, code int, d time.Duration) {
	r.count.WithLabelValues(route, strconv.Itoa(code)).Inc()
	r.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Instrument wraps h to record each request under route.
func (r *Requests) Instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &StatusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, req)
		r.Observe(route, rec.Code(), time.Since(start))
	})
}

// StatusRecorder remembers the status a handler wrote: the first
// WriteHeader, or 200 once it writes a body without one.
type StatusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *StatusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Code is the status written, 200 if none was (what net/http sends).
func (s *StatusRecorder) Code() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
