//go:build e2e

package e2e

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realVector is one committed vector of real evidence and how to verify it.
type realVector struct {
	name        string
	args        []string // flags before FILE
	file        string
	tee         string
	measurement string // prefix of the expected measurement
	flipAt      int    // a byte whose change must be refused
}

var realVectors = []realVector{
	{"sgx", []string{"--format", "sgx.quote.v3", "--collateral", "attest/sgx/testdata/collateral", "--at", "2022-12-20T00:50:04Z"},
		"attest/sgx/testdata/quote_v3_ecdsa_p256_pck_chain.bin", "sgx", "68823bc6", 112},
	{"tdx", []string{"--format", "tdx.quote.v4", "--collateral", "attest/tdx/testdata/collateral", "--at", "2024-09-02T07:43:52Z"},
		"attest/tdx/testdata/quote_v4_tdx_ecdsa_p256.bin", "tdx", "91eb2b44", 200},
	{"snp", []string{"--format", "sevsnp.report", "--collateral", "attest/snp/testdata/milan/collateral", "--at", "2025-06-01T00:00:00Z"},
		"attest/snp/testdata/milan/report.bin", "sevsnp", "b07af962", 0x90},
	{"nvgpu", []string{"--format", "nvidia.spdm", "--collateral", "attest/nvgpu/testdata/collateral", "--at", "2024-06-01T00:00:00Z", "--input-encoding", "raw"},
		"", "nvgpu", "18c4b9dc", 100},
	{"tpm", []string{"--format", "tpm.gotpmtools", "--at", "2021-09-01T00:00:00Z"},
		"attest/tpm/testdata/gce-cos-85-nonce9009.pb", "tpm", "048937cb", -1},
	{"maa", []string{"--format", "azure.maa.jwt", "--maa-issuer", "https://sharedwus.wus.attest.azure.net", "--collateral", "attest/maa/testdata/sharedwus", "--at", "2021-05-05T21:26:40Z"},
		"attest/maa/testdata/sharedwus_sgx.jwt", "sgx", "b7792026", -1},
}

func TestRealVectors(t *testing.T) {
	dir := t.TempDir()
	for _, v := range realVectors {
		t.Run(v.name, func(t *testing.T) {
			file := v.file
			if v.name == "nvgpu" {
				// The vector is hex text; decode it to the binary payload so
				// the raw path is exercised too.
				file = hexToFile(t, dir, "attest/nvgpu/testdata/attestationReport.txt")
			} else {
				file = repoPath(file)
			}
			args := resolve(v.args)
			code, out, errs := cofre(t, append(append([]string{"evidence", "verify", "--json"}, args...), file)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errs)
			}
			var res struct {
				TEE, Measurement, Status string
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			if res.TEE != v.tee || !strings.HasPrefix(res.Measurement, v.measurement) {
				t.Fatalf("tee %s measurement %s, want %s %s…", res.TEE, res.Measurement, v.tee, v.measurement)
			}

			// Before its certificates and collateral were issued, the same evidence
			// is refused.
			early := replaceAt(args, "2000-01-01T00:00:00Z")
			if code, _, _ := cofre(t, append(append([]string{"evidence", "verify"}, early...), file)...); code != 1 {
				t.Errorf("verified in 2000: exit %d, want 1", code)
			}

			// One flipped byte is refused.
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			at := v.flipAt
			if at < 0 {
				at = len(b) + at - 20 // near the signature at the end
			}
			b[at] ^= 0x01
			tampered := filepath.Join(dir, v.name+".tampered")
			os.WriteFile(tampered, b, 0o600)
			if code, _, errs := cofre(t, append(append([]string{"evidence", "verify"}, args...), tampered)...); code != 1 {
				t.Errorf("tampered: exit %d, want 1; stderr:\n%s", code, errs)
			}

			// Truncated: refused with a reason, never a crash.
			os.WriteFile(tampered, b[:len(b)/3], 0o600)
			if code, _, errs := cofre(t, append(append([]string{"evidence", "verify"}, args...), tampered)...); code != 1 || !strings.Contains(errs, "REFUSED") {
				t.Errorf("truncated: exit %d, want 1; stderr:\n%s", code, errs)
			}
		})
	}
}

// resolve turns repository-relative paths in flags into paths from here.
func resolve(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "attest/") {
			a = repoPath(a)
		}
		out[i] = a
	}
	return out
}

func replaceAt(args []string, at string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if out[i] == "--at" && i+1 < len(out) {
			out[i+1] = at
		}
	}
	return out
}

func hexToFile(t *testing.T, dir, path string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath(path))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "nvgpu.bin")
	if err := os.WriteFile(out, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}
