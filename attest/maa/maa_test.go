package maa

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
)

// The genuine vector: a token the shared West US instance issued for an SGX
// enclave on 2021-05-05, and that instance's signing key (testdata/README.md).
const (
	genuineIssuer = "https://sharedwus.wus.attest.azure.net"
	genuineToken  = "testdata/sharedwus_sgx.jwt"
	genuineJWKS   = "testdata/sharedwus"
	genuineKID    = "15N2MHoj9iAdkF/c5nRE3J2HB8JG6Vue3Uzvu3K/Ses="
)

var (
	genuineIAT = time.Unix(1620244716, 0).UTC() // also nbf
	genuineEXP = time.Unix(1620273516, 0).UTC()
	// genuineNow is the pinned verification time, inside the token's
	// 8-hour validity.
	genuineNow = time.Unix(1620250000, 0).UTC()
)

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustVerifier(t testing.TB, issuers ...string) *Verifier {
	t.Helper()
	v, err := NewVerifier(Config{TrustedIssuers: issuers})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func evidence(tok []byte) attest.Evidence {
	return attest.Evidence{Format: attest.FormatMAA, Payload: tok}
}

func TestGenuineAccepted(t *testing.T) {
	v := mustVerifier(t, genuineIssuer)
	for _, now := range []time.Time{genuineNow, genuineIAT, genuineEXP.Add(clockSkew / 2), genuineIAT.Add(-clockSkew / 2)} {
		c, err := v.Verify(context.Background(), evidence(readFile(t, genuineToken)),
			attest.Options{Now: now, Collateral: collateral.Dir(genuineJWKS)})
		if err != nil {
			t.Fatalf("at %v: %v", now, err)
		}
		if c.Format != attest.FormatMAA || c.TEE != attest.TEESGX {
			t.Errorf("format/TEE = %q/%v", c.Format, c.TEE)
		}
		if got := c.Measurement.String(); got != "b779202618becb636768e5d902f28d524222735fafb539ea9ba07c3fc171a1c2" {
			t.Errorf("measurement = %s", got)
		}
		if got := c.Signer.String(); got != "2c1a44952ae8207135c6c29b75b8c029372ee94b677e15c20bd42340f10d41aa" {
			t.Errorf("signer = %s", got)
		}
		if c.ProductID != "1" || c.SVN != 1 || c.Debug || len(c.ReportData) != 0 {
			t.Errorf("product/svn/debug/reportdata = %q/%d/%v/%s", c.ProductID, c.SVN, c.Debug, c.ReportData)
		}
		if c.TCBStatus != attest.TCBUnevaluated {
			t.Errorf("tcb status = %v", c.TCBStatus)
		}
		if c.Raw["issuer"] != genuineIssuer || c.Raw["kid"] != genuineKID || c.Raw["expires_at"] != genuineEXP {
			t.Errorf("raw = %v", c.Raw)
		}
		ehd, _ := c.Raw["enclave_held_data"].(attest.Hex)
		if !bytes.Contains(ehd, []byte(`"kty":"EC"`)) {
			t.Errorf("enclave held data = %q", ehd)
		}
		if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "attested by Azure Attestation (issuer "+genuineIssuer+")") {
			t.Errorf("warnings = %q", c.Warnings)
		}
	}
}

// flipB64 decodes a base64url segment, flips one bit at byte i, re-encodes.
func flipB64(t *testing.T, seg string, i int) string {
	t.Helper()
	b, err := b64.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	b[i%len(b)] ^= 0x01
	return b64.EncodeToString(b)
}

