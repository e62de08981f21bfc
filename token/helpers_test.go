package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
)

// t0 is the pinned time of the tests: tokens are issued at t0 and valid
// for five minutes.
var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const testIssuer = "https://attestd.example"

var testMeasurement = attest.Hex(bytes.Repeat([]byte{0xab}, 48))

func testNonce() []byte { return bytes.Repeat([]byte{0x42}, 32) }

// snpClaims is what a SEV-SNP verifier returns, trimmed.
func snpClaims() *attest.Claims {
	return &attest.Claims{
		Format:      attest.FormatSEVSNP,
		TEE:         attest.TEESEVSNP,
		Measurement: testMeasurement,
		Signer:      attest.Hex(bytes.Repeat([]byte{0x01}, 48)),
		ProductID:   "Milan",
		SVN:         3,
		TCB:         map[string]uint64{"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115},
		ReportData:  attest.Hex(bytes.Repeat([]byte{0x07}, 64)),
		TCBStatus:   attest.TCBUnevaluated,
	}
}

// simClaims is what the sim verifier returns.
func simClaims() *attest.Claims {
	return &attest.Claims{
		Format:      attest.FormatSim,
		TEE:         attest.TEESim,
		Measurement: testMeasurement,
		Debug:       true,
		ReportData:  attest.Hex(bytes.Repeat([]byte{0x07}, 64)),
		TCBStatus:   attest.TCBUnevaluated,
		Warnings:    []string{attest.SimulationWarning},
	}
}

func affirmingVector() ear.TrustVector {
	return ear.TrustVector{
		InstanceIdentity: ear.TrustworthyInstanceClaim,
		Configuration:    ear.ApprovedConfigClaim,
		Executables:      ear.ApprovedRuntimeClaim,
		Hardware:         ear.GenuineHardwareClaim,
		RuntimeOpaque:    ear.EncryptedMemoryRuntimeClaim,
	}
}

// testClaims returns affirming SEV-SNP claims issued at t0 for five
// minutes, with a nonce and no audience or cnf.
func testClaims() *Claims {
	return &Claims{
		Issuer:     testIssuer,
		IssuedAt:   t0,
		Expiry:     t0.Add(5 * time.Minute),
		Nonce:      testNonce(),
		VerifierID: "cofre test",
		Submods: map[string]Submod{
			PrimarySubmod: {Status: ear.TrustTierAffirming, Vector: affirmingVector(), PolicyID: "prod", Claims: snpClaims()},
		},
	}
}

func testSimClaims() *Claims {
	c := testClaims()
	v := affirmingVector()
	v.Hardware = ear.UnsafeHardwareClaim
	c.Submods = map[string]Submod{PrimarySubmod: {
		Status: ear.TrustTierWarning, Vector: v, PolicyID: "dev", Claims: simClaims(),
		Reasons: []appraise.Reason{{Field: appraise.FieldSimulation, Expected: "hardware TEE", Actual: "SIMULATION", Tier: ear.TrustTierWarning}},
	}}
	return c
}

func mustKeySet(t testing.TB, alg Algorithm) *KeySet {
	t.Helper()
	ks, err := NewKeySet(alg, t0)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func mustIssue(t testing.TB, ks *KeySet, c *Claims) string {
	t.Helper()
	tok, err := NewIssuer(ks).Issue(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustStatic(t testing.TB, ks *KeySet, at time.Time) JWKS {
	t.Helper()
	b, err := ks.JWKS(at)
	if err != nil {
		t.Fatal(err)
	}
	j, err := StaticJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// signRaw signs arbitrary header and payload bytes with the current key of
// ks, exactly as given: tokens Issue would never produce (duplicate
// members, inconsistent claims) but that carry a valid signature.
func signRaw(t testing.TB, ks *KeySet, hdr, payload string) string {
	t.Helper()
	k := ks.current()
	input := b64.EncodeToString([]byte(hdr)) + "." + b64.EncodeToString([]byte(payload))
	var sig []byte
	switch p := k.priv.(type) {
	case *ecdsa.PrivateKey:
		var digest []byte
		if k.alg == ES256 {
			d := sha256.Sum256([]byte(input))
			digest = d[:]
		} else {
			d := sha512.Sum384([]byte(input))
			digest = d[:]
		}
		der, err := p.Sign(rand.Reader, digest, nil)
		if err != nil {
			t.Fatal(err)
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1Unmarshal(der, &rs); err != nil {
			t.Fatal(err)
		}
		size := (p.Curve.Params().BitSize + 7) / 8
		sig = make([]byte, 2*size)
		rs.R.FillBytes(sig[:size])
		rs.S.FillBytes(sig[size:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(p, []byte(input))
	default:
		t.Fatalf("key %T", p)
	}
	return input + "." + b64.EncodeToString(sig)
}

// header returns the JOSE header Issue writes for ks's current key, with
// overrides.
func testHeader(ks *KeySet, overrides map[string]any) string {
	kid, alg := ks.Current()
	h := map[string]any{"alg": alg.String(), "kid": kid, "typ": "JWT"}
	for k, v := range overrides {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	b, _ := json.Marshal(h)
	return string(b)
}

// payloadMap returns the payload Issue would write for c, as a map to edit.
func payloadMap(t testing.TB, c *Claims) map[string]any {
	t.Helper()
	b, err := encodePayload(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// selfSigned makes a key and a self-signed certificate for it, as a
// workload's TLS client certificate.
func selfSigned(t testing.TB, cn string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    t0.Add(-time.Hour),
		NotAfter:     t0.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// tamper replaces the character at segment seg, offset i of a compact
// token with a different base64url character.
func tamper(tok string, seg, i int) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[seg])
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	parts[seg] = string(b)
	return strings.Join(parts, ".")
}

func asn1Unmarshal(der []byte, v any) ([]byte, error) { return asn1.Unmarshal(der, v) }
