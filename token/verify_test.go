package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{ES256, ES384, EdDSA} {
		t.Run(alg.String(), func(t *testing.T) {
			ks := mustKeySet(t, alg)
			in := testClaims()
			in.Audience = []string{"care-api", "diagnostics"}
			in.Confirmation = ConfirmationForCertificate(mustCert(t))
			tok := mustIssue(t, ks, in)

			u, err := ParseUnverified(tok)
			if err != nil {
				t.Fatal(err)
			}
			kid, _ := ks.Current()
			if u.Algorithm != alg.String() || u.KeyID != kid {
				t.Errorf("header alg %q kid %q, want %v %q", u.Algorithm, u.KeyID, alg, kid)
			}
			var hdr map[string]any
			if err := json.Unmarshal(u.Header, &hdr); err != nil || hdr["typ"] != "JWT" {
				t.Errorf("header %s: want typ JWT", u.Header)
			}

			got, err := Verify(context.Background(), tok, Options{
				JWKS: mustStatic(t, ks, t0), Issuer: testIssuer, Audience: "care-api",
				Now: t0.Add(time.Minute), Nonce: testNonce(), ExpectedMeasurements: []attest.Hex{testMeasurement},
				RequireStatus: ear.TrustTierAffirming,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, in) {
				gb, _ := json.MarshalIndent(got, "", " ")
				ib, _ := json.MarshalIndent(in, "", " ")
				t.Errorf("claims differ after the round trip:\n got %s\nwant %s", gb, ib)
			}
			if got.Status() != ear.TrustTierAffirming || got.TEE() != attest.TEESEVSNP || got.Simulation() {
				t.Errorf("status %v tee %v simulation %v", got.Status(), got.TEE(), got.Simulation())
			}
		})
	}
}

func mustCert(t *testing.T) *x509.Certificate {
	t.Helper()
	c, _ := selfSigned(t, "workload")
	return c
}

// TestPayloadWireFormat pins the claim names both the issuer and other
// implementations (the browser) rely on.
func TestPayloadWireFormat(t *testing.T) {
	c := testClaims()
	c.Audience = []string{"care-api"}
	m := payloadMap(t, c)
	for name, want := range map[string]any{
		"iss": testIssuer, "aud": "care-api", "iat": float64(t0.Unix()), "exp": float64(t0.Add(5 * time.Minute).Unix()),
		"eat_profile": "tag:github.com,2023:veraison/ear", "eat_nonce": b64.EncodeToString(testNonce()),
		"cofre.tee": "sevsnp", "cofre.simulation": false, "cofre.draft": false,
	} {
		if !reflect.DeepEqual(m[name], want) {
			t.Errorf("%s = %#v, want %#v", name, m[name], want)
		}
	}
	vid := m["ear.verifier-id"].(map[string]any)
	if vid["developer"] != Developer || vid["build"] != "cofre test" {
		t.Errorf("ear.verifier-id = %v", vid)
	}
	cpu := m["submods"].(map[string]any)["cpu0"].(map[string]any)
	if cpu["ear.status"] != "affirming" || cpu["ear.appraisal-policy-id"] != "prod" {
		t.Errorf("cpu0 = %v", cpu)
	}
	if v := cpu["ear.trustworthiness-vector"].(map[string]any); v["executables"] != float64(2) || v["hardware"] != float64(2) {
		t.Errorf("vector = %v", v)
	}
	if cl := cpu["cofre.claims"].(map[string]any); cl["tee"] != "sevsnp" || cl["measurement"] != testMeasurement.String() {
		t.Errorf("cofre.claims = %v", cl)
	}
	if _, ok := m["x-ms-attestation-type"]; ok {
		t.Error("EAR profile token carries MAA claims")
	}
}

