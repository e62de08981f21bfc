package maa_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/maa"
)

// Verify a token the shared West US MAA instance issued for an SGX enclave,
// with that instance's signing keys from an offline bundle, at a time when
// the token was valid.
func ExampleVerifier_Verify() {
	tok, err := os.ReadFile("testdata/sharedwus_sgx.jwt")
	if err != nil {
		panic(err)
	}
	v, err := maa.NewVerifier(maa.Config{TrustedIssuers: []string{"https://sharedwus.wus.attest.azure.net"}})
	if err != nil {
		panic(err)
	}
	claims, err := v.Verify(context.Background(),
		attest.Evidence{Format: attest.FormatMAA, Payload: tok},
		attest.Options{
			Now:        time.Date(2021, 5, 5, 21, 26, 40, 0, time.UTC),
			Collateral: collateral.Dir("testdata/sharedwus"), // holds jwks.json
		})
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(claims.TEE, claims.Measurement, claims.Debug)
	fmt.Println(claims.Warnings[0])
	// Output:
	// sgx b779202618becb636768e5d902f28d524222735fafb539ea9ba07c3fc171a1c2 false
	// attested by Azure Attestation (issuer https://sharedwus.wus.attest.azure.net); cofre did not see the hardware evidence
}
