package httpmetrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestInstrument(t *testing.T) {
	r := New("cofre_test", prometheus.DefBuckets)
	for _, h := range []http.HandlerFunc{
		func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) },
		func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404); w.WriteHeader(500) },
		func(http.ResponseWriter, *http.Request) {},
	} {
		r.Instrument("GET /x", h).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	}
	count := func(code string) float64 {
		var m dto.Metric
		if err := r.count.WithLabelValues("GET /x", code).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	if count("200") != 2 || count("404") != 1 || count("500") != 0 {
		t.Fatalf("counts 200=%v 404=%v 500=%v, want 2, 1, 0 (the first status counts)", count("200"), count("404"), count("500"))
	}
}
