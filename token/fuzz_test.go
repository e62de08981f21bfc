package token

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// The fuzz targets replay their committed seed corpora (testdata/fuzz/…)
// on every go test run. -update-corpus rewrites the corpora from the fixed
// test key set in testdata/keyset.json (a test-only key, never used
// elsewhere), creating it if missing.
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed corpora and testdata/keyset.json")

const testKeySetFile = "testdata/keyset.json"

func loadTestKeySet(t testing.TB) *KeySet {
	t.Helper()
	b, err := os.ReadFile(testKeySetFile)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := UnmarshalKeySet(b)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// fuzzOptions verifies at t0+1m against the test key set, with simulation
// allowed so that more of the claim checks are reached.
func fuzzOptions(t testing.TB) Options {
	ks := loadTestKeySet(t)
	return Options{JWKS: mustStatic(t, ks, t0), Now: t0.Add(time.Minute), AllowSimulation: true}
}

func FuzzVerify(f *testing.F) {
	opts := fuzzOptions(f)
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := Verify(context.Background(), tok, opts)
		if err != nil {
			if Class(err) == nil {
				t.Fatalf("error without a class: %v", err)
			}
			return
		}
		// An accepted token has what Verify promises.
		if c.Submods[PrimarySubmod].Claims == nil || c.TEE() == attest.TEEInvalid {
			t.Fatalf("accepted claims without cpu0: %+v", c)
		}
	})
}

func FuzzParseUnverified(f *testing.F) {
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		u, err := ParseUnverified(tok)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", err)
			}
			return
		}
		if u.Claims != nil {
			roundTrip(t, u.Claims)
		}
	})
}

func FuzzDecodePayload(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePayload(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", err)
			}
			return
		}
		roundTrip(t, p.claims)
	})
}

// roundTrip checks that parsed claims marshal to a payload that parses to
// claims that marshal to the same bytes.
func roundTrip(t *testing.T, c *Claims) {
	t.Helper()
	enc1, err := encodePayload(c)
	if err != nil {
		t.Fatalf("parsed claims do not marshal: %v", err)
	}
	p2, err := decodePayload(enc1)
	if err != nil {
		t.Fatalf("marshalled claims do not parse: %v\n%s", err, enc1)
	}
	enc2, err := encodePayload(p2.claims)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc1, enc2) {
		t.Fatalf("parse-marshal is not stable:\n%s\n%s", enc1, enc2)
	}
}

// FuzzParseSubmods: what ParseSubmods accepts and MarshalSubmods can
// write must read back to the same bytes.
func FuzzParseSubmods(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		subs, err := ParseSubmods(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", err)
			}
			return
		}
		if subs[PrimarySubmod].Claims == nil {
			t.Fatalf("accepted submods without cpu0 claims: %s", b)
		}
		enc1, err := MarshalSubmods(subs)
		if err != nil {
			return // parsed but not issuable (a simulated TEE rated affirming…)
		}
		again, err := ParseSubmods(enc1)
		if err != nil {
			t.Fatalf("marshalled submods do not parse: %v\n%s", err, enc1)
		}
		enc2, err := MarshalSubmods(again)
		if err != nil || !bytes.Equal(enc1, enc2) {
			t.Fatalf("parse-marshal is not stable: %v\n%s\n%s", err, enc1, enc2)
		}
	})
}

func FuzzStaticJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := StaticJWKS(b)
		if err != nil {
			return
		}
		for kid, k := range j.(*staticJWKS).keys {
			if kid == "" || k.kid != kid || !k.alg.valid() || k.pub == nil {
				t.Fatalf("unusable key accepted: %q %+v", kid, k)
			}
		}
	})
}

