package coordinator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzActivateRequest sends arbitrary bodies to POST /v1/activate: the
// coordinator must answer with an API error (never panic, never a 500)
// and admit nothing.
func FuzzActivateRequest(f *testing.F) {
	e := newTestEnv(f)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	valid, err := json.Marshal(e.request(e.activation()))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{valid, []byte(`{}`), []byte(`{"manifest":"hospital","service":"api"}`), []byte(`null`), []byte(`{"parts":[{},{}]}`)} {
		f.Add(seed)
	}
	h := e.c.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/activate", bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			// Only the one valid seed, once, may be admitted (its nonce
			// is then spent).
			if !bytes.Equal(body, valid) {
				t.Fatalf("admitted %q", body)
			}
			return
		}
		if rec.Code >= 500 {
			t.Fatalf("%d %s for %q", rec.Code, rec.Body, body)
		}
		var apiErr struct {
			Code string `json:"code"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &apiErr); err != nil || apiErr.Code == "" {
			t.Fatalf("answer %d is not an API error: %s", rec.Code, rec.Body)
		}
	})
}