func TestGenuineRefused(t *testing.T) {
	tok := readFile(t, genuineToken)
	parts := strings.Split(string(tok), ".")
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	jwksBytes := readFile(t, genuineJWKS+"/jwks.json")
	dir := func(b []byte) collateral.Source { return memSource{genuineIssuer + openIDPath: b} }

	// A JWKS whose certificate has one signature bit flipped: the key is
	// unchanged, only the certificate's integrity is broken.
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwksBytes, &set); err != nil {
		t.Fatal(err)
	}
	der, _ := base64.StdEncoding.DecodeString(set.Keys[0]["x5c"].([]any)[0].(string))
	der[len(der)-1] ^= 0x01
	badCert := jwks(map[string]any{"kid": genuineKID, "kty": "RSA", "x5c": []string{base64.StdEncoding.EncodeToString(der)}})
	otherKID := jwks(map[string]any{"kid": "another", "kty": "RSA", "x5c": set.Keys[0]["x5c"]})

	tests := []struct {
		name    string
		tok     []byte
		issuers []string
		now     time.Time
		src     collateral.Source
		want    error
	}{
		{"expired", tok, nil, genuineEXP.Add(2 * clockSkew), nil, attest.ErrCertificate},
		{"not yet valid", tok, nil, genuineIAT.Add(-2 * clockSkew), nil, attest.ErrCertificate},
		{"untrusted issuer", tok, []string{"https://sharedeus.eus.attest.azure.net"}, genuineNow, nil, attest.ErrCertificate},
		{"no trusted issuer", tok, []string{}, genuineNow, nil, attest.ErrCertificate},
		{"nil collateral", tok, nil, genuineNow, collateralNil{}, attest.ErrCollateral},
		{"jwks missing", tok, nil, genuineNow, memSource{}, attest.ErrCollateral},
		{"jwks not JSON", tok, nil, genuineNow, dir([]byte(`{"keys":[`)), attest.ErrCollateral},
		{"kid not in jwks", tok, nil, genuineNow, dir(otherKID), attest.ErrSignature},
		{"certificate tampered", tok, nil, genuineNow, dir(badCert), attest.ErrCertificate},
		{"measurement tampered", replaceSegment(tok, 1, b64.EncodeToString(bytes.Replace(payload, []byte(`"x-ms-sgx-mrenclave":"b7`), []byte(`"x-ms-sgx-mrenclave":"c7`), 1))), nil, genuineNow, nil, attest.ErrSignature},
		{"debug flag tampered", replaceSegment(tok, 1, b64.EncodeToString(bytes.Replace(payload, []byte(`"x-ms-sgx-is-debuggable":false`), []byte(`"x-ms-sgx-is-debuggable":true `), 1))), nil, genuineNow, nil, attest.ErrSignature},
		{"expiry tampered", replaceSegment(tok, 1, b64.EncodeToString(bytes.Replace(payload, []byte(`"exp":1620273516`), []byte(`"exp":1920273516`), 1))), nil, genuineNow, nil, attest.ErrSignature},
		{"signature tampered", replaceSegment(tok, 2, flipB64(t, parts[2], 17)), nil, genuineNow, nil, attest.ErrSignature},
		{"signature truncated", replaceSegment(tok, 2, b64.EncodeToString(sig[:len(sig)-3])), nil, genuineNow, nil, attest.ErrSignature},
		{"signature extended", replaceSegment(tok, 2, b64.EncodeToString(append(slices.Clone(sig), 0))), nil, genuineNow, nil, attest.ErrSignature},
		{"signature removed", replaceSegment(tok, 2, ""), nil, genuineNow, nil, attest.ErrSignature},
		{"header kid tampered", replaceSegment(tok, 0, b64json(t, map[string]any{"alg": "RS256", "jku": genuineIssuer + "/certs", "kid": "x" + genuineKID, "typ": "JWT"})), nil, genuineNow, nil, attest.ErrSignature},
		{"header jku elsewhere", replaceSegment(tok, 0, b64json(t, map[string]any{"alg": "RS256", "jku": "https://evil.example/certs", "kid": genuineKID, "typ": "JWT"})), nil, genuineNow, nil, attest.ErrCertificate},
		{"header alg none", replaceSegment(tok, 0, b64json(t, map[string]any{"alg": "none", "kid": genuineKID})), nil, genuineNow, nil, attest.ErrSignature},
		{"newline in payload", []byte(parts[0] + "." + parts[1][:40] + "\n" + parts[1][40:] + "." + parts[2]), nil, genuineNow, nil, attest.ErrMalformed},
		{"carriage return in signature", []byte(parts[0] + "." + parts[1] + "." + parts[2][:10] + "\r" + parts[2][10:]), nil, genuineNow, nil, attest.ErrMalformed},
		{"header reordered", replaceSegment(tok, 0, b64.EncodeToString([]byte(`{"typ":"JWT","kid":"`+genuineKID+`","jku":"`+genuineIssuer+`/certs","alg":"RS256"}`))), nil, genuineNow, nil, attest.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issuers := tt.issuers
			if issuers == nil {
				issuers = []string{genuineIssuer}
			}
			var src collateral.Source = collateral.Dir(genuineJWKS)
			switch s := tt.src.(type) {
			case nil:
			case collateralNil:
				src = nil
			default:
				src = s
			}
			c, err := mustVerifier(t, issuers...).Verify(context.Background(), evidence(tt.tok), attest.Options{Now: tt.now, Collateral: src})
			assertRefused(t, c, err, tt.want)
		})
	}
}

// collateralNil marks a test case that passes a nil Collateral.
type collateralNil struct{ collateral.Source }

func assertRefused(t *testing.T, c *attest.Claims, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted (%+v), want %v", c, want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want class %v", err, want)
	}
	if got := attest.Class(err); got != want {
		t.Fatalf("error %v has class %v, want %v", err, got, want)
	}
	if c != nil {
		t.Fatalf("claims returned with error")
	}
	if testing.Verbose() {
		t.Logf("refused: %v", err)
	}
	var ce *attest.CheckError
	if want != attest.ErrMalformed && !errors.As(err, &ce) {
		t.Errorf("error %v is not a *CheckError", err)
	}
}

