package client

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/token"
)

func TestWorkloadToken(t *testing.T) {
	f := newFake(t)
	var requests int
	var got api.WorkloadTokenRequest
	reply := api.WorkloadTokenResponse{Token: "a.b.c"}
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) {
			requests++
			b, _ := io.ReadAll(r.Body)
			if r.Method != http.MethodPost || r.URL.Path != api.PathWorkloadToken {
				t.Errorf("request %s %s", r.Method, r.URL.Path)
			}
			got = api.WorkloadTokenRequest{}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Errorf("body %s: %v", b, err)
			}
			writeJSON(w, 200, reply)
		}
	})
	c := f.client(t, f.options())
	hpke, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	runtime := map[string]string{"model/mnist-7": strings.Repeat("ab", 32)}
	nonce := bytes.Repeat([]byte{7}, 16)
	tok, err := c.WorkloadToken(t.Context(), hpke.PublicKey(), runtime, nonce)
	if err != nil || tok != "a.b.c" {
		t.Fatalf("WorkloadToken: %q %v", tok, err)
	}
	cf, err := token.ParseConfirmationJWK(got.PublicKey)
	if err != nil {
		t.Fatalf("the request's public_key: %v", err)
	}
	if pub, err := cf.PublicKey(); err != nil || !hpke.PublicKey().Equal(pub) {
		t.Errorf("the request binds %v (%v), want the X25519 key", pub, err)
	}
	if got.Runtime["model/mnist-7"] != runtime["model/mnist-7"] || len(got.Runtime) != 1 || !bytes.Equal(got.Nonce, nonce) {
		t.Errorf("request %+v", got)
	}

	// Keys that may not be bound are refused before anything is sent.
	weak, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	before := requests
	for name, k := range map[string]any{"a private key": hpke, "P-224": &weak.PublicKey, "nil": nil, "bytes": []byte("key")} {
		if _, err := c.WorkloadToken(t.Context(), k, nil, nil); !errors.Is(err, token.ErrConfirmationKey) {
			t.Errorf("%s: %v, want ErrConfirmationKey", name, err)
		}
	}
	if requests != before {
		t.Errorf("%d requests sent for refused keys", requests-before)
	}

	// A 4xx is an *APIError; an answer without a token is an error.
	reply = api.WorkloadTokenResponse{}
	if _, err := c.WorkloadToken(t.Context(), hpke.PublicKey(), nil, nil); err == nil || !strings.Contains(err.Error(), "without a token") {
		t.Errorf("empty answer: %v", err)
	}
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, 400, api.Error{Code: api.CodeBadRequest, Message: "workload token request refused", Reasons: []api.Reason{{Check: "runtime"}}})
		}
	})
	var ae *APIError
	if _, err := c.WorkloadToken(t.Context(), hpke.PublicKey(), nil, nil); !errors.As(err, &ae) || ae.Code != api.CodeBadRequest || len(ae.Reasons) != 1 {
		t.Errorf("refusal: %v, want an APIError with its reason", err)
	}
}
