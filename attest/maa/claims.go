package maa

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cofre-cc/cofre/attest"
)

// MAA's values of x-ms-attestation-type that cofre maps to a TEE.
const (
	typeAzureVM = "azurevm"  // guest attestation; the TEE is in x-ms-isolation-tee
	typeSEVSNP  = "sevsnpvm" // AMD SEV-SNP confidential VM
	typeTDX     = "tdxvm"    // Intel TDX confidential VM
	typeSGX     = "sgx"      // Intel SGX enclave (also Open Enclave evidence)
)

// compliantCVM is the x-ms-compliance-status MAA gives a confidential VM
// that meets Azure's CVM baseline.
const compliantCVM = "azure-compliant-cvm"

// Sizes of MAA's hex claims, from the AMD SEV-SNP ABI (ATTESTATION_REPORT),
// the Intel SGX and TDX quote bodies, and MAA's claim-set documentation.
const (
	snpMeasurementSize = 48 // MEASUREMENT
	snpDigestSize      = 48 // ID_KEY_DIGEST, AUTHOR_KEY_DIGEST
	snpHostDataSize    = 32 // HOST_DATA
	snpIDSize          = 16 // FAMILY_ID, IMAGE_ID
	snpReportIDSize    = 32 // REPORT_ID
	sgxMeasurementSize = 32 // MRENCLAVE, MRSIGNER
	sgxConfigIDSize    = 64 // CONFIGID
	sgxExtIDSize       = 16 // ISVEXTPRODID, ISVFAMILYID
	tdxMeasurementSize = 48 // MRTD, RTMRn, MRSEAM, MRSIGNERSEAM, MRCONFIGID, MROWNER, MROWNERCONFIG
	tdxTCBSVNSize      = 16 // TEE_TCB_SVN
	tdxAttributesSize  = 8  // TDATTRIBUTES, SEAMATTRIBUTES, XFAM
)

// mapClaims turns a verified token payload into normalized claims. The TEE
// claims come from x-ms-isolation-tee in an Azure VM guest-attestation token
// (x-ms-attestation-type "azurevm") and from the top level otherwise (MAA's
// SevSnpVm, TdxVm and SgxEnclave endpoints). Every problem found is reported,
// joined; all are of class attest.ErrMalformed except a TCB status MAA gives
// that names no Intel level, or Revoked, which is attest.ErrTCB.
func mapClaims(top object) (*attest.Claims, error) {
	c := &attest.Claims{
		Format:    attest.FormatMAA,
		TCBStatus: attest.TCBUnevaluated,
		Raw:       map[string]any{},
	}
	r := &reader{o: top}
	outer := r.str("x-ms-attestation-type", true)
	c.Raw["attestation_type"] = outer
	r.raw(c, "policy_hash", "x-ms-policy-hash", kindString)
	r.raw(c, "jti", "jti", kindString)
	r.raw(c, "nonce", "nonce", kindString)
	r.raw(c, "runtime", "x-ms-runtime", kindAny)
	r.raw(c, "policy_signer", "x-ms-policy-signer", kindAny)

	tee := r
	if _, ok := top["x-ms-isolation-tee"]; ok {
		if outer != typeAzureVM {
			r.fail(attest.Refuse(attest.ErrMalformed, "attestation type", "x-ms-attestation-type", typeAzureVM+" (the only type with x-ms-isolation-tee)", outer))
		}
		tee = &reader{o: r.obj("x-ms-isolation-tee"), path: "x-ms-isolation-tee."}
		c.Raw["azurevm"] = azureVMClaims(top)
	} else if outer == typeAzureVM {
		// A Trusted Launch VM attests its vTPM to MAA without any TEE.
		r.fail(attest.Refuse(attest.ErrMalformed, "attestation type", "x-ms-isolation-tee", "present in an azurevm token", "absent (not a confidential VM)"))
	}

	kind := outer
	if tee != r {
		kind = tee.str("x-ms-attestation-type", true)
		tee.raw(c, "tee_runtime", "x-ms-runtime", kindAny)
	}
	switch kind {
	case typeSEVSNP:
		c.TEE = attest.TEESEVSNP
		mapSNP(tee, c)
	case typeTDX:
		c.TEE = attest.TEETDX
		mapTDX(tee, c)
	case typeSGX:
		c.TEE = attest.TEESGX
		mapSGX(tee, c)
	default:
		if tee != r || kind != typeAzureVM { // azurevm without a TEE was refused above
			tee.fail(attest.Refuse(attest.ErrMalformed, "attestation type", tee.path+"x-ms-attestation-type",
				strings.Join([]string{typeSEVSNP, typeTDX, typeSGX}, ", "), kind))
		}
	}
	errs := r.errs
	if tee != r {
		errs = slices.Concat(r.errs, tee.errs)
	}
	if err := oneClass(errs); err != nil {
		return nil, err
	}
	if c.Debug {
		c.Warn("debug mode: the %v TEE is debuggable and gives no confidentiality", c.TEE)
	}
	return c, nil
}

