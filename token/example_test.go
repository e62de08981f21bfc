package token_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/token"
)

// An attestation service signs the appraisal of verified evidence.
func ExampleIssuer_Issue() {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	keys, err := token.NewKeySet(token.ES256, now)
	if err != nil {
		log.Fatal(err)
	}
	// claims come from an attest.Verifier, result from appraise.Appraise.
	claims := &attest.Claims{Format: attest.FormatSEVSNP, TEE: attest.TEESEVSNP, TCBStatus: attest.TCBUnevaluated,
		Measurement: bytes.Repeat([]byte{0xab}, 48)}
	result := &appraise.Result{Status: ear.TrustTierAffirming, Policy: "prod"}

	tok, err := token.NewIssuer(keys).Issue(&token.Claims{
		Issuer:     "https://attestd.example",
		IssuedAt:   now,
		Expiry:     now.Add(5 * time.Minute),
		Nonce:      bytes.Repeat([]byte{0x42}, 32),
		VerifierID: "cofre v0.1.0",
		Submods:    map[string]token.Submod{token.PrimarySubmod: token.NewSubmod(claims, result)},
	})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := token.ParseUnverified(tok)
	fmt.Println(u.Algorithm, u.Claims.TEE(), u.Claims.Status())
	// Output: ES256 sevsnp affirming
}

// A relying party verifies a token with the issuer's JWKS.
func ExampleVerify() {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tok, jwks := issueForExample(now) // what the service returned, and its /certs

	keys, err := token.StaticJWKS(jwks)
	if err != nil {
		log.Fatal(err)
	}
	claims, err := token.Verify(context.Background(), tok, token.Options{
		JWKS:                 keys, // or &token.RemoteJWKS{URL: "https://attestd.example/certs", Client: client}
		Issuer:               "https://attestd.example",
		Now:                  now.Add(time.Minute),
		RequireStatus:        ear.TrustTierAffirming,
		ExpectedMeasurements: []attest.Hex{bytes.Repeat([]byte{0xab}, 48)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", claims.TEE(), claims.Status(), claims.Submods["cpu0"].PolicyID)

	// Six minutes later the token has expired.
	_, err = token.Verify(context.Background(), tok, token.Options{JWKS: keys, Now: now.Add(6 * time.Minute)})
	for _, r := range token.Refusals(err) {
		fmt.Println("refused:", r.Check, "-", token.Class(r))
	}
	// Output:
	// verified: sevsnp affirming prod
	// refused: exp - token expired
}

func issueForExample(now time.Time) (string, []byte) {
	keys, err := token.NewKeySet(token.ES256, now)
	if err != nil {
		log.Fatal(err)
	}
	c := &attest.Claims{Format: attest.FormatSEVSNP, TEE: attest.TEESEVSNP, TCBStatus: attest.TCBUnevaluated,
		Measurement: bytes.Repeat([]byte{0xab}, 48)}
	tok, err := token.NewIssuer(keys).Issue(&token.Claims{
		Issuer: "https://attestd.example", IssuedAt: now, Expiry: now.Add(5 * time.Minute), VerifierID: "cofre v0.1.0",
		Submods: map[string]token.Submod{token.PrimarySubmod: token.NewSubmod(c, &appraise.Result{Status: ear.TrustTierAffirming, Policy: "prod"})},
	})
	if err != nil {
		log.Fatal(err)
	}
	jwks, err := keys.JWKS(now)
	if err != nil {
		log.Fatal(err)
	}
	return tok, jwks
}
