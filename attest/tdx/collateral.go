package tdx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/google/go-tdx-guest/pcs"
)

// Identifiers and versions of the Intel PCS v4 collateral this verifier
// understands (Intel "PCS API v4": TDX TCB info and TD QE identity).
const (
	tcbInfoID         = "TDX"
	tcbInfoVersion    = 3
	qeIdentityID      = "TD_QE"
	qeIdentityVersion = 2
	// tcbTypeSVNs is TCB type 0: a level is met when every SVN of the
	// platform is at least the level's. It is the only type Intel defines.
	tcbTypeSVNs = 0
	teeTDX      = "tdx"
)

// Subject common names of Intel's certificates (Intel "SGX PCK Certificate
// and Certificate Revocation List Profile Specification").
const (
	cnPCKLeaf        = "Intel SGX PCK Certificate"
	cnPCKPlatformCA  = "Intel SGX PCK Platform CA"
	cnPCKProcessorCA = "Intel SGX PCK Processor CA"
	cnTCBSigning     = "Intel SGX TCB Signing"
)

// signedEnvelope is Intel PCS's JSON for TCB info and enclave identities:
// the signed object, and an ECDSA P-256 signature (r ‖ s, hex) by the TCB
// signing key over the object's exact bytes.
type signedEnvelope struct {
	TCBInfo         json.RawMessage `json:"tcbInfo"`
	EnclaveIdentity json.RawMessage `json:"enclaveIdentity"`
	Signature       string          `json:"signature"`
}

// signedTCBInfo is a parsed TCB info; nothing in it is verified.
type signedTCBInfo struct {
	info pcs.TcbInfo
	body []byte // the signed bytes of the "tcbInfo" value
	sig  [64]byte
}

// signedQEIdentity is a parsed QE identity; nothing in it is verified.
type signedQEIdentity struct {
	id   pcs.EnclaveIdentity
	body []byte // the signed bytes of the "enclaveIdentity" value
	sig  [64]byte
}

// parseEnvelope splits an Intel PCS signed JSON document into the signed
// bytes of the member named key and the signature. The object is decoded
// from those same bytes afterwards, so what is checked is what is used.
func parseEnvelope(b []byte, key string, limit int) (body []byte, sig [64]byte, err error) {
	if len(b) > limit {
		return nil, sig, fmt.Errorf("%d bytes, limit %d", len(b), limit)
	}
	var env signedEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, sig, err
	}
	switch key {
	case "tcbInfo":
		body = env.TCBInfo
	case "enclaveIdentity":
		body = env.EnclaveIdentity
	}
	if len(body) == 0 || bytes.Equal(body, []byte("null")) {
		return nil, sig, fmt.Errorf("no %q member", key)
	}
	s, err := hex.DecodeString(env.Signature)
	if err != nil || len(s) != len(sig) {
		return nil, sig, fmt.Errorf("signature is not %d hex-encoded bytes", len(sig))
	}
	copy(sig[:], s)
	return bytes.Clone(body), sig, nil
}

// parseTCBInfo parses Intel PCS's TCB info response ({"tcbInfo": …,
// "signature": …}).
func parseTCBInfo(b []byte) (*signedTCBInfo, error) {
	body, sig, err := parseEnvelope(b, "tcbInfo", maxTCBInfoSize)
	if err != nil {
		return nil, err
	}
	t := &signedTCBInfo{body: body, sig: sig}
	if err := json.Unmarshal(body, &t.info); err != nil {
		return nil, err
	}
	return t, nil
}

// parseQEIdentity parses Intel PCS's QE identity response
// ({"enclaveIdentity": …, "signature": …}).
func parseQEIdentity(b []byte) (*signedQEIdentity, error) {
	body, sig, err := parseEnvelope(b, "enclaveIdentity", maxQEIdentitySize)
	if err != nil {
		return nil, err
	}
	q := &signedQEIdentity{body: body, sig: sig}
	if err := json.Unmarshal(body, &q.id); err != nil {
		return nil, err
	}
	return q, nil
}