// mapSNP maps the x-ms-sevsnpvm-* claims of MAA's SEV-SNP claim set.
func mapSNP(r *reader, c *attest.Claims) {
	c.Measurement = r.hex("x-ms-sevsnpvm-launchmeasurement", snpMeasurementSize, true)
	c.ReportData = r.hex("x-ms-sevsnpvm-reportdata", attest.ReportDataSize, true)
	c.Debug = r.boolean("x-ms-sevsnpvm-is-debuggable", true)
	c.SVN = r.uint("x-ms-sevsnpvm-guestsvn")
	// The ID key signs the guest's ID block: the closest SEV-SNP has to an
	// author identity. MAA does not say which processor family it saw.
	c.Signer = r.hex("x-ms-sevsnpvm-idkeydigest", snpDigestSize, false)
	c.TCB = r.tcb([][2]string{
		{"bootloader", "x-ms-sevsnpvm-bootloader-svn"},
		{"tee", "x-ms-sevsnpvm-tee-svn"},
		{"snp", "x-ms-sevsnpvm-snpfw-svn"},
		{"microcode", "x-ms-sevsnpvm-microcode-svn"},
	})
	r.rawHex(c, "host_data", "x-ms-sevsnpvm-hostdata", snpHostDataSize)
	r.rawHex(c, "id_key_digest", "x-ms-sevsnpvm-idkeydigest", snpDigestSize)
	r.rawHex(c, "author_key_digest", "x-ms-sevsnpvm-authorkeydigest", snpDigestSize)
	r.rawHex(c, "family_id", "x-ms-sevsnpvm-familyId", snpIDSize)
	r.rawHex(c, "image_id", "x-ms-sevsnpvm-imageId", snpIDSize)
	r.rawHex(c, "report_id", "x-ms-sevsnpvm-reportid", snpReportIDSize)
	r.raw(c, "vmpl", "x-ms-sevsnpvm-vmpl", kindUint)
	r.raw(c, "migration_allowed", "x-ms-sevsnpvm-migration-allowed", kindBool)
	r.raw(c, "smt_allowed", "x-ms-sevsnpvm-smt-allowed", kindBool)
	r.compliance(c)
}

// mapTDX maps the tdx_* claims of MAA's TDX EAT profile.
func mapTDX(r *reader, c *attest.Claims) {
	c.Measurement = r.hex("tdx_mrtd", tdxMeasurementSize, true)
	c.ReportData = r.hex("tdx_report_data", attest.ReportDataSize, true)
	attrs := r.hex("tdx_td_attributes", tdxAttributesSize, false)
	_, hasDebug := r.o["tdx_td_attributes_debug"]
	debug := r.boolean("tdx_td_attributes_debug", false)
	if attrs == nil && !hasDebug {
		r.fail(attest.Refuse(attest.ErrMalformed, "tdx debug attribute", r.path+"tdx_td_attributes_debug", "present (or tdx_td_attributes)", "absent"))
	}
	// TDATTRIBUTES bit 0 is DEBUG (Intel TDX module spec, TD attributes);
	// either source saying debug is enough, as is an EAT dbgstat other
	// than one of the "disabled" values.
	dbgstat := r.str("dbgstat", false)
	c.Debug = debug || (len(attrs) == tdxAttributesSize && attrs[0]&1 != 0) ||
		(dbgstat != "" && !strings.HasPrefix(dbgstat, "disabled"))
	if v, ok := r.uintOK("tdx_seamsvn"); ok {
		c.TCB = map[string]uint64{"seamsvn": v}
	}
	for i := range 4 {
		n := strconv.Itoa(i)
		r.rawHex(c, "rtmr"+n, "tdx_rtmr"+n, tdxMeasurementSize)
	}
	r.rawHex(c, "mr_seam", "tdx_mrseam", tdxMeasurementSize)
	r.rawHex(c, "mr_signer_seam", "tdx_mrsignerseam", tdxMeasurementSize)
	r.rawHex(c, "mr_config_id", "tdx_mrconfigid", tdxMeasurementSize)
	r.rawHex(c, "mr_owner", "tdx_mrowner", tdxMeasurementSize)
	r.rawHex(c, "mr_owner_config", "tdx_mrownerconfig", tdxMeasurementSize)
	r.rawHex(c, "tee_tcb_svn", "tdx_tee_tcb_svn", tdxTCBSVNSize)
	r.rawHex(c, "seam_attributes", "tdx_seam_attributes", tdxAttributesSize)
	r.rawHex(c, "xfam", "tdx_xfam", tdxAttributesSize)
	if attrs != nil {
		c.Raw["td_attributes"] = attrs
	}
	if dbgstat != "" {
		c.Raw["dbgstat"] = dbgstat
	}
	r.raw(c, "eat_profile", "eat_profile", kindString)
	r.compliance(c)

	// MAA evaluates the TD's TCB against Intel's collateral and says so in
	// attester_tcb_status, with Intel's spelling. cofre reports the verdict;
	// an unknown or Revoked level is refused like any verifier's would be.
	if s := r.str("attester_tcb_status", false); s != "" {
		st, err := attest.ParseTCBStatus(s)
		switch {
		case err != nil || st == attest.TCBUnevaluated:
			r.fail(attest.Refuse(attest.ErrTCB, "tcb status", r.path+"attester_tcb_status", "an Intel TCB status", s))
		case st == attest.TCBRevoked:
			r.fail(attest.Refuse(attest.ErrTCB, "tcb status", r.path+"attester_tcb_status", "not Revoked", s))
		default:
			c.TCBStatus = st
			if st != attest.TCBUpToDate {
				c.Warn("TCB status %s (as evaluated by Azure Attestation)", st)
			}
		}
	}
	c.Advisories = r.strings("attester_advisory_ids")
}

