package tpm_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/tpm"
)

// A relying party verifies a go-tpm-tools attestation, then checks the
// report data binding (attest.CheckBinding) and appraises the claims.
func ExampleVerifier_Verify() {
	payload, err := os.ReadFile("testdata/gce-cos-85-nonce9009.pb")
	if err != nil {
		fmt.Println(err)
		return
	}
	v := tpm.NewVerifier()
	claims, err := v.Verify(context.Background(),
		attest.Evidence{Format: attest.FormatTPM, Payload: payload},
		// The vector's AK certificate is valid from 2021-08-31; no
		// collateral is needed.
		attest.Options{Now: time.Date(2021, 9, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(claims.TEE, claims.Measurement)
	fmt.Println(claims.Raw["gce_instance"].(map[string]string)["instance_name"])
	fmt.Println("report data:", claims.ReportData)
	// Output:
	// tpm 048937cbaaf28af85a5b0c0997e725097a0d94e05fcda104a82ee3fb6b2e1808
	// cos-test
	// report data: 9009
}