// parseSigningChain returns the first certificate of a PEM chain: the TCB
// signing certificate. The root that usually follows it is not needed: the
// verifier's own root is the anchor.
func parseSigningChain(b []byte) (*x509.Certificate, error) {
	if len(b) > maxSigningChainSize {
		return nil, fmt.Errorf("%d bytes, limit %d", len(b), maxSigningChainSize)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// parseCRL parses a CRL in DER or PEM ("X509 CRL"), as Intel PCS serves
// them depending on the encoding parameter.
func parseCRL(b []byte) (*x509.RevocationList, error) {
	if len(b) > maxCRLSize {
		return nil, fmt.Errorf("%d bytes, limit %d", len(b), maxCRLSize)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "X509 CRL" {
			return nil, fmt.Errorf("PEM block is %q, want X509 CRL", blk.Type)
		}
		b = blk.Bytes
	}
	return x509.ParseRevocationList(b)
}

// verifiedCollateral is TCB info and QE identity whose signatures, signing
// chain and validity have been checked.
type verifiedCollateral struct {
	signer     *x509.Certificate
	tcbInfo    *pcs.TcbInfo
	qeIdentity *pcs.EnclaveIdentity
}

// fetch gets a required item. Any failure, ErrNotFound included, is a
// refusal: without the item the quote cannot be evaluated.
func fetch(ctx context.Context, src collateral.Source, req collateral.Request, field string) ([]byte, error) {
	b, err := src.Fetch(ctx, req)
	if err != nil {
		return nil, refuseCause(attest.ErrCollateral, "collateral fetch", field, err)
	}
	return b, nil
}

// loadCollateral fetches the TCB signing chain, the TCB info for fmspc and
// the TD QE identity, and verifies each: chain to the root at now, ECDSA
// signature over the signed bytes, identifier, version, nextUpdate. Every
// failure is attest.ErrCollateral.
func (v *Verifier) loadCollateral(ctx context.Context, src collateral.Source, fmspc string, now time.Time) (*verifiedCollateral, error) {
	chainPEM, err := fetch(ctx, src, collateral.Request{Kind: collateral.KindTCBSigningChain, TEE: teeTDX}, "tcb_signing_chain")
	if err != nil {
		return nil, err
	}
	signer, err := v.verifySigningChain(chainPEM, now)
	if err != nil {
		return nil, err
	}

	tcbRaw, err := fetch(ctx, src, collateral.Request{Kind: collateral.KindTCBInfo, TEE: teeTDX, FMSPC: strings.ToUpper(fmspc)}, "tcb_info")
	if err != nil {
		return nil, err
	}
	tcb, err := parseTCBInfo(tcbRaw)
	if err != nil {
		return nil, refuseCause(attest.ErrCollateral, "tcb info", "tcb_info", err)
	}
	qeRaw, err := fetch(ctx, src, collateral.Request{Kind: collateral.KindQEIdentity, TEE: teeTDX}, "qe_identity")
	if err != nil {
		return nil, err
	}
	qe, err := parseQEIdentity(qeRaw)
	if err != nil {
		return nil, refuseCause(attest.ErrCollateral, "qe identity", "qe_identity", err)
	}

	key := signer.PublicKey.(*ecdsa.PublicKey) // checked by verifySigningChain
	var errs []error
	if !verifyP256(key, tcb.body, tcb.sig) {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "tcb info signature", "tcb_info.signature", "ECDSA P-256 signature by "+signer.Subject.CommonName, "invalid"))
	} else {
		errs = append(errs, checkTCBInfo(&tcb.info, now)...)
	}
	if !verifyP256(key, qe.body, qe.sig) {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "qe identity signature", "qe_identity.signature", "ECDSA P-256 signature by "+signer.Subject.CommonName, "invalid"))
	} else {
		errs = append(errs, checkQEIdentity(&qe.id, now)...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &verifiedCollateral{signer: signer, tcbInfo: &tcb.info, qeIdentity: &qe.id}, nil
}

// verifySigningChain checks that the first certificate of the TCB signing
// chain is Intel's TCB signing certificate, issued by the root and valid at
// now.
func (v *Verifier) verifySigningChain(chainPEM []byte, now time.Time) (*x509.Certificate, error) {
	const check = "tcb signing chain"
	cert, err := parseSigningChain(chainPEM)
	if err != nil {
		return nil, refuseCause(attest.ErrCollateral, check, "tcb_signing_chain", err)
	}
	if cert.Subject.CommonName != cnTCBSigning {
		return nil, attest.Refuse(attest.ErrCollateral, check, "tcb_signing_chain.subject.cn", cnTCBSigning, cert.Subject.CommonName)
	}
	if _, err := cert.Verify(v.verifyOptions(nil, now)); err != nil {
		return nil, refuseCause(attest.ErrCollateral, check, "tcb_signing_chain", err)
	}
	if !isP256(cert) {
		return nil, attest.Refuse(attest.ErrCollateral, check, "tcb_signing_chain.public_key", "ECDSA P-256", fmt.Sprintf("%T", cert.PublicKey))
	}
	return cert, nil
}

// checkTCBInfo checks a signature-verified TCB info's identity, version,
// freshness and shape.
func checkTCBInfo(t *pcs.TcbInfo, now time.Time) []error {
	const check = "tcb info"
	var errs []error
	if t.ID != tcbInfoID {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "tcb_info.id", tcbInfoID, t.ID))
	}
	if t.Version != tcbInfoVersion {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "tcb_info.version", fmt.Sprint(tcbInfoVersion), fmt.Sprint(t.Version)))
	}
	if t.TcbType != tcbTypeSVNs {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "tcb_info.tcbType", fmt.Sprint(tcbTypeSVNs), fmt.Sprint(t.TcbType)))
	}
	// Collateral past its nextUpdate may no longer list the advisories and
	// levels Intel has since published: refuse it rather than report a
	// stale verdict.
	if now.After(t.NextUpdate) {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "tcb_info.nextUpdate", "after "+now.UTC().Format(time.RFC3339), t.NextUpdate.UTC().Format(time.RFC3339)))
	}
	errs = append(errs, checkLevels("tcb_info.tcbLevels", t.TcbLevels, true)...)
	for i, m := range t.TdxModuleIdentities {
		errs = append(errs, checkLevels(fmt.Sprintf("tcb_info.tdxModuleIdentities[%d].tcbLevels", i), m.TcbLevels, false)...)
	}
	return errs
}