// mapSGX maps the x-ms-sgx-* claims of MAA's SGX claim set. The deprecated
// unprefixed duplicates (sgx-mrenclave, is-debuggable…) are ignored.
func mapSGX(r *reader, c *attest.Claims) {
	c.Measurement = r.hex("x-ms-sgx-mrenclave", sgxMeasurementSize, true)
	c.Signer = r.hex("x-ms-sgx-mrsigner", sgxMeasurementSize, true)
	c.Debug = r.boolean("x-ms-sgx-is-debuggable", true)
	c.SVN = r.uint("x-ms-sgx-svn")
	if v, ok := r.uintOK("x-ms-sgx-product-id"); ok {
		c.ProductID = strconv.FormatUint(v, 10)
	}
	// Older tokens (the 2021 vector) carry no report data, only the
	// enclave held data whose hash the report data bound.
	c.ReportData = r.hex("x-ms-sgx-report-data", attest.ReportDataSize, false)
	if s := r.str("x-ms-sgx-ehd", false); s != "" {
		b, err := decodeB64URL(s)
		if err != nil {
			r.fail(attest.Malformed("maa: claim %q: %w", r.path+"x-ms-sgx-ehd", err))
		} else {
			c.Raw["enclave_held_data"] = attest.Hex(b)
		}
	}
	r.rawHex(c, "config_id", "x-ms-sgx-config-id", sgxConfigIDSize)
	r.raw(c, "config_svn", "x-ms-sgx-config-svn", kindUint)
	r.rawHex(c, "isv_extended_product_id", "x-ms-sgx-isv-extended-product-id", sgxExtIDSize)
	r.rawHex(c, "isv_family_id", "x-ms-sgx-isv-family-id", sgxExtIDSize)
	r.raw(c, "tcb_identifier", "x-ms-sgx-tcbidentifier", kindString)
	r.raw(c, "collateral", "x-ms-sgx-collateral", kindAny)
}

// oneClass joins errs so that the result wraps exactly one refusal class:
// when the claims are malformed, only the malformed findings are returned,
// since a TCB verdict read from malformed claims means little.
func oneClass(errs []error) error {
	var malformed []error
	for _, e := range errs {
		if errors.Is(e, attest.ErrMalformed) {
			malformed = append(malformed, e)
		}
	}
	if len(malformed) > 0 {
		return errors.Join(malformed...)
	}
	return errors.Join(errs...)
}

// azureVMClaims collects the scalar x-ms-azurevm-* claims (and secureboot)
// of a guest-attestation token: facts about the VM's boot that MAA took
// from the vTPM's logs. cofre passes them on unjudged.
func azureVMClaims(top object) map[string]any {
	out := map[string]any{}
	for k, v := range top {
		if k != "secureboot" && !strings.HasPrefix(k, "x-ms-azurevm-") {
			continue
		}
		var x any
		if decodeAny(v, &x) == nil {
			out[k] = x
		}
	}
	return out
}