// TestWriteFuzzCorpus regenerates the seed corpora under -update-corpus;
// otherwise it checks that every corpus is there and not empty.
func TestWriteFuzzCorpus(t *testing.T) {
	targets := []string{"FuzzVerify", "FuzzParseUnverified", "FuzzDecodePayload", "FuzzStaticJWKS", "FuzzParseSubmods"}
	if !*updateCorpus {
		for _, name := range targets {
			files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
			if len(files) == 0 {
				t.Errorf("no seed corpus for %s", name)
			}
		}
		return
	}
	if _, err := os.Stat(testKeySetFile); err != nil {
		ks := mustKeySet(t, ES256)
		if err := ks.Rotate(EdDSA, t0, time.Hour); err != nil {
			t.Fatal(err)
		}
		b, _ := ks.MarshalBinary()
		if err := os.WriteFile(testKeySetFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ks := loadTestKeySet(t)
	jwks, _ := ks.JWKS(t0)

	maa := testClaims()
	maa.Profile = ProfileMAA
	cert, _ := selfSigned(t, "workload")
	maa.Confirmation = ConfirmationForCertificate(cert)
	withRuntime := testClaims()
	withRuntime.Runtime = testRuntime()
	good := mustIssue(t, ks, testClaims())
	payload := mustJSON(t, payloadMap(t, testClaims()))
	parts := strings.Split(good, ".")
	tokens := map[string]string{
		"genuine_snp":     good,
		"genuine_sim":     mustIssue(t, ks, testSimClaims()),
		"genuine_maa":     mustIssue(t, ks, maa),
		"genuine_runtime": mustIssue(t, ks, withRuntime),
		"runtime_dup":     signRaw(t, ks, testHeader(ks, nil), strings.Replace(payload, `{`, `{"cofre.runtime":{"m":"a","m":"b"},`, 1)),
		"alg_none":        b64.EncodeToString([]byte(testHeader(ks, map[string]any{"alg": "none"}))) + "." + parts[1] + ".",
		"alg_hs256":       b64.EncodeToString([]byte(testHeader(ks, map[string]any{"alg": "HS256"}))) + "." + parts[1] + "." + parts[2],
		"signature_flip":  tamper(good, 2, 20),
		"duplicate_claim": signRaw(t, ks, testHeader(ks, nil), strings.Replace(payload, `{`, `{"iss":"x",`, 1)),
		"two_segments":    parts[0] + "." + parts[1],
	}
	payloads := map[string]string{
		"snp":           payload,
		"sim":           mustJSON(t, payloadMap(t, testSimClaims())),
		"maa":           mustJSON(t, payloadMap(t, maa)),
		"gpu":           mustJSON(t, payloadMap(t, withGPU(testClaims()))),
		"runtime":       mustJSON(t, payloadMap(t, withRuntime)),
		"runtime_bad":   strings.Replace(payload, `{`, `{"cofre.runtime":{"m":1,"n\u0007":"v","o":"`+strings.Repeat("v", 257)+`"},`, 1),
		"case_variant":  strings.Replace(payload, `{`, `{"ISS":"x",`, 1),
		"empty_submods": `{"iss":"a","iat":1,"exp":2,"eat_profile":"tag:github.com,2023:veraison/ear","ear.verifier-id":{"developer":"d","build":"b"},"submods":{},"cofre.tee":"sim"}`,
	}
	jwksSeeds := map[string]string{
		"genuine":      string(jwks),
		"rsa_and_oct":  `{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"},{"kty":"oct","kid":"o","k":"AAAA"}]}`,
		"private":      `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}`,
		"no_keys":      `{}`,
		"dup_kid_case": `{"keys":[],"KEYS":[]}`,
	}
	write := func(target string, seeds map[string]string, asBytes bool) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, s := range seeds {
			typ := "string"
			if asBytes {
				typ = "[]byte"
			}
			body := fmt.Sprintf("go test fuzz v1\n%s(%q)\n", typ, s)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzVerify", tokens, false)
	write("FuzzParseUnverified", tokens, false)
	write("FuzzDecodePayload", payloads, true)
	write("FuzzStaticJWKS", jwksSeeds, true)
	submods := map[string]string{
		"snp":   mustJSON(t, payloadMap(t, testClaims())["submods"]),
		"sim":   mustJSON(t, payloadMap(t, testSimClaims())["submods"]),
		"gpu":   mustJSON(t, payloadMap(t, withGPU(testClaims()))["submods"]),
		"empty": `{}`,
		"dup":   `{"cpu0":{},"cpu0":{}}`,
	}
	write("FuzzParseSubmods", submods, true)
}

func withGPU(c *Claims) *Claims {
	c.Submods["gpu0"] = Submod{Status: c.Submods[PrimarySubmod].Status, Claims: &attest.Claims{
		Format: attest.FormatNVGPU, TEE: attest.TEENVGPU, Measurement: testMeasurement, TCBStatus: attest.TCBUnevaluated,
		Raw: map[string]any{"driver_version": "550.54", "measurements": []any{"aa", "bb"}, "index": 3},
	}}
	return c
}

// TestFuzzSeedsVerify pins what the genuine seeds must do, so the corpus
// keeps reaching the claim checks.
func TestFuzzSeedsVerify(t *testing.T) {
	opts := fuzzOptions(t)
	for _, name := range []string{"genuine_snp", "genuine_sim", "genuine_maa", "genuine_runtime"} {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzVerify", name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		var tok string
		if _, err := fmt.Sscanf(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"), "%q", &tok); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := Verify(context.Background(), tok, opts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzUnmarshalKeySet: the key set is read back from a sealed file; after
// unsealing, its bytes still deserve a parser that cannot panic, and what it
// accepts must round-trip.
func FuzzUnmarshalKeySet(f *testing.F) {
	b, err := os.ReadFile(testKeySetFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		ks, err := UnmarshalKeySet(b)
		if err != nil {
			return
		}
		out, err := ks.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted key set does not marshal: %v", err)
		}
		if _, err := UnmarshalKeySet(out); err != nil {
			t.Fatalf("marshalled key set does not parse: %v", err)
		}
	})
}
