package sgx_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/sgx"
)

// Verify a real quote against an offline collateral bundle, at the time the
// collateral was current.
func ExampleVerifier_Verify() {
	payload, err := os.ReadFile("testdata/quote_v3_ecdsa_p256_pck_chain.bin")
	if err != nil {
		panic(err)
	}
	claims, err := sgx.NewVerifier().Verify(context.Background(),
		attest.Evidence{Format: attest.FormatSGX, Payload: payload},
		attest.Options{Now: time.Unix(1671497404, 0), Collateral: collateral.Dir("testdata/collateral")})
	if err != nil {
		fmt.Println("refused:", attest.Class(err))
		return
	}
	fmt.Println("mrenclave:", claims.Measurement.String()[:8])
	fmt.Println("mrsigner:", claims.Signer.String()[:8])
	fmt.Println("tcb:", claims.TCBStatus, claims.Advisories)
	// Output:
	// mrenclave: 68823bc6
	// mrsigner: 9affcfae
	// tcb: SWHardeningNeeded [INTEL-SA-00615 INTEL-SA-00657]
}