// reader reads typed claims from one JSON object and collects the errors,
// so that every malformed claim is reported at once.
type reader struct {
	o    object
	path string // prefix naming the object in errors ("x-ms-isolation-tee.")
	errs []error
}

func (r *reader) fail(err error) { r.errs = append(r.errs, err) }

func (r *reader) bad(name, want string) {
	r.fail(attest.Refuse(attest.ErrMalformed, "claim type", r.path+name, want, "other"))
}

func (r *reader) missing(name string) {
	r.fail(attest.Refuse(attest.ErrMalformed, "required claim", r.path+name, "present", "absent"))
}

func (r *reader) get(name string, required bool) (json.RawMessage, bool) {
	v, ok := r.o[name]
	if !ok || string(v) == "null" {
		if required {
			r.missing(name)
		}
		return nil, false
	}
	return v, true
}

func (r *reader) str(name string, required bool) string {
	v, ok := r.get(name, required)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		r.bad(name, "a string")
	}
	return s
}

func (r *reader) boolean(name string, required bool) bool {
	v, ok := r.get(name, required)
	if !ok {
		return false
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		r.bad(name, "a boolean")
	}
	return b
}

func (r *reader) uintOK(name string) (uint64, bool) {
	v, ok := r.get(name, false)
	if !ok {
		return 0, false
	}
	// Strict: a JSON integer in uint64 range, no fraction or exponent.
	n, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		r.bad(name, "an unsigned integer")
		return 0, false
	}
	return n, true
}

func (r *reader) uint(name string) uint64 {
	n, _ := r.uintOK(name)
	return n
}

func (r *reader) hex(name string, size int, required bool) attest.Hex {
	v, ok := r.get(name, required)
	if !ok {
		return nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		r.bad(name, fmt.Sprintf("%d hex bytes", size))
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != size {
		r.bad(name, fmt.Sprintf("%d hex bytes", size))
		return nil
	}
	return b
}

func (r *reader) strings(name string) []string {
	v, ok := r.get(name, false)
	if !ok {
		return nil
	}
	var out []string
	if json.Unmarshal(v, &out) != nil {
		r.bad(name, "an array of strings")
		return nil
	}
	return out
}

func (r *reader) obj(name string) object {
	v, ok := r.get(name, true)
	if !ok {
		return object{}
	}
	var o object
	if json.Unmarshal(v, &o) != nil || o == nil {
		r.bad(name, "an object")
		return object{}
	}
	return o
}

// tcb reads the named TCB components, each a {key, claim} pair, in order.
func (r *reader) tcb(parts [][2]string) map[string]uint64 {
	var out map[string]uint64
	for _, p := range parts {
		if v, ok := r.uintOK(p[1]); ok {
			if out == nil {
				out = map[string]uint64{}
			}
			out[p[0]] = v
		}
	}
	return out
}

func (r *reader) rawHex(c *attest.Claims, key, name string, size int) {
	if b := r.hex(name, size, false); b != nil {
		c.Raw[key] = b
	}
}

type rawKind int

const (
	kindString rawKind = iota + 1
	kindBool
	kindUint
	kindAny
)

func (r *reader) raw(c *attest.Claims, key, name string, kind rawKind) {
	if _, ok := r.get(name, false); !ok {
		return
	}
	switch kind {
	case kindString:
		c.Raw[key] = r.str(name, false)
	case kindBool:
		c.Raw[key] = r.boolean(name, false)
	case kindUint:
		if v, ok := r.uintOK(name); ok {
			c.Raw[key] = v
		}
	case kindAny:
		var x any
		if decodeAny(r.o[name], &x) != nil {
			r.bad(name, "JSON")
			return
		}
		c.Raw[key] = x
	}
}

// compliance records x-ms-compliance-status and warns unless MAA judged the
// VM compliant with Azure's confidential-VM baseline.
func (r *reader) compliance(c *attest.Claims) {
	s := r.str("x-ms-compliance-status", false)
	if s != "" {
		c.Raw["compliance_status"] = s
	}
	if s != compliantCVM {
		c.Warn("x-ms-compliance-status is %q, not %q", s, compliantCVM)
	}
}

// decodeAny decodes JSON keeping numbers exact (json.Number).
func decodeAny(b []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// decodeB64URL decodes MAA's base64url claims (enclave held data), which
// come without padding; padded input is accepted too.
func decodeB64URL(s string) ([]byte, error) {
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.URLEncoding.DecodeString(s)
}