func TestMAAProfile(t *testing.T) {
	ks := mustKeySet(t, ES256)
	c := testClaims()
	c.Profile = ProfileMAA
	key, _ := selfSigned(t, "workload")
	cf, err := ConfirmationForKey(key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c.Confirmation = cf
	m := payloadMap(t, c)
	for name, want := range map[string]any{
		"x-ms-attestation-type":           "sevsnpvm",
		"x-ms-sevsnpvm-launchmeasurement": testMeasurement.String(),
		"x-ms-sevsnpvm-is-debuggable":     false,
		"x-ms-sevsnpvm-guestsvn":          float64(3),
		"x-ms-sevsnpvm-snpfw-svn":         float64(8),
		"x-ms-ver":                        "1.0",
	} {
		if !reflect.DeepEqual(m[name], want) {
			t.Errorf("%s = %#v, want %#v", name, m[name], want)
		}
	}
	iso, _ := m["x-ms-isolation-tee"].(map[string]any)
	if iso["x-ms-attestation-type"] != "sevsnpvm" || iso["x-ms-sevsnpvm-launchmeasurement"] != testMeasurement.String() {
		t.Errorf("x-ms-isolation-tee = %v", iso)
	}
	if rt, _ := m["x-ms-runtime"].(map[string]any); len(rt["keys"].([]any)) != 1 {
		t.Errorf("x-ms-runtime = %v", m["x-ms-runtime"])
	}
	got, err := Verify(context.Background(), mustIssue(t, ks, c), Options{JWKS: mustStatic(t, ks, t0), Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got.Profile != ProfileMAA {
		t.Errorf("profile %v, want maa", got.Profile)
	}

	// A simulated TEE keeps its own name: no MAA policy accepts "sim".
	s := testSimClaims()
	s.Profile = ProfileMAA
	if typ := payloadMap(t, s)["x-ms-attestation-type"]; typ != "sim" {
		t.Errorf("sim x-ms-attestation-type = %v, want sim", typ)
	}
}

// TestRefusals runs every refusal Verify makes and asserts its class.
func TestRefusals(t *testing.T) {
	ks := mustKeySet(t, ES256)
	ks384 := mustKeySet(t, ES384)
	other := mustKeySet(t, ES256)
	jwks := mustStatic(t, ks, t0)
	good := mustIssue(t, ks, testClaims())
	kid, _ := ks.Current()
	certA, _ := selfSigned(t, "a")
	certB, keyB := selfSigned(t, "b")

	base := func() Options {
		return Options{JWKS: jwks, Issuer: testIssuer, Now: t0.Add(time.Minute)}
	}
	with := func(edit func(*Claims)) string {
		c := testClaims()
		edit(c)
		return mustIssue(t, ks, c)
	}
	// rawPayload signs an edited payload with a valid signature.
	rawPayload := func(edit func(map[string]any)) string {
		m := payloadMap(t, testClaims())
		edit(m)
		return signRaw(t, ks, testHeader(ks, nil), mustJSON(t, m))
	}
	goodPayload := mustJSON(t, payloadMap(t, testClaims()))
	parts := strings.Split(good, ".")

	// The HMAC key-confusion attack: use the issuer's public JWK as the
	// HS256 secret.
	pubJWKS, _ := ks.JWKS(t0)
	hsInput := b64.EncodeToString([]byte(testHeader(ks, map[string]any{"alg": "HS256"}))) + "." + parts[1]
	mac := hmac.New(sha256.New, pubJWKS)
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + b64.EncodeToString(mac.Sum(nil))

	tests := []struct {
		name string
		tok  string
		opts func(*Options)
		want []error
	}{
		{"alg none", b64.EncodeToString([]byte(testHeader(ks, map[string]any{"alg": "none"}))) + "." + parts[1] + ".", nil, []error{ErrAlgorithm}},
		{"alg None", b64.EncodeToString([]byte(testHeader(ks, map[string]any{"alg": "None"}))) + "." + parts[1] + ".", nil, []error{ErrAlgorithm}},
		{"alg HS256 with the public key as secret", hs256, nil, []error{ErrAlgorithm}},
		{"alg RS256", signRaw(t, ks, testHeader(ks, map[string]any{"alg": "RS256"}), goodPayload), nil, []error{ErrAlgorithm}},
		{"alg outside allowlist", mustIssue(t, ks384, testClaims()), func(o *Options) {
			o.JWKS = mustStatic(t, ks384, t0)
			o.AllowedAlgorithms = []Algorithm{ES256}
		}, []error{ErrAlgorithm}},
		{"alg not the key's", signRaw(t, ks, testHeader(ks, map[string]any{"alg": "ES384"}), goodPayload), nil, []error{ErrAlgorithm}},
		{"unknown kid", mustIssue(t, other, testClaims()), nil, []error{ErrUnknownKey}},
		{"no kid", signRaw(t, ks, testHeader(ks, map[string]any{"kid": nil}), goodPayload), nil, []error{ErrUnknownKey}},
		{"signature flipped", tamper(good, 2, 20), nil, []error{ErrSignature}},
		{"payload changed", parts[0] + "." + b64.EncodeToString([]byte(strings.Replace(goodPayload, "attestd.example", "attestd.evil.ex", 1))) + "." + parts[2], nil, []error{ErrSignature}},
		{"signed by another key under this kid", signRaw(t, other, testHeader(ks, nil), goodPayload), nil, []error{ErrSignature}},
		{"expired", good, func(o *Options) { o.Now = t0.Add(5*time.Minute + DefaultLeeway + time.Second) }, []error{ErrExpired}},
		{"expired, no leeway", good, func(o *Options) { o.Now = t0.Add(5*time.Minute + time.Second); o.Leeway = -1 }, []error{ErrExpired}},
		{"not yet valid (iat)", good, func(o *Options) { o.Now = t0.Add(-DefaultLeeway - time.Second) }, []error{ErrNotYetValid}},
		{"not yet valid (nbf)", rawPayload(func(m map[string]any) { m["nbf"] = t0.Add(time.Hour).Unix() }), nil, []error{ErrNotYetValid}},
		{"wrong issuer", good, func(o *Options) { o.Issuer = "https://other.example" }, []error{ErrIssuer}},
		{"wrong audience", with(func(c *Claims) { c.Audience = []string{"care-api"} }), func(o *Options) { o.Audience = "billing" }, []error{ErrAudience}},
		{"audience not expected", with(func(c *Claims) { c.Audience = []string{"care-api"} }), nil, []error{ErrAudience}},
		{"audience missing", good, func(o *Options) { o.Audience = "care-api" }, []error{ErrAudience}},
		{"wrong nonce", good, func(o *Options) { o.Nonce = []byte("0123456789abcdef") }, []error{ErrNonce}},
		{"nonce missing", with(func(c *Claims) { c.Nonce = nil }), func(o *Options) { o.Nonce = testNonce() }, []error{ErrNonce}},
		{"draft", with(func(c *Claims) { c.Draft = true }), nil, []error{ErrDraft}},
		{"draft, even with everything else allowed", with(func(c *Claims) { c.Draft = true }), func(o *Options) { o.AllowSimulation = true }, []error{ErrDraft}},
		{"status contraindicated", with(func(c *Claims) { setStatus(c, ear.TrustTierContraindicated) }), nil, []error{ErrStatus}},
		{"status none", with(func(c *Claims) { setStatus(c, ear.TrustTierNone) }), nil, []error{ErrStatus}},
		{"status warning, affirming required", with(func(c *Claims) { setStatus(c, ear.TrustTierWarning) }), func(o *Options) { o.RequireStatus = ear.TrustTierAffirming }, []error{ErrStatus}},
		{"gpu0 contraindicated", with(func(c *Claims) {
			c.Submods["gpu0"] = Submod{Status: ear.TrustTierContraindicated, Claims: &attest.Claims{Format: attest.FormatNVGPU, TEE: attest.TEENVGPU, TCBStatus: attest.TCBUnevaluated}}
		}), nil, []error{ErrStatus}},
		{"measurement not expected", good, func(o *Options) { o.ExpectedMeasurements = []attest.Hex{{1, 2, 3}} }, []error{ErrMeasurement}},
		{"simulation", mustIssue(t, ks, testSimClaims()), nil, []error{ErrSimulation}},
		{"cnf missing", good, func(o *Options) { o.ConfirmationCertificate = certA }, []error{ErrConfirmation}},
		{"cnf bound to another certificate", with(func(c *Claims) { c.Confirmation = ConfirmationForCertificate(certB) }), func(o *Options) { o.ConfirmationCertificate = certA }, []error{ErrConfirmation}},
		{"cnf bound to another key", with(func(c *Claims) { c.Confirmation = mustConfirmation(t, keyB.Public()) }), func(o *Options) { o.ConfirmationCertificate = certA }, []error{ErrConfirmation}},
		{"cnf key, other key presented", with(func(c *Claims) { c.Confirmation = mustConfirmation(t, keyB.Public()) }), func(o *Options) { o.ConfirmationKey = certA.PublicKey }, []error{ErrConfirmation}},
		{"cnf certificate, only a key presented", with(func(c *Claims) { c.Confirmation = ConfirmationForCertificate(certB) }), func(o *Options) { o.ConfirmationKey = certB.PublicKey }, []error{ErrConfirmation}},
		{"several at once", good, func(o *Options) {
			o.Now = t0.Add(time.Hour)
			o.Issuer = "https://other.example"
			o.ExpectedMeasurements = []attest.Hex{{1}}
		}, []error{ErrExpired, ErrIssuer, ErrMeasurement}},

		// Malformed tokens, most with valid signatures.
		{"empty", "", nil, []error{ErrMalformed}},
		{"two segments", parts[0] + "." + parts[1], nil, []error{ErrMalformed}},
		{"four segments", good + ".x", nil, []error{ErrMalformed}},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], nil, []error{ErrMalformed}},
		{"too large", strings.Repeat("a", MaxTokenSize+1), nil, []error{ErrMalformed}},
		{"crit header", signRaw(t, ks, testHeader(ks, map[string]any{"crit": []string{"exp"}}), goodPayload), nil, []error{ErrMalformed}},
		{"b64 header", signRaw(t, ks, testHeader(ks, map[string]any{"b64": false}), goodPayload), nil, []error{ErrMalformed}},
		{"typ not JWT", signRaw(t, ks, testHeader(ks, map[string]any{"typ": "JWE"}), goodPayload), nil, []error{ErrMalformed}},
		{"duplicate header member", signRaw(t, ks, `{"alg":"ES256","alg":"none","kid":"`+kid+`"}`, goodPayload), nil, []error{ErrMalformed}},
		{"duplicate claim", signRaw(t, ks, testHeader(ks, nil), strings.Replace(goodPayload, `{`, `{"iss":"https://evil.example",`, 1)), nil, []error{ErrMalformed}},
		{"claim differing in case", signRaw(t, ks, testHeader(ks, nil), strings.Replace(goodPayload, `{`, `{"ISS":"https://evil.example",`, 1)), nil, []error{ErrMalformed}},
		{"payload not JSON", signRaw(t, ks, testHeader(ks, nil), "not json"), nil, []error{ErrMalformed}},
		{"payload an array", signRaw(t, ks, testHeader(ks, nil), "[]"), nil, []error{ErrMalformed}},
		{"no exp", rawPayload(func(m map[string]any) { delete(m, "exp") }), nil, []error{ErrMalformed}},
		{"exp a string", rawPayload(func(m map[string]any) { m["exp"] = "tomorrow" }), nil, []error{ErrMalformed}},
		{"iss null", rawPayload(func(m map[string]any) { m["iss"] = nil }), nil, []error{ErrMalformed}},
		{"wrong eat_profile", rawPayload(func(m map[string]any) { m["eat_profile"] = "tag:example.com,2024:other" }), nil, []error{ErrMalformed}},
		{"nonce too short", rawPayload(func(m map[string]any) { m["eat_nonce"] = b64.EncodeToString([]byte("1234")) }), nil, []error{ErrMalformed}},
		{"no cpu0", rawPayload(func(m map[string]any) {
			s := m["submods"].(map[string]any)
			s["gpu0"] = s["cpu0"]
			delete(s, "cpu0")
		}), nil, []error{ErrMalformed}},
		{"no submods", rawPayload(func(m map[string]any) { m["submods"] = map[string]any{} }), nil, []error{ErrMalformed}},
		{"submod without claims", rawPayload(func(m map[string]any) {
			delete(m["submods"].(map[string]any)["cpu0"].(map[string]any), "cofre.claims")
		}), nil, []error{ErrMalformed}},
		{"unknown status", rawPayload(func(m map[string]any) {
			m["submods"].(map[string]any)["cpu0"].(map[string]any)["ear.status"] = "great"
		}), nil, []error{ErrMalformed}},
		{"cofre.tee contradicts cpu0", rawPayload(func(m map[string]any) { m["cofre.tee"] = "tdx" }), nil, []error{ErrMalformed}},
		{"cofre.tee missing", rawPayload(func(m map[string]any) { delete(m, "cofre.tee") }), nil, []error{ErrMalformed}},
		{"sim submod hidden by cofre.simulation false", func() string {
			m := payloadMap(t, testSimClaims())
			m["cofre.simulation"] = false
			return signRaw(t, ks, testHeader(ks, nil), mustJSON(t, m))
		}(), func(o *Options) { o.AllowSimulation = true }, []error{ErrMalformed}},
		{"cnf with two methods", rawPayload(func(m map[string]any) {
			m["cnf"] = map[string]any{"x5t#S256": b64.EncodeToString(make([]byte, 32)), "jwk": json.RawMessage(mustConfirmation(t, keyB.Public()).JWK)}
		}), nil, []error{ErrMalformed}},
		{"cnf jwk private", rawPayload(func(m map[string]any) {
			m["cnf"] = map[string]any{"jwk": map[string]any{"kty": "oct", "k": "c2VjcmV0"}}
		}), nil, []error{ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			if tt.opts != nil {
				tt.opts(&o)
			}
			c, err := Verify(context.Background(), tt.tok, o)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v: want %v", err, w)
				}
			}
			rs := Refusals(err)
			if len(rs) != len(tt.want) {
				t.Errorf("%d refusals, want %d: %v", len(rs), len(tt.want), err)
			}
			for _, r := range rs {
				if r.Check == "" {
					t.Errorf("refusal without a check: %v", r)
				}
			}
			if tt.tok != "" && strings.Contains(err.Error(), tt.tok) {
				t.Error("error quotes the token")
			}
		})
	}
}