func TestTruncatedGenuine(t *testing.T) {
	tok := readFile(t, genuineToken)
	v := mustVerifier(t, genuineIssuer)
	opts := attest.Options{Now: genuineNow, Collateral: collateral.Dir(genuineJWKS)}
	for n := 0; n < len(tok); n++ {
		c, err := v.Verify(context.Background(), evidence(tok[:n]), opts)
		if err == nil {
			t.Fatalf("prefix of %d bytes accepted: %+v", n, c)
		}
		if attest.Class(err) == nil {
			t.Fatalf("prefix of %d bytes: error %v has no refusal class", n, err)
		}
	}
}

func TestWrongFormat(t *testing.T) {
	v := mustVerifier(t, genuineIssuer)
	c, err := v.Verify(context.Background(), attest.Evidence{Format: attest.FormatSGX, Payload: readFile(t, genuineToken)},
		attest.Options{Now: genuineNow, Collateral: collateral.Dir(genuineJWKS)})
	assertRefused(t, c, err, attest.ErrMalformed)
	if v.Format() != attest.FormatMAA {
		t.Errorf("Format() = %q", v.Format())
	}
}

func TestNewVerifier(t *testing.T) {
	for _, s := range []string{
		"http://sharedeus.eus.attest.azure.net",
		"https://sharedeus.eus.attest.azure.net/certs",
		"https://user@sharedeus.eus.attest.azure.net",
		"https://sharedeus.eus.attest.azure.net?x=1",
		"sharedeus.eus.attest.azure.net",
		"https://",
		"://",
	} {
		if _, err := NewVerifier(Config{TrustedIssuers: []string{s}}); err == nil {
			t.Errorf("issuer %q accepted", s)
		}
	}
	v, err := NewVerifier(Config{TrustedIssuers: []string{genuineIssuer + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), evidence(readFile(t, genuineToken)),
		attest.Options{Now: genuineNow, Collateral: collateral.Dir(genuineJWKS)}); err != nil {
		t.Errorf("issuer with trailing slash: %v", err)
	}
}

// TestFakeClaims checks the claim mapping of each TEE with tokens the fake
// MAA signs.
func TestFakeClaims(t *testing.T) {
	f := defaultFake(t)
	src := sourceFor(f, jwks(f.jwkX5C()))
	tests := []struct {
		name   string
		claims map[string]any
		check  func(t *testing.T, c *attest.Claims)
	}{
		{"sevsnpvm top level", snpTEE(), func(t *testing.T, c *attest.Claims) {
			if c.TEE != attest.TEESEVSNP || c.Measurement.String() != snpMeasurement || c.ReportData.String() != snpReportData {
				t.Errorf("tee/measurement/reportdata = %v/%s/%s", c.TEE, c.Measurement, c.ReportData)
			}
			if c.Signer.String() != snpIDKeyDigest || c.SVN != 2 || c.Debug {
				t.Errorf("signer/svn/debug = %s/%d/%v", c.Signer, c.SVN, c.Debug)
			}
			want := map[string]uint64{"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}
			for k, v := range want {
				if c.TCB[k] != v {
					t.Errorf("TCB[%s] = %d, want %d", k, c.TCB[k], v)
				}
			}
			if c.Raw["compliance_status"] != "azure-compliant-cvm" || c.Raw["vmpl"] != uint64(0) || len(c.Raw["host_data"].(attest.Hex)) != 32 {
				t.Errorf("raw = %v", c.Raw)
			}
			if c.TCBStatus != attest.TCBUnevaluated || len(c.Warnings) != 1 {
				t.Errorf("tcb status/warnings = %v/%q", c.TCBStatus, c.Warnings)
			}
		}},
		{"azurevm with sevsnpvm isolation", azureVMSNP(), func(t *testing.T, c *attest.Claims) {
			if c.TEE != attest.TEESEVSNP || c.Measurement.String() != snpMeasurement {
				t.Errorf("tee/measurement = %v/%s", c.TEE, c.Measurement)
			}
			vm, _ := c.Raw["azurevm"].(map[string]any)
			if vm["x-ms-azurevm-vmid"] != "A80B7FE7-5B93-4027-9971-6CCEE468C2B3" || vm["secureboot"] != true {
				t.Errorf("azurevm = %v", vm)
			}
			if c.Raw["attestation_type"] != "azurevm" || c.Raw["runtime"] == nil || c.Raw["tee_runtime"] == nil {
				t.Errorf("raw = %v", c.Raw)
			}
		}},
		{"tdxvm", tdxTEE(), func(t *testing.T, c *attest.Claims) {
			if c.TEE != attest.TEETDX || c.Measurement.String() != tdxMRTD || c.ReportData.String() != tdxReportData || c.Debug {
				t.Errorf("tee/measurement/reportdata/debug = %v/%s/%s/%v", c.TEE, c.Measurement, c.ReportData, c.Debug)
			}
			if c.TCBStatus != attest.TCBUpToDate || c.TCB["seamsvn"] != 3 {
				t.Errorf("tcb = %v/%v", c.TCBStatus, c.TCB)
			}
			if len(c.Raw["rtmr3"].(attest.Hex)) != 48 || len(c.Raw["tee_tcb_svn"].(attest.Hex)) != 16 || c.Raw["dbgstat"] != "disabled" {
				t.Errorf("raw = %v", c.Raw)
			}
		}},
		{"tdxvm out of date", merge(tdxTEE(), map[string]any{"attester_tcb_status": "OutOfDate", "attester_advisory_ids": []string{"INTEL-SA-00837"}}), func(t *testing.T, c *attest.Claims) {
			if c.TCBStatus != attest.TCBOutOfDate || len(c.Advisories) != 1 || c.Advisories[0] != "INTEL-SA-00837" {
				t.Errorf("tcb status/advisories = %v/%v", c.TCBStatus, c.Advisories)
			}
			if !hasWarning(c, "TCB status OutOfDate") {
				t.Errorf("warnings = %q", c.Warnings)
			}
		}},
		{"tdxvm debug from attributes", merge(tdxTEE(), map[string]any{"tdx_td_attributes": "0100000000000000"}), func(t *testing.T, c *attest.Claims) {
			if !c.Debug || !hasWarning(c, "debug mode") {
				t.Errorf("debug/warnings = %v/%q", c.Debug, c.Warnings)
			}
		}},
		{"tdxvm debug from dbgstat", merge(tdxTEE(), map[string]any{"dbgstat": "enabled"}), func(t *testing.T, c *attest.Claims) {
			if !c.Debug {
				t.Error("debug = false")
			}
		}},
		{"sgx", sgxTEE(), func(t *testing.T, c *attest.Claims) {
			if c.TEE != attest.TEESGX || len(c.Measurement) != 32 || len(c.Signer) != 32 || len(c.ReportData) != 64 || c.ProductID != "1" {
				t.Errorf("claims = %+v", c)
			}
			if string(c.Raw["enclave_held_data"].(attest.Hex)) != "This is some runtime data" {
				t.Errorf("ehd = %q", c.Raw["enclave_held_data"])
			}
			if _, ok := c.Raw["compliance_status"]; ok || len(c.Warnings) != 1 {
				t.Errorf("sgx compliance/warnings = %v/%q", c.Raw["compliance_status"], c.Warnings)
			}
		}},
		{"sevsnpvm debuggable", merge(snpTEE(), map[string]any{"x-ms-sevsnpvm-is-debuggable": true}), func(t *testing.T, c *attest.Claims) {
			if !c.Debug || !hasWarning(c, "debug mode: the sevsnp TEE is debuggable") {
				t.Errorf("debug/warnings = %v/%q", c.Debug, c.Warnings)
			}
		}},
		{"sevsnpvm not compliant", merge(snpTEE(), map[string]any{"x-ms-compliance-status": "unknown"}), func(t *testing.T, c *attest.Claims) {
			if !hasWarning(c, `x-ms-compliance-status is "unknown"`) || c.Raw["compliance_status"] != "unknown" {
				t.Errorf("warnings = %q", c.Warnings)
			}
		}},
	}
	v := mustVerifier(t, f.issuer)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := f.sign(t, f.header(), merge(baseClaims(f.issuer, fakeNow), tt.claims))
			c, err := v.Verify(context.Background(), evidence(tok), attest.Options{Now: fakeNow.Add(time.Hour), Collateral: src})
			if err != nil {
				t.Fatal(err)
			}
			if c.Format != attest.FormatMAA || c.Raw["issuer"] != f.issuer {
				t.Errorf("format/issuer = %q/%v", c.Format, c.Raw["issuer"])
			}
			if !hasWarning(c, "cofre did not see the hardware evidence") {
				t.Errorf("warnings = %q", c.Warnings)
			}
			tt.check(t, c)
		})
	}
}

