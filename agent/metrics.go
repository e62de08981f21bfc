package agent

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cofre-cc/cofre/internal/httpmetrics"
)

// metrics are the agent's Prometheus metrics, in a registry of its own.
// Labels have bounded values (routes, status codes, results); never a
// measurement or report data.
type metrics struct {
	reg      *prometheus.Registry
	req      *httpmetrics.Requests
	evidence *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		req: httpmetrics.New("cofre_agent", []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1}),
		evidence: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cofre_agent_evidence_total",
			Help: "Evidence requests by result: produced, refused (bad request) or failed.",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.req.Collectors()...)
	m.reg.MustRegister(m.evidence,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cofre_agent_simulation",
			Help: "1: the agent signs SIMULATION evidence (no confidentiality).",
		}, func() float64 { return 1 }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) instrument(route string, h http.HandlerFunc) http.Handler {
	return m.req.Instrument(route, h)
}