func setStatus(c *Claims, st ear.TrustTier) {
	s := c.Submods[PrimarySubmod]
	s.Status = st
	c.Submods[PrimarySubmod] = s
}

func mustConfirmation(t *testing.T, pub any) *Confirmation {
	t.Helper()
	cf, err := ConfirmationForKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

// TestAccepts covers the cases that must pass: the boundaries of the
// checks above.
func TestAccepts(t *testing.T) {
	ks := mustKeySet(t, ES256)
	jwks := mustStatic(t, ks, t0)
	certA, keyA := selfSigned(t, "a")
	with := func(edit func(*Claims)) string {
		c := testClaims()
		edit(c)
		return mustIssue(t, ks, c)
	}
	tests := []struct {
		name string
		tok  string
		opts func(*Options)
	}{
		{"at exp plus leeway", with(func(*Claims) {}), func(o *Options) { o.Now = t0.Add(5*time.Minute + DefaultLeeway) }},
		{"iat within leeway ahead", with(func(*Claims) {}), func(o *Options) { o.Now = t0.Add(-DefaultLeeway) }},
		{"audience among several", with(func(c *Claims) { c.Audience = []string{"a", "care-api"} }), func(o *Options) { o.Audience = "care-api" }},
		{"warning by default", with(func(c *Claims) { setStatus(c, ear.TrustTierWarning) }), nil},
		{"simulation allowed", mustIssue(t, ks, testSimClaims()), func(o *Options) { o.AllowSimulation = true }},
		{"cnf x5t#S256 of the certificate", with(func(c *Claims) { c.Confirmation = ConfirmationForCertificate(certA) }), func(o *Options) { o.ConfirmationCertificate = certA }},
		{"cnf jwk of the certificate's key", with(func(c *Claims) { c.Confirmation = mustConfirmation(t, keyA.Public()) }), func(o *Options) { o.ConfirmationCertificate = certA }},
		{"cnf jwk of the key", with(func(c *Claims) { c.Confirmation = mustConfirmation(t, keyA.Public()) }), func(o *Options) { o.ConfirmationKey = keyA.Public() }},
		{"cnf ignored without a presented key", with(func(c *Claims) { c.Confirmation = ConfirmationForCertificate(certA) }), nil},
		{"measurement among several", with(func(*Claims) {}), func(o *Options) { o.ExpectedMeasurements = []attest.Hex{{1}, testMeasurement} }},
		{"unknown claims ignored", signRaw(t, ks, testHeader(ks, nil), func() string {
			m := payloadMap(t, testClaims())
			m["x-custom"] = map[string]any{"a": 1}
			return mustJSON(t, m)
		}()), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{JWKS: jwks, Issuer: testIssuer, Now: t0.Add(time.Minute)}
			if tt.opts != nil {
				tt.opts(&o)
			}
			if _, err := Verify(context.Background(), tt.tok, o); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOptionsInvalid(t *testing.T) {
	ks := mustKeySet(t, ES256)
	tok := mustIssue(t, ks, testClaims())
	cert, _ := selfSigned(t, "a")
	for name, o := range map[string]Options{
		"no jwks":                 {},
		"invalid algorithm":       {JWKS: mustStatic(t, ks, t0), AllowedAlgorithms: []Algorithm{AlgInvalid}},
		"require contraindicated": {JWKS: mustStatic(t, ks, t0), RequireStatus: ear.TrustTierContraindicated},
		"both cnf inputs":         {JWKS: mustStatic(t, ks, t0), ConfirmationKey: cert.PublicKey, ConfirmationCertificate: cert},
		"short nonce":             {JWKS: mustStatic(t, ks, t0), Nonce: []byte{1}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Verify(context.Background(), tok, o)
			if !errors.Is(err, ErrOptions) || len(Refusals(err)) != 0 {
				t.Errorf("error %v: want ErrOptions and no refusal", err)
			}
		})
	}
}

func TestIssueRefuses(t *testing.T) {
	ks := mustKeySet(t, ES256)
	cert, priv := selfSigned(t, "a")
	privJWK, err := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d"})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(*Claims){
		"no issuer":        func(c *Claims) { c.Issuer = "" },
		"exp before iat":   func(c *Claims) { c.Expiry = c.IssuedAt },
		"zero iat":         func(c *Claims) { c.IssuedAt = time.Time{} },
		"no cpu0":          func(c *Claims) { c.Submods = map[string]Submod{"gpu0": c.Submods[PrimarySubmod]} },
		"no submods":       func(c *Claims) { c.Submods = nil },
		"submod bad name":  func(c *Claims) { c.Submods["GPU 0"] = c.Submods[PrimarySubmod] },
		"submod no claims": func(c *Claims) { c.Submods["gpu0"] = Submod{Status: ear.TrustTierAffirming} },
		"invalid status":   func(c *Claims) { setStatus(c, ear.TrustTier(5)) },
		"invalid TEE":      func(c *Claims) { c.Submods[PrimarySubmod].Claims.TEE = attest.TEEInvalid },
		"sim affirming": func(c *Claims) {
			c.Submods = map[string]Submod{PrimarySubmod: {Status: ear.TrustTierAffirming, Claims: simClaims()}}
		},
		"nonce too long":    func(c *Claims) { c.Nonce = make([]byte, 65) },
		"empty audience":    func(c *Claims) { c.Audience = []string{""} },
		"no verifier id":    func(c *Claims) { c.VerifierID = "" },
		"cnf private key":   func(c *Claims) { c.Confirmation = &Confirmation{JWK: privJWK} },
		"cnf symmetric key": func(c *Claims) { c.Confirmation = &Confirmation{JWK: json.RawMessage(`{"kty":"oct","k":"c2VjcmV0"}`)} },
		"cnf empty":         func(c *Claims) { c.Confirmation = &Confirmation{} },
		"cnf both": func(c *Claims) {
			c.Confirmation = &Confirmation{JWK: mustConfirmation(t, priv.Public()).JWK, X5tS256: ConfirmationForCertificate(cert).X5tS256}
		},
		"cnf short x5t":      func(c *Claims) { c.Confirmation = &Confirmation{X5tS256: "abc"} },
		"invalid TCB status": func(c *Claims) { c.Submods[PrimarySubmod].Claims.TCBStatus = attest.TCBStatusInvalid },
		"too large": func(c *Claims) {
			c.Submods[PrimarySubmod].Claims.Raw = map[string]any{"blob": strings.Repeat("x", MaxTokenSize)}
		},
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			c := testClaims()
			edit(c)
			if tok, err := NewIssuer(ks).Issue(c); err == nil {
				t.Fatalf("issued %.60s…", tok)
			}
		})
	}
}

