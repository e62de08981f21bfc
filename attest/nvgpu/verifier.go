package nvgpu

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/cofre-cc/cofre/attest"
)

// RevocationWarning is the warning every verified claim set carries: the
// chain's revocation status (NVIDIA's OCSP responder and CRLs) is not
// consulted, because collateral has no NVIDIA revocation item yet.
const RevocationWarning = "nvgpu: certificate revocation (NVIDIA OCSP/CRL) not checked"

// Verifier verifies nvidia.spdm evidence: NVIDIA GPU attestation reports.
// It is safe for concurrent use.
type Verifier struct {
	roots []*x509.Certificate
}

var _ attest.Verifier = (*Verifier)(nil)

// NewVerifier returns a verifier that trusts chains ending in one of roots.
// With no roots it trusts NVIDIA's embedded device identity root (see
// trust/README.md), which is what production uses; tests pass their own.
func NewVerifier(roots ...*x509.Certificate) *Verifier {
	if len(roots) == 0 {
		roots = []*x509.Certificate{deviceIdentityCA()}
	}
	return &Verifier{roots: append([]*x509.Certificate(nil), roots...)}
}

// Format returns attest.FormatNVGPU.
func (v *Verifier) Format() string { return attest.FormatNVGPU }

// Verify parses the report, fetches the attestation key's chain from
// opts.Collateral, checks the chain to the trusted root at opts.Time() and
// the report's signature, and returns the claims. See the package doc for
// what is and is not checked.
func (v *Verifier) Verify(ctx context.Context, ev attest.Evidence, opts attest.Options) (*attest.Claims, error) {
	if ev.Format != attest.FormatNVGPU {
		return nil, attest.Malformed("nvgpu: format %q, want %q", ev.Format, attest.FormatNVGPU)
	}
	if len(ev.Payload) > maxPayloadSize {
		return nil, malformed("payload", fmt.Sprintf("at most %d bytes", maxPayloadSize), fmt.Sprintf("%d bytes", len(ev.Payload)))
	}
	// Claims must not alias the caller's buffer.
	payload := bytes.Clone(ev.Payload)
	r, err := parseReport(payload)
	if err != nil {
		return nil, fmt.Errorf("nvgpu: %w", err)
	}
	od, err := parseOpaque(r.Response.Opaque)
	if err != nil {
		return nil, fmt.Errorf("nvgpu: %w", err)
	}
	chain, err := fetchChain(ctx, opts.Collateral)
	if err != nil {
		return nil, fmt.Errorf("nvgpu: %w", err)
	}
	pub, err := verifyChain(chain, v.roots, opts.Time())
	if err != nil {
		return nil, fmt.Errorf("nvgpu: %w", err)
	}
	// SPDM 1.1 signs the transcript of this exchange: the request and
	// the response without its signature (DSP0274 1.1 "L1/L2"), hashed
	// with the negotiated algorithm, SHA-384 on NVIDIA GPUs. Because the
	// request is signed, so is the requester's nonce.
	digest := sha512.Sum384(r.Signed)
	sig := r.Response.Signature
	rs := new(big.Int).SetBytes(sig[:signatureLen/2])
	ss := new(big.Int).SetBytes(sig[signatureLen/2:])
	if !ecdsa.Verify(pub, digest[:], rs, ss) {
		return nil, fmt.Errorf("nvgpu: %w", attest.Refuse(attest.ErrSignature, "spdm measurements signature", "signature",
			"ECDSA P-384 signature by "+chain[0].Subject.String(), "invalid"))
	}
	return claims(r, od, chain), nil
}

// claims builds the claims of a verified report.
func claims(r *report, od *opaqueData, chain []*x509.Certificate) *attest.Claims {
	resp := &r.Response
	m := sha512.Sum384(resp.Record)
	c := &attest.Claims{
		Format:      attest.FormatNVGPU,
		TEE:         attest.TEENVGPU,
		Measurement: attest.Hex(m[:]),
		ProductID:   productID(od),
		// The report carries no debug or developer-mode indicator.
		Debug:      false,
		ReportData: attest.Hex(bytes.Clone(r.Request.Nonce[:])),
		// The device certificate is provisioned once per GPU by NVIDIA;
		// the attestation key below it changes with the firmware.
		PlatformID: attest.Hex(chain[1].SerialNumber.Bytes()),
		TCBStatus:  attest.TCBUnevaluated,
		TCB:        tcb(od),
		Raw:        make(map[string]any, len(resp.Blocks)+len(od.Values)+6),
	}
	for k, v := range od.Values {
		c.Raw[k] = v
	}
	for _, b := range resp.Blocks {
		c.Raw[fmt.Sprintf("measurement_%02d", b.Index)] = attest.Hex(b.Value)
	}
	c.Raw["measurement_blocks"] = len(resp.Blocks)
	c.Raw["spdm_version"] = fmt.Sprintf("%d.%d", r.Request.Version>>4, r.Request.Version&0xF)
	c.Raw["slot"] = int(r.Request.SlotID)
	c.Raw["responder_nonce"] = attest.Hex(bytes.Clone(resp.Nonce[:]))
	c.Raw["device_certificate"] = chain[1].Subject.String()
	if n := deviceName(chain[0]); n != "" {
		c.Raw["device_name"] = n
	}
	c.Warn("%s", RevocationWarning)
	return c
}

// productID is NVIDIA's board identity as its VBIOS reference values name
// it: PROJECT_PROJECTSKU_CHIPSKU, e.g. "1010_0200_882" for an H100 SXM.
// Empty if the report lacks one of the three.
func productID(od *opaqueData) string {
	parts := make([]string, 0, 3)
	for _, k := range []string{"project", "project_sku", "chip_sku"} {
		s, _ := od.Values[k].(string)
		if s == "" {
			return ""
		}
		parts = append(parts, strings.ToUpper(strings.TrimSpace(s)))
	}
	return strings.Join(parts, "_")
}

// tcb packs the reported firmware and driver versions into numbers that
// compare like the versions, so that a policy can set minimums:
//
//	vbios:  the five VBIOS components, one byte each, most significant
//	        first (96.00.5e.00.01 is 0x96005e0001)
//	driver: major<<32 | minor<<16 | patch (545.00 is 545<<32)
//
// A driver version that is not one to three decimal components (each
// below 65536, the major below 2^31) is left out; Raw keeps its text.
func tcb(od *opaqueData) map[string]uint64 {
	out := make(map[string]uint64, 2)
	if f, ok := od.field(opaqueVBIOSVersion); ok {
		var n uint64
		for _, p := range vbiosParts(f) {
			n = n<<8 | uint64(p)
		}
		out["vbios"] = n
	}
	if s, ok := od.Values["driver_version"].(string); ok {
		if n, ok := packDriverVersion(s); ok {
			out["driver"] = n
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func packDriverVersion(s string) (uint64, bool) {
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 3 {
		return 0, false
	}
	var n uint64
	for i, p := range parts {
		bits := 16
		if i == 0 {
			bits = 31
		}
		v, err := strconv.ParseUint(p, 10, bits)
		if err != nil {
			return 0, false
		}
		n |= v << (32 - 16*uint(i))
	}
	return n, true
}

// field returns the data of the field of type typ.
func (o *opaqueData) field(typ uint16) ([]byte, bool) {
	for _, f := range o.Fields {
		if f.Type == typ {
			return f.Data, true
		}
	}
	return nil, false
}