// checkQEIdentity checks a signature-verified QE identity's identity,
// version, freshness and shape.
func checkQEIdentity(q *pcs.EnclaveIdentity, now time.Time) []error {
	const check = "qe identity"
	var errs []error
	if q.ID != qeIdentityID {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_identity.id", qeIdentityID, q.ID))
	}
	if q.Version != qeIdentityVersion {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_identity.version", fmt.Sprint(qeIdentityVersion), fmt.Sprint(q.Version)))
	}
	if now.After(q.NextUpdate) {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_identity.nextUpdate", "after "+now.UTC().Format(time.RFC3339), q.NextUpdate.UTC().Format(time.RFC3339)))
	}
	for _, f := range []struct {
		name string
		got  []byte
		want int
	}{
		{"miscselect", q.Miscselect.Bytes, 4},
		{"miscselectMask", q.MiscselectMask.Bytes, 4},
		{"attributes", q.Attributes.Bytes, 16},
		{"attributesMask", q.AttributesMask.Bytes, 16},
		{"mrsigner", q.Mrsigner.Bytes, 32},
	} {
		if len(f.got) != f.want {
			errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_identity."+f.name, fmt.Sprintf("%d bytes", f.want), fmt.Sprintf("%d bytes", len(f.got))))
		}
	}
	errs = append(errs, checkLevels("qe_identity.tcbLevels", q.TcbLevels, false)...)
	return errs
}

// checkLevels checks that a list of TCB levels is usable: not empty, not
// beyond maxTCBLevels, every status and date well-formed, and, for platform
// levels, 16 SGX and 16 TDX components each.
func checkLevels(field string, levels []pcs.TcbLevel, platform bool) []error {
	const check = "tcb levels"
	if len(levels) == 0 {
		return []error{attest.Refuse(attest.ErrCollateral, check, field, "at least one level", "none")}
	}
	if len(levels) > maxTCBLevels {
		return []error{attest.Refuse(attest.ErrCollateral, check, field, fmt.Sprintf("at most %d levels", maxTCBLevels), fmt.Sprint(len(levels)))}
	}
	var errs []error
	for i, l := range levels {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, err := attest.ParseTCBStatus(string(l.TcbStatus)); err != nil {
			errs = append(errs, refuseCause(attest.ErrCollateral, check, f+".tcbStatus", err))
		}
		if _, err := time.Parse(time.RFC3339, l.TcbDate); err != nil {
			errs = append(errs, refuseCause(attest.ErrCollateral, check, f+".tcbDate", err))
		}
		if platform {
			if n := len(l.Tcb.SgxTcbcomponents); n != 16 {
				errs = append(errs, attest.Refuse(attest.ErrCollateral, check, f+".tcb.sgxtcbcomponents", "16 components", fmt.Sprint(n)))
			}
			if n := len(l.Tcb.TdxTcbcomponents); n != 16 {
				errs = append(errs, attest.Refuse(attest.ErrCollateral, check, f+".tcb.tdxtcbcomponents", "16 components", fmt.Sprint(n)))
			}
		}
	}
	return errs
}

func isP256(c *x509.Certificate) bool {
	k, ok := c.PublicKey.(*ecdsa.PublicKey)
	return ok && k.Curve == elliptic.P256()
}
