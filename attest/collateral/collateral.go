// Package collateral delivers vendor collateral — Intel TCB info, QE
// identity and CRLs, AMD VCEK certificates, NVIDIA certificate chains, Azure
// Attestation signing keys — to verifiers.
//
// A Source is the only way a verifier reaches collateral. Three kinds
// compose: Dir reads an offline bundle (one directory per platform, in the
// layout Intel PCS and AMD KDS serve files), Online fetches from the vendor
// through an injected HTTP getter, and Cache keeps what another source
// returned on disk. Nothing here trusts what it returns: verifiers check
// every signature and validity period themselves.
package collateral

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound means the source has no such item. Verifiers treat optional
// items (CRLs) that are not found as a warning, and required items as a
// refusal.
var ErrNotFound = errors.New("collateral not found")

// ErrUnavailable means the source could not answer now (network failure,
// the vendor throttling or down): a reason to retry later, not a verdict
// on the evidence. Verifiers still refuse (attest.ErrCollateral) and keep
// this error in the chain, so callers can tell the two apart.
var ErrUnavailable = errors.New("collateral source unavailable")

// Kind names one collateral item.
type Kind int

// Do not reorder: FileName depends on the order of fileNames.
const (
	KindInvalid Kind = iota
	// KindTCBInfo is Intel PCS's TCB info JSON for an FMSPC.
	KindTCBInfo
	// KindQEIdentity is Intel PCS's QE (or TD-QE) identity JSON.
	KindQEIdentity
	// KindTCBSigningChain is the PEM chain that signs TCB info and QE
	// identity (TCB Signing cert, then Intel SGX Root CA).
	KindTCBSigningChain
	// KindPCKCRL is the DER CRL of the PCK issuing CA (processor or platform).
	KindPCKCRL
	// KindRootCRL is the DER CRL of the Intel SGX Root CA.
	KindRootCRL
	// KindVCEK is an AMD VCEK certificate in DER.
	KindVCEK
	// KindASKARK is AMD's ASK (or ASVK) and ARK certificates in PEM.
	KindASKARK
	// KindJWKS is a JSON Web Key Set, such as Azure Attestation's signing keys.
	KindJWKS
	// KindNVIDIACertChain is an NVIDIA device certificate chain in PEM.
	KindNVIDIACertChain
	// KindAMDCRL is the DER CRL an AMD ARK signs (revoked ASKs), per
	// product line.
	KindAMDCRL
)

var fileNames = [...]string{
	KindInvalid:         "",
	KindTCBInfo:         "tcb_info.json",
	KindQEIdentity:      "qe_identity.json",
	KindTCBSigningChain: "tcb_signing_chain.pem",
	KindPCKCRL:          "pck_crl.der",
	KindRootCRL:         "root_crl.der",
	KindVCEK:            "vcek.der",
	KindASKARK:          "ask_ark.pem",
	KindJWKS:            "jwks.json",
	KindNVIDIACertChain: "cert_chain.pem",
	KindAMDCRL:          "amd_crl.der",
}

// FileName is the item's name in an offline bundle directory.
func (k Kind) FileName() string {
	if k <= KindInvalid || int(k) >= len(fileNames) {
		return ""
	}
	return fileNames[k]
}

func (k Kind) String() string {
	if n := k.FileName(); n != "" {
		return n
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Request says which item a verifier needs and for which platform. Online
// sources use the platform fields to build the vendor URL; an offline
// directory holds one platform's items and ignores them.
type Request struct {
	Kind Kind

	// TEE is "sgx" or "tdx" for Intel items.
	TEE string
	// FMSPC is the Intel platform family, hex (TCB info).
	FMSPC string
	// CA is the PCK issuing CA for a PCK CRL: "processor" or "platform".
	CA string

	// Product is the AMD product line ("Milan", "Genoa") for SEV-SNP items.
	Product string
	// ChipID is the AMD CHIP_ID (64 bytes) for a VCEK.
	ChipID []byte
	// ReportedTCB is the AMD REPORTED_TCB for a VCEK.
	ReportedTCB uint64

	// URL is the issuer's OpenID configuration or JWKS URL for a JWKS.
	URL string
}

// Source returns the raw bytes of one collateral item, or an error wrapping
// ErrNotFound.
type Source interface {
	Fetch(ctx context.Context, req Request) ([]byte, error)
}
