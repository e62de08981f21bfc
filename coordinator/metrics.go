package coordinator

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cofre-cc/cofre/coordinator/api"

	"github.com/cofre-cc/cofre/internal/httpmetrics"
)

// metrics are the coordinator's Prometheus metrics, in a registry of its
// own. Labels have bounded values (routes, status codes, event kinds, api
// error codes); never a manifest, secret or user name.
type metrics struct {
	reg         *prometheus.Registry
	req         *httpmetrics.Requests
	events      *prometheus.CounterVec
	activations *prometheus.CounterVec
}

func newMetrics(c *Coordinator) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		req: httpmetrics.New("cofre_coordinator", []float64{.0005, .001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cofre_coordinator_audit_events_total",
			Help: "Audit events by kind and outcome.",
		}, []string{"event", "granted"}),
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cofre_coordinator_activations_total",
			Help: "Activations by result: granted, or the api error code of the refusal.",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.req.Collectors()...)
	m.reg.MustRegister(m.events, m.activations,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cofre_coordinator_manifests",
			Help: "Manifests in force (unlocked).",
		}, func() float64 {
			c.mu.RLock()
			defer c.mu.RUnlock()
			return float64(len(c.manifests))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cofre_coordinator_manifests_locked",
			Help: "Manifests awaiting recovery.",
		}, func() float64 {
			c.mu.RLock()
			defer c.mu.RUnlock()
			return float64(len(c.locked))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cofre_coordinator_simulation",
			Help: "1 if the coordinator runs on the SIMULATION TEE (no confidentiality).",
		}, func() float64 {
			if c.simulation {
				return 1
			}
			return 0
		}),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) event(ev *Event) {
	m.events.WithLabelValues(ev.Kind, strconv.FormatBool(ev.Granted)).Inc()
}

func (m *metrics) activation(err error) {
	if err == nil {
		m.activations.WithLabelValues("granted").Inc()
		return
	}
	code := api.CodeInternal
	var e *Error
	if errors.As(err, &e) {
		code = e.Code
	}
	m.activations.WithLabelValues(code).Inc()
}

func sortSummaries(s []api.ManifestSummary) {
	slices.SortFunc(s, func(a, b api.ManifestSummary) int { return strings.Compare(a.Name, b.Name) })
}

func (m *metrics) instrument(route string, h http.HandlerFunc) http.Handler {
	return m.req.Instrument(route, h)
}