// TestIssueDoesNotModify checks that Issue leaves its input alone.
func TestIssueDoesNotModify(t *testing.T) {
	ks := mustKeySet(t, ES256)
	c := testClaims()
	c.IssuedAt = t0.Add(500 * time.Millisecond)
	c.Expiry = c.IssuedAt.Add(time.Minute)
	before, _ := json.Marshal(c)
	mustIssue(t, ks, c)
	after, _ := json.Marshal(c)
	if string(before) != string(after) {
		t.Errorf("Issue modified its input:\n%s\n%s", before, after)
	}
}

func TestParseUnverified(t *testing.T) {
	ks := mustKeySet(t, ES256)
	tok := mustIssue(t, ks, testSimClaims())
	u, err := ParseUnverified(tok)
	if err != nil {
		t.Fatal(err)
	}
	if u.Claims == nil || !u.Claims.Simulation() || u.Claims.TEE() != attest.TEESim {
		t.Errorf("claims %+v (%v)", u.Claims, u.ClaimsErr)
	}
	// A JWT that is not a cofre token still decodes, with ClaimsErr set.
	other := b64.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." + b64.EncodeToString([]byte(`{"sub":"x"}`)) + ".c2ln"
	u, err = ParseUnverified(other)
	if err != nil {
		t.Fatal(err)
	}
	if u.Claims != nil || !errors.Is(u.ClaimsErr, ErrMalformed) || u.Algorithm != "RS256" {
		t.Errorf("got %+v", u)
	}
	if _, err := ParseUnverified("not a token"); !errors.Is(err, ErrMalformed) {
		t.Errorf("error %v, want ErrMalformed", err)
	}
}

func TestAlgorithmText(t *testing.T) {
	for _, a := range []Algorithm{ES256, ES384, EdDSA} {
		p, err := ParseAlgorithm(a.String())
		if err != nil || p != a {
			t.Errorf("ParseAlgorithm(%q) = %v, %v", a, p, err)
		}
	}
	for _, s := range []string{"none", "HS256", "RS256", "es256", ""} {
		if _, err := ParseAlgorithm(s); err == nil {
			t.Errorf("ParseAlgorithm(%q) accepted", s)
		}
	}
	if AlgInvalid.String() != "Algorithm(0)" {
		t.Errorf("AlgInvalid = %q", AlgInvalid)
	}
}