func hasWarning(c *attest.Claims, sub string) bool {
	for _, w := range c.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func without(m map[string]any, keys ...string) map[string]any {
	out := merge(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// TestFakeRefused covers refusals that need a token the fake MAA signs.
func TestFakeRefused(t *testing.T) {
	f := defaultFake(t)
	other := newFakeMAA(t, 1, fakeNow.AddDate(-1, 0, 0), fakeNow.AddDate(1, 0, 0))
	expiredCert := newFakeMAA(t, 0, fakeNow.AddDate(-2, 0, 0), fakeNow.AddDate(0, 0, -1))
	base := merge(baseClaims(f.issuer, fakeNow), snpTEE())
	good := f.jwkX5C()
	hdr := func(kv ...any) map[string]any {
		h := f.header()
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(h, kv[i].(string))
			} else {
				h[kv[i].(string)] = kv[i+1]
			}
		}
		return h
	}
	smallN, _ := rand.Prime(rand.Reader, 512)
	mismatchedNE := merge(f.jwkX5C(), other.jwkNE())
	mismatchedNE["kid"] = f.kid

	tests := []struct {
		name   string
		tok    []byte
		set    []byte
		want   error
		signer *fakeMAA
	}{
		{"alg none", f.sign(t, hdr("alg", "none"), base), nil, attest.ErrSignature, nil},
		{"alg HS256 keyed with the public key", f.sign(t, hdr("alg", "HS256"), base), nil, attest.ErrSignature, nil},
		{"alg RS384", f.sign(t, hdr("alg", "RS384"), base), nil, attest.ErrSignature, nil},
		{"alg PS256", f.sign(t, hdr("alg", "PS256"), base), nil, attest.ErrSignature, nil},
		{"alg ES256", f.sign(t, hdr("alg", "ES256"), base), nil, attest.ErrSignature, nil},
		{"alg lowercase", f.sign(t, hdr("alg", "rs256"), base), nil, attest.ErrSignature, nil},
		{"crit header", f.sign(t, hdr("crit", []string{"b64"}, "b64", false), base), nil, attest.ErrSignature, nil},
		{"no kid", f.sign(t, hdr("kid", nil), base), nil, attest.ErrMalformed, nil},
		{"typ not JWT", f.sign(t, hdr("typ", "JWE"), base), nil, attest.ErrMalformed, nil},
		{"unknown kid", f.sign(t, hdr("kid", "unknown"), base), nil, attest.ErrSignature, nil},
		{"signed by a key of another kid", other.sign(t, hdr("kid", other.kid), base), nil, attest.ErrSignature, nil},
		{"signed by another key under the trusted kid", other.sign(t, hdr(), base), nil, attest.ErrSignature, nil},
		{"jku other host", f.sign(t, hdr("jku", "https://evil.example/certs"), base), nil, attest.ErrCertificate, nil},
		{"jku http", f.sign(t, hdr("jku", "http://fake.eus.attest.example/certs"), base), nil, attest.ErrCertificate, nil},
		{"jku with user", f.sign(t, hdr("jku", "https://fake.eus.attest.example@evil.example/certs"), base), nil, attest.ErrCertificate, nil},
		{"jku not a URL", f.sign(t, hdr("jku", "::"), base), nil, attest.ErrCertificate, nil},
		{"embedded jwk ignored", other.sign(t, hdr("jwk", other.jwkNE()), base), nil, attest.ErrSignature, nil},
		{"embedded x5c ignored", other.sign(t, hdr("x5c", other.jwkX5C()["x5c"]), base), nil, attest.ErrSignature, nil},
		{"untrusted iss", f.sign(t, hdr(), merge(base, map[string]any{"iss": "https://evil.example"})), nil, attest.ErrCertificate, nil},
		{"iss with trailing slash", f.sign(t, hdr(), merge(base, map[string]any{"iss": f.issuer + "/"})), nil, attest.ErrCertificate, nil},
		{"iss missing", f.sign(t, hdr(), without(base, "iss")), nil, attest.ErrMalformed, nil},
		{"iss not a string", f.sign(t, hdr(), merge(base, map[string]any{"iss": 1})), nil, attest.ErrMalformed, nil},
		{"expired", f.sign(t, hdr(), merge(base, map[string]any{"exp": fakeNow.Unix()})), nil, attest.ErrCertificate, nil},
		{"not yet valid", f.sign(t, hdr(), merge(base, map[string]any{"nbf": fakeNow.Add(2 * time.Hour).Unix()})), nil, attest.ErrCertificate, nil},
		{"issued in the future", f.sign(t, hdr(), merge(base, map[string]any{"iat": fakeNow.Add(2 * time.Hour).Unix()})), nil, attest.ErrCertificate, nil},
		{"exp missing", f.sign(t, hdr(), without(base, "exp")), nil, attest.ErrMalformed, nil},
		{"exp fractional", f.sign(t, hdr(), merge(base, map[string]any{"exp": 1.5e9 + 0.5})), nil, attest.ErrMalformed, nil},
		{"exp a string", f.sign(t, hdr(), merge(base, map[string]any{"exp": "tomorrow"})), nil, attest.ErrMalformed, nil},
		{"x-ms-ver unknown", f.sign(t, hdr(), merge(base, map[string]any{"x-ms-ver": "2.0"})), nil, attest.ErrMalformed, nil},
		{"x-ms-ver missing", f.sign(t, hdr(), without(base, "x-ms-ver")), nil, attest.ErrMalformed, nil},
		{"attestation type unknown", f.sign(t, hdr(), merge(base, map[string]any{"x-ms-attestation-type": "tpm"})), nil, attest.ErrMalformed, nil},
		{"attestation type missing", f.sign(t, hdr(), without(base, "x-ms-attestation-type")), nil, attest.ErrMalformed, nil},
		{"azurevm without isolation tee", f.sign(t, hdr(), merge(base, map[string]any{"x-ms-attestation-type": "azurevm"})), nil, attest.ErrMalformed, nil},
		{"isolation tee outside azurevm", f.sign(t, hdr(), merge(base, map[string]any{"x-ms-isolation-tee": snpTEE()})), nil, attest.ErrMalformed, nil},
		{"isolation tee not an object", f.sign(t, hdr(), merge(baseClaims(f.issuer, fakeNow), azureVMSNP(), map[string]any{"x-ms-isolation-tee": "sevsnpvm"})), nil, attest.ErrMalformed, nil},
		{"isolation tee of unknown type", f.sign(t, hdr(), merge(baseClaims(f.issuer, fakeNow), azureVMSNP(), map[string]any{"x-ms-isolation-tee": map[string]any{"x-ms-attestation-type": "vbs"}})), nil, attest.ErrMalformed, nil},
		{"snp measurement missing", f.sign(t, hdr(), without(base, "x-ms-sevsnpvm-launchmeasurement")), nil, attest.ErrMalformed, nil},
		{"snp measurement short", f.sign(t, hdr(), merge(base, map[string]any{"x-ms-sevsnpvm-launchmeasurement": "abcd"})), nil, attest.ErrMalformed, nil},
		{"snp report data not hex", f.sign(t, hdr(), merge(base, map[string]any{"x-ms-sevsnpvm-reportdata": strings.Repeat("zz", 64)})), nil, attest.ErrMalformed, nil},
		{"snp debug flag missing", f.sign(t, hdr(), without(base, "x-ms-sevsnpvm-is-debuggable")), nil, attest.ErrMalformed, nil},
		{"snp debug flag a string", f.sign(t, hdr(), merge(base, map[string]any{"x-ms-sevsnpvm-is-debuggable": "false"})), nil, attest.ErrMalformed, nil},
		{"snp svn negative", f.sign(t, hdr(), merge(base, map[string]any{"x-ms-sevsnpvm-guestsvn": -1})), nil, attest.ErrMalformed, nil},
		{"tdx debug missing", f.sign(t, hdr(), merge(baseClaims(f.issuer, fakeNow), without(tdxTEE(), "tdx_td_attributes", "tdx_td_attributes_debug"))), nil, attest.ErrMalformed, nil},
		{"tdx tcb revoked", f.sign(t, hdr(), merge(baseClaims(f.issuer, fakeNow), tdxTEE(), map[string]any{"attester_tcb_status": "Revoked"})), nil, attest.ErrTCB, nil},
		{"tdx tcb unknown", f.sign(t, hdr(), merge(baseClaims(f.issuer, fakeNow), tdxTEE(), map[string]any{"attester_tcb_status": "Fine"})), nil, attest.ErrTCB, nil},
		{"tdx tcb unknown and measurement missing", f.sign(t, hdr(), merge(baseClaims(f.issuer, fakeNow), without(tdxTEE(), "tdx_mrtd"), map[string]any{"attester_tcb_status": "Fine"})), nil, attest.ErrMalformed, nil},
		{"sgx mrsigner missing", f.sign(t, hdr(), merge(baseClaims(f.issuer, fakeNow), without(sgxTEE(), "x-ms-sgx-mrsigner"))), nil, attest.ErrMalformed, nil},
		{"sgx ehd not base64url", f.sign(t, hdr(), merge(baseClaims(f.issuer, fakeNow), sgxTEE(), map[string]any{"x-ms-sgx-ehd": "!!"})), nil, attest.ErrMalformed, nil},
		{"duplicate claim", f.signRaw(t, "RS256", mustJSON(t, f.header()), []byte(`{"iss":"`+f.issuer+`","iss":"https://evil.example"}`)), nil, attest.ErrMalformed, nil},
		{"payload not an object", f.signRaw(t, "RS256", mustJSON(t, f.header()), []byte(`["iss"]`)), nil, attest.ErrMalformed, nil},

		{"jwks: key not RSA", f.sign(t, hdr(), base), jwks(merge(good, map[string]any{"kty": "EC"})), attest.ErrCollateral, nil},
		{"jwks: key alg RS512", f.sign(t, hdr(), base), jwks(merge(good, map[string]any{"alg": "RS512"})), attest.ErrCollateral, nil},
		{"jwks: key use enc", f.sign(t, hdr(), base), jwks(merge(good, map[string]any{"use": "enc"})), attest.ErrCollateral, nil},
		{"jwks: n/e differ from x5c", f.sign(t, hdr(), base), jwks(mismatchedNE), attest.ErrCollateral, nil},
		{"jwks: RSA-512", f.sign(t, hdr(), base), jwks(map[string]any{"kid": f.kid, "kty": "RSA", "n": base64.RawURLEncoding.EncodeToString(smallN.Bytes()), "e": "AQAB"}), attest.ErrCollateral, nil},
		{"jwks: even exponent", f.sign(t, hdr(), base), jwks(merge(f.jwkNE(), map[string]any{"e": "AQAA"})), attest.ErrCollateral, nil},
		{"jwks: no key material", f.sign(t, hdr(), base), jwks(map[string]any{"kid": f.kid, "kty": "RSA"}), attest.ErrCollateral, nil},
		{"jwks: duplicate kid", f.sign(t, hdr(), base), jwks(good, good), attest.ErrCollateral, nil},
		{"jwks: x5c not base64", f.sign(t, hdr(), base), jwks(merge(good, map[string]any{"x5c": []string{"***"}})), attest.ErrCollateral, nil},
		{"jwks: no keys member", f.sign(t, hdr(), base), []byte(`{"keys_":[]}`), attest.ErrCollateral, nil},
		{"jwks: signing certificate expired", expiredCert.sign(t, expiredCert.header(), base), jwks(expiredCert.jwkX5C()), attest.ErrCertificate, nil},
		{"jwks: chain link broken", f.sign(t, hdr(), base), jwks(merge(good, map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(f.cert), base64.StdEncoding.EncodeToString(other.cert)}})), attest.ErrCertificate, nil},
	}
	v := mustVerifier(t, f.issuer)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := tt.set
			if set == nil {
				set = jwks(good)
			}
			c, err := v.Verify(context.Background(), evidence(tt.tok), attest.Options{Now: fakeNow.Add(time.Hour), Collateral: sourceFor(f, set)})
			assertRefused(t, c, err, tt.want)
		})
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeySelection checks that the kid alone selects the key, from keys
// published with x5c, n/e or both.
func TestKeySelection(t *testing.T) {
	a := defaultFake(t)
	b := newFakeMAA(t, 1, fakeNow.AddDate(-1, 0, 0), fakeNow.AddDate(1, 0, 0))
	both := merge(b.jwkX5C(), b.jwkNE())
	sets := map[string][]byte{
		"x5c":               jwks(a.jwkX5C(), b.jwkX5C()),
		"n/e":               jwks(a.jwkNE(), b.jwkNE()),
		"x5c and n/e":       jwks(merge(a.jwkX5C(), a.jwkNE()), both),
		"with keyless kids": jwks(map[string]any{"kty": "RSA"}, a.jwkX5C(), map[string]any{"kid": "ec", "kty": "EC"}, b.jwkNE()),
	}
	v := mustVerifier(t, fakeIssuer)
	for name, set := range sets {
		for _, f := range []*fakeMAA{a, b} {
			tok := f.sign(t, f.header(), merge(baseClaims(fakeIssuer, fakeNow), sgxTEE()))
			c, err := v.Verify(context.Background(), evidence(tok), attest.Options{Now: fakeNow, Collateral: sourceFor(f, set)})
			if err != nil {
				t.Fatalf("%s, kid %s: %v", name, f.kid, err)
			}
			if c.Raw["kid"] != f.kid {
				t.Errorf("%s: kid = %v", name, c.Raw["kid"])
			}
		}
	}
}

