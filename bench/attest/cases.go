package main

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/maa"
	"github.com/cofre-cc/cofre/attest/nvgpu"
	"github.com/cofre-cc/cofre/attest/sgx"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/attest/snp"
	"github.com/cofre-cc/cofre/attest/tdx"
	"github.com/cofre-cc/cofre/attest/tpm"
)

// cases builds one case per format from the vectors committed for tests,
// verified at the same pinned times the tests use.
func cases() ([]benchCase, error) {
	simCase, err := simCase()
	if err != nil {
		return nil, err
	}
	out := []benchCase{simCase}

	maaVerifier, err := maa.NewVerifier(maa.Config{TrustedIssuers: []string{"https://sharedwus.wus.attest.azure.net"}})
	if err != nil {
		return nil, err
	}
	vectors := []struct {
		verifier   attest.Verifier
		file       string
		hexText    bool
		collateral string
		at         time.Time
	}{
		{snp.NewVerifier(snp.Config{}), "attest/snp/testdata/milan/report.bin", false, "attest/snp/testdata/milan/collateral", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)},
		{tdx.NewVerifier(tdx.Config{}), "attest/tdx/testdata/quote_v4_tdx_ecdsa_p256.bin", false, "attest/tdx/testdata/collateral", time.Unix(1725263032, 0)},
		{sgx.NewVerifier(), "attest/sgx/testdata/quote_v3_ecdsa_p256_pck_chain.bin", false, "attest/sgx/testdata/collateral", time.Unix(1671497404, 0)},
		{nvgpu.NewVerifier(), "attest/nvgpu/testdata/attestationReport.txt", true, "attest/nvgpu/testdata/collateral", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)},
		{tpm.NewVerifier(), "attest/tpm/testdata/gce-cos-85-nonce9009.pb", false, "", time.Date(2021, 9, 1, 0, 0, 0, 0, time.UTC)},
		{maaVerifier, "attest/maa/testdata/sharedwus_sgx.jwt", false, "attest/maa/testdata/sharedwus", time.Unix(1620250000, 0)},
	}
	for _, v := range vectors {
		b, err := os.ReadFile(v.file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (run from the repository root)", v.file, err)
		}
		if v.hexText {
			if b, err = hex.DecodeString(strings.Join(strings.Fields(string(b)), "")); err != nil {
				return nil, fmt.Errorf("%s: %w", v.file, err)
			}
		}
		opts := attest.Options{Now: v.at}
		if v.collateral != "" {
			opts.Collateral = collateral.Dir(v.collateral)
		}
		ev := attest.Evidence{Format: v.verifier.Format(), Payload: b}
		out = append(out, verifyWith(v.verifier.Format(), v.verifier, ev, opts))
	}
	return out, nil
}

func simCase() (benchCase, error) {
	now := time.Now()
	root, err := sim.NewRoot(now, time.Hour)
	if err != nil {
		return benchCase{}, err
	}
	plat, err := root.NewPlatform("bench", now, time.Hour)
	if err != nil {
		return benchCase{}, err
	}
	ev, err := (&sim.Producer{Platform: plat, Measurement: make([]byte, 32)}).Produce(context.Background(), [64]byte{})
	if err != nil {
		return benchCase{}, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	return verifyWith(attest.FormatSim, sim.NewVerifier(pool), ev, attest.Options{Now: now}), nil
}
