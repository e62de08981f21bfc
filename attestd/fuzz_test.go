package attestd

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/cofre-cc/cofre/attest"
)

// FuzzDecodeAttestRequest: decoding untrusted request bodies never panics,
// everything it accepts is within the limits, and what it accepts
// re-encodes to a body that decodes to the same request.
func FuzzDecodeAttestRequest(f *testing.F) {
	// The committed corpus (testdata/fuzz/FuzzDecodeAttestRequest) holds
	// real requests and near misses; add one more built here.
	b, _ := json.Marshal(AttestRequest{Evidence: []byte("{}"), Nonce: make([]byte, 32), Policy: "dev", Parts: []Part{{Format: attest.FormatNVGPU, Evidence: []byte{1}}}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeAttestRequest(body)
		if err != nil {
			if req != nil {
				t.Fatal("error with a request")
			}
			return
		}
		if len(req.Evidence) == 0 || len(req.Nonce) != attest.NonceSize || len(req.RuntimeData) > maxRuntimeData || len(req.Parts) > maxParts || len(req.Policy) > maxPolicyName {
			t.Fatalf("accepted out-of-limit request %+v", req)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeAttestRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(req), normalize(back)) {
			t.Fatalf("round trip: %+v != %+v", req, back)
		}
	})
}

// normalize maps empty slices to nil (omitempty drops them).
func normalize(r *AttestRequest) AttestRequest {
	c := *r
	if len(c.RuntimeData) == 0 {
		c.RuntimeData = nil
	}
	if len(c.Parts) == 0 {
		c.Parts = nil
	}
	return c
}

// FuzzConfirmation: runtime data never panics the cnf derivation, and a
// cnf it makes carries the public key's members and nothing else.
func FuzzConfirmation(f *testing.F) {
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`))
	f.Add([]byte(`{"kty":"oct","k":"c2VjcmV0"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","secret":"hunter2"}`))
	f.Add([]byte(`not a key`))
	f.Fuzz(func(t *testing.T, rd []byte) {
		c, err := confirmation(rd)
		if err != nil || c == nil {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(c.JWK, &m); err != nil {
			t.Fatalf("cnf jwk is not JSON: %v", err)
		}
		for k := range m {
			switch k {
			case "kty", "crv", "x", "y", "n", "e":
			default:
				t.Fatalf("cnf jwk carries member %q beyond the public key: %s", k, c.JWK)
			}
		}
		if bytes.Contains(c.JWK, []byte(`"oct"`)) {
			t.Fatalf("symmetric cnf jwk: %s", c.JWK)
		}
	})
}