func TestVersions(t *testing.T) {
	f := defaultFake(t)
	tok := f.sign(t, f.header(), merge(baseClaims(f.issuer, fakeNow), sgxTEE(), map[string]any{"x-ms-ver": "1.1"}))
	v, err := NewVerifier(Config{TrustedIssuers: []string{f.issuer}, Versions: []string{"1.0", "1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), evidence(tok), attest.Options{Now: fakeNow, Collateral: sourceFor(f, jwks(f.jwkX5C()))}); err != nil {
		t.Fatal(err)
	}
}

func TestParseToken(t *testing.T) {
	h := b64json(t, map[string]any{"alg": "RS256", "kid": "k"})
	p := b64json(t, map[string]any{"iss": "x"})
	tests := []struct {
		name string
		tok  string
		ok   bool
	}{
		{"valid", h + "." + p + ".c2ln", true},
		{"empty signature", h + "." + p + ".", true},
		{"empty", "", false},
		{"two segments", h + "." + p, false},
		{"four segments", h + "." + p + ".c2ln.c2ln", false},
		{"empty header", "." + p + ".c2ln", false},
		{"empty payload", h + "..c2ln", false},
		{"padded header", h + "=." + p + ".c2ln", false},
		{"standard base64", strings.NewReplacer("-", "+", "_", "/").Replace(b64json(t, map[string]any{"alg": "RS256", "kid": "k>>>?"})) + "." + p + ".c2ln", false},
		{"non-canonical trailing bits", h + "." + p + ".c2l", false},
		{"header not JSON", b64.EncodeToString([]byte("alg")) + "." + p + ".c2ln", false},
		{"header array", b64.EncodeToString([]byte(`["alg"]`)) + "." + p + ".c2ln", false},
		{"header without alg", b64json(t, map[string]any{"kid": "k"}) + "." + p + ".c2ln", false},
		{"header alg number", b64json(t, map[string]any{"alg": 256}) + "." + p + ".c2ln", false},
		{"header duplicate alg", b64.EncodeToString([]byte(`{"alg":"RS256","alg":"none"}`)) + "." + p + ".c2ln", false},
		{"payload trailing data", h + "." + b64.EncodeToString([]byte(`{"iss":"x"} {}`)) + ".c2ln", false},
		{"payload nested duplicate", h + "." + b64.EncodeToString([]byte(`{"a":{"b":1,"b":2}}`)) + ".c2ln", false},
		{"payload duplicate in array object", h + "." + b64.EncodeToString([]byte(`{"a":[{"b":1},{"b":1,"b":2}]}`)) + ".c2ln", false},
		{"payload same key at two levels", h + "." + b64.EncodeToString([]byte(`{"a":{"a":1},"b":[{"a":2}]}`)) + ".c2ln", true},
		{"payload too deep", h + "." + b64.EncodeToString([]byte(`{"a":`+strings.Repeat("[", maxNesting)+strings.Repeat("]", maxNesting)+`}`)) + ".c2ln", false},
		{"payload null", h + "." + b64.EncodeToString([]byte(`null`)) + ".c2ln", false},
		{"oversized", h + "." + strings.Repeat("A", maxTokenSize) + ".c2ln", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseToken([]byte(tt.tok))
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if got := bytes.Join(tok.segments[:], []byte(".")); string(got) != tt.tok {
					t.Errorf("segments rejoin to %q", got)
				}
				return
			}
			if !errors.Is(err, attest.ErrMalformed) {
				t.Fatalf("error %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	real := readFile(t, genuineJWKS+"/jwks.json")
	keys, err := parseJWKS(real)
	if err != nil {
		t.Fatal(err)
	}
	k := keys[genuineKID]
	if k == nil || len(k.X5C) != 1 || k.X5C[0].Subject.CommonName != genuineIssuer {
		t.Fatalf("keys = %v", keys)
	}
	pub, err := k.publicKey()
	if err != nil || pub.N.BitLen() != 1024 {
		t.Fatalf("public key %v, %v", pub, err)
	}
	for name, b := range map[string]string{
		"not JSON":         `{`,
		"array":            `[]`,
		"keys null":        `{"keys":null}`,
		"keys object":      `{"keys":{}}`,
		"key string":       `{"keys":["k"]}`,
		"kid number":       `{"keys":[{"kid":1,"kty":"RSA"}]}`,
		"no kty":           `{"keys":[{"kid":"a"}]}`,
		"n without e":      `{"keys":[{"kid":"a","kty":"RSA","n":"AQAB"}]}`,
		"n empty":          `{"keys":[{"kid":"a","kty":"RSA","n":"","e":"AQAB"}]}`,
		"x5c garbage":      `{"keys":[{"kid":"a","kty":"RSA","x5c":["AAAA"]}]}`,
		"x5c too long":     `{"keys":[{"kid":"a","kty":"RSA","x5c":["` + strings.Repeat(`A","`, maxX5CLength) + `A"]}]}`,
		"duplicate member": `{"keys":[],"keys":[{"kid":"a","kty":"RSA"}]}`,
		"too many keys":    `{"keys":[` + strings.TrimSuffix(strings.Repeat(`{},`, maxJWKSKeys+1), ",") + `]}`,
	} {
		if _, err := parseJWKS([]byte(b)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	big := new(big.Int).Lsh(big.NewInt(1), maxRSABits+8)
	if _, err := parseJWKS([]byte(`{"keys":[{"kid":"a","kty":"RSA","n":"` + base64.RawURLEncoding.EncodeToString(big.Bytes()) + `","e":"AQAB"}]}`)); err == nil {
		t.Error("oversized modulus accepted")
	}
	if keys, err := parseJWKS([]byte(`{"keys":[{"kid":"a","kty":"RSA","n":"AQAB","e":"AQAB"}]}`)); err != nil {
		t.Error(err)
	} else if _, err := keys["a"].publicKey(); err == nil {
		t.Error("17-bit modulus accepted")
	}
}
