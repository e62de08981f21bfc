package token

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cofre-cc/cofre/attest"
)

// Azure Attestation (MAA) claim names and values used by ProfileMAA, from
// MAA's claim-set documentation (SGX, SEV-SNP VM, TDX VM).
const (
	maaAttestationType = "x-ms-attestation-type"
	maaIsolationTEE    = "x-ms-isolation-tee"
	maaRuntime         = "x-ms-runtime"
	maaVersion         = "x-ms-ver"

	maaTypeSEVSNP = "sevsnpvm"
	maaTypeTDX    = "tdxvm"
	maaTypeSGX    = "sgx"
)

// maaClaims derives Azure Attestation's claims from cpu0's normalized
// claims, so that a relying party written for MAA reads a cofre token
// unchanged:
//
//   - x-ms-attestation-type is "sevsnpvm", "tdxvm" or "sgx"; for other TEEs
//     it is cofre's TEE name ("sim", "tpm"…), which no MAA policy accepts,
//     so simulation cannot pass as hardware to an MAA relying party either;
//   - SEV-SNP: x-ms-sevsnpvm-*; TDX: MAA's tdx_* EAT-profile names; SGX:
//     x-ms-sgx-*;
//   - for the confidential-VM TEEs (SEV-SNP, TDX) the same claims are also
//     nested under x-ms-isolation-tee, where MAA's guest-attestation
//     relying parties (secure key release) look for them. MAA itself nests
//     them only in "azurevm" tokens; cofre does not claim to be an Azure VM;
//   - x-ms-runtime is {"keys": [cnf jwk]} when the token is bound to a key.
//
// Values are rendered as MAA renders them: lowercase hex for byte strings,
// JSON numbers for SVNs, booleans for debug flags.
func maaClaims(c *Claims) map[string]any {
	out := map[string]any{maaVersion: "1.0"}
	cpu := c.Submods[PrimarySubmod].Claims
	tee := map[string]any{}
	switch cpu.TEE {
	case attest.TEESEVSNP:
		tee[maaAttestationType] = maaTypeSEVSNP
		tee["x-ms-sevsnpvm-launchmeasurement"] = cpu.Measurement.String()
		tee["x-ms-sevsnpvm-reportdata"] = cpu.ReportData.String()
		tee["x-ms-sevsnpvm-is-debuggable"] = cpu.Debug
		tee["x-ms-sevsnpvm-guestsvn"] = cpu.SVN
		for comp, name := range map[string]string{"bootloader": "bootloader-svn", "tee": "tee-svn", "snp": "snpfw-svn", "microcode": "microcode-svn"} {
			if v, ok := cpu.TCB[comp]; ok {
				tee["x-ms-sevsnpvm-"+name] = v
			}
		}
		copyRaw(tee, cpu.Raw, map[string]string{
			"host_data": "x-ms-sevsnpvm-hostdata", "id_key_digest": "x-ms-sevsnpvm-idkeydigest",
			"author_key_digest": "x-ms-sevsnpvm-authorkeydigest", "family_id": "x-ms-sevsnpvm-familyId",
			"image_id": "x-ms-sevsnpvm-imageId", "report_id": "x-ms-sevsnpvm-reportid", "vmpl": "x-ms-sevsnpvm-vmpl",
		})
	case attest.TEETDX:
		tee[maaAttestationType] = maaTypeTDX
		tee["tdx_mrtd"] = cpu.Measurement.String()
		tee["tdx_report_data"] = cpu.ReportData.String()
		tee["tdx_td_attributes_debug"] = cpu.Debug
		copyRaw(tee, cpu.Raw, map[string]string{
			"rtmr0": "tdx_rtmr0", "rtmr1": "tdx_rtmr1", "rtmr2": "tdx_rtmr2", "rtmr3": "tdx_rtmr3",
			"mr_seam": "tdx_mrseam", "mr_signer_seam": "tdx_mrsignerseam", "mr_config_id": "tdx_mrconfigid",
			"mr_owner": "tdx_mrowner", "mr_owner_config": "tdx_mrownerconfig", "td_attributes": "tdx_td_attributes",
			"xfam": "tdx_xfam", "seam_attributes": "tdx_seam_attributes", "tee_tcb_svn": "tdx_tee_tcb_svn",
		})
		if cpu.TCBStatus != attest.TCBUnevaluated && cpu.TCBStatus != attest.TCBStatusInvalid {
			tee["attester_tcb_status"] = cpu.TCBStatus.String()
		}
		if len(cpu.Advisories) > 0 {
			tee["attester_advisory_ids"] = cpu.Advisories
		}
	case attest.TEESGX:
		out[maaAttestationType] = maaTypeSGX
		out["x-ms-sgx-mrenclave"] = cpu.Measurement.String()
		out["x-ms-sgx-mrsigner"] = cpu.Signer.String()
		out["x-ms-sgx-is-debuggable"] = cpu.Debug
		out["x-ms-sgx-svn"] = cpu.SVN
		if id, err := strconv.ParseUint(cpu.ProductID, 10, 16); err == nil {
			out["x-ms-sgx-product-id"] = id
		}
		out["x-ms-sgx-report-data"] = cpu.ReportData.String()
		copyRaw(out, cpu.Raw, map[string]string{"config_id": "x-ms-sgx-config-id", "config_svn": "x-ms-sgx-config-svn"})
	default:
		out[maaAttestationType] = cpu.TEE.String()
	}
	if len(tee) > 0 {
		for k, v := range tee {
			out[k] = v
		}
		out[maaIsolationTEE] = tee
	}
	if cf := c.Confirmation; cf != nil && len(cf.JWK) > 0 {
		out[maaRuntime] = map[string]any{"keys": []json.RawMessage{cf.JWK}}
	}
	return out
}

// copyRaw copies the raw claims named in names (raw key → MAA name) that
// are present, rendered as MAA renders them.
func copyRaw(dst map[string]any, raw map[string]any, names map[string]string) {
	for k, name := range names {
		v, ok := raw[k]
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case attest.Hex:
			dst[name] = x.String()
		case []byte:
			dst[name] = attest.Hex(x).String()
		case string, bool, float64, json.Number,
			int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			dst[name] = x
		default:
			dst[name] = fmt.Sprint(x)
		}
	}
}
