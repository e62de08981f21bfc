package nvgpu_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/nvgpu"
)

// Verify NVIDIA's sample H100 report offline: the payload is the binary
// report (NVIDIA's samples store it as hex), and the attestation key's chain
// comes from an offline collateral directory holding cert_chain.pem.
func ExampleVerifier_Verify() {
	txt, err := os.ReadFile("testdata/attestationReport.txt")
	if err != nil {
		panic(err)
	}
	payload, err := hex.DecodeString(strings.TrimSpace(string(txt)))
	if err != nil {
		panic(err)
	}
	claims, err := nvgpu.NewVerifier().Verify(context.Background(),
		attest.Evidence{Format: attest.FormatNVGPU, Payload: payload},
		attest.Options{
			Now:        time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC),
			Collateral: collateral.Dir("testdata/collateral"),
		})
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(claims.TEE, claims.ProductID, claims.Raw["driver_version"], claims.Raw["vbios_version"])
	fmt.Println("nonce:", claims.ReportData)
	fmt.Println("device:", claims.PlatformID)
	// Output:
	// nvgpu 1010_0200_882 545.00 96.00.5e.00.01
	// nonce: 4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e
	// device: 41ffeeb20009e0be49
}
