package snp_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/snp"
)

// Verify a real Milan report against an offline collateral bundle, at a
// time inside its VCEK's validity.
func ExampleVerifier_Verify() {
	report, err := os.ReadFile("testdata/milan/report.bin")
	if err != nil {
		panic(err)
	}
	v := snp.NewVerifier(snp.Config{}) // AMD's embedded roots
	c, err := v.Verify(context.Background(),
		attest.Evidence{Format: attest.FormatSEVSNP, Payload: report},
		attest.Options{
			Now:        time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
			Collateral: collateral.Dir("testdata/milan/collateral"),
		})
	if err != nil {
		panic(err)
	}
	fmt.Println(c.TEE, c.ProductID, c.Measurement.String()[:16], c.Debug, c.TCB["snp"])
	// Output: sevsnp Milan b07af9620f3b839b true 5
}
