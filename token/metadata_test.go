package token

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestNewMetadata(t *testing.T) {
	m, err := NewMetadata("https://attestd.example", "https://attestd.example/certs", []Algorithm{ES256, EdDSA, ES256}, ProfileMAA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["issuer"] != "https://attestd.example" || got["jwks_uri"] != "https://attestd.example/certs" {
		t.Errorf("metadata %s", b)
	}
	if algs := m.IDTokenSigningAlgValuesSupported; !slices.Equal(algs, []string{"ES256", "EdDSA"}) {
		t.Errorf("algorithms %v", algs)
	}
	for _, c := range []string{"submods", "eat_nonce", "cnf", "cofre.simulation", "x-ms-attestation-type"} {
		if !slices.Contains(m.ClaimsSupported, c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	if _, ok := got["response_types_supported"]; !ok {
		t.Error("no response_types_supported")
	}

	for name, args := range map[string][2]string{
		"http issuer":      {"http://attestd.example", "https://attestd.example/certs"},
		"query":            {"https://attestd.example?x=1", "https://attestd.example/certs"},
		"relative jwks":    {"https://attestd.example", "/certs"},
		"loopback is fine": {"http://127.0.0.1:8443", "http://127.0.0.1:8443/certs"},
	} {
		_, err := NewMetadata(args[0], args[1], []Algorithm{ES256})
		if (err == nil) != (name == "loopback is fine") {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if _, err := NewMetadata("https://a.example", "https://a.example/certs", nil); err == nil {
		t.Error("no algorithms accepted")
	}
}
