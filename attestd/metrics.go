package attestd

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cofre-cc/cofre/internal/httpmetrics"
)

// metrics are the service's Prometheus metrics, in a registry of its own
// (no process-wide state, so tests can run servers side by side). Labels
// have bounded values: routes are the mux patterns, codes HTTP statuses,
// statuses the four EAR tiers, refusal codes the Code constants.
type metrics struct {
	reg      *prometheus.Registry
	req      *httpmetrics.Requests
	verdicts *prometheus.CounterVec
	refusals *prometheus.CounterVec
}

func newMetrics(usedNonces func() int) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		req: httpmetrics.New("cofre_attestd", []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cofre_attestd_verdicts_total",
			Help: "Appraisal verdicts by EAR status (affirming and warning issue a token; contraindicated and none are refused; drafts issue nothing).",
		}, []string{"status"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cofre_attestd_refusals_total",
			Help: "Refused attestation requests by error code.",
		}, []string{"code"}),
	}
	m.reg.MustRegister(m.req.Collectors()...)
	m.reg.MustRegister(m.verdicts, m.refusals,
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
