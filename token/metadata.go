package token

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
)

// WellKnownPath is where an issuer serves its metadata (OpenID Connect
// Discovery 1.0 §4), relative to the issuer URL.
const WellKnownPath = "/.well-known/openid-configuration"

// Metadata is the OpenID Provider metadata document an attestation service
// serves at WellKnownPath, as Azure Attestation does: relying parties find
// the JWKS from the issuer name alone. Marshal it with encoding/json.
type Metadata struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
	// ResponseTypesSupported is required by OpenID Discovery; an
	// attestation service issues tokens only: ["token"], as MAA says.
	ResponseTypesSupported []string `json:"response_types_supported"`
	// IDTokenSigningAlgValuesSupported lists the token algorithms.
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	// ClaimsSupported lists the claim names tokens may carry.
	ClaimsSupported []string `json:"claims_supported"`
}

// NewMetadata builds the metadata of an issuer that signs with algs (the
// algorithms of the keys in its JWKS; at least one) and issues tokens of
// the given profiles (ProfileEAR is always included). issuer and jwksURI
// must be absolute https URLs (or http on a loopback IP, as RemoteJWKS
// accepts) without query or fragment.
func NewMetadata(issuer, jwksURI string, algs []Algorithm, profiles ...Profile) (*Metadata, error) {
	if err := checkMetadataURL(issuer); err != nil {
		return nil, fmt.Errorf("token: metadata: issuer: %w", err)
	}
	if err := checkMetadataURL(jwksURI); err != nil {
		return nil, fmt.Errorf("token: metadata: jwks_uri: %w", err)
	}
	if len(algs) == 0 {
		return nil, errors.New("token: metadata: no algorithms")
	}
	m := &Metadata{Issuer: issuer, JWKSURI: jwksURI, ResponseTypesSupported: []string{"token"}}
	for _, a := range algs {
		if !a.valid() {
			return nil, fmt.Errorf("token: metadata: invalid algorithm %d", int(a))
		}
		if !slices.Contains(m.IDTokenSigningAlgValuesSupported, a.String()) {
			m.IDTokenSigningAlgValuesSupported = append(m.IDTokenSigningAlgValuesSupported, a.String())
		}
	}
	m.ClaimsSupported = []string{
		claimIssuer, claimAudience, claimIssuedAt, claimExpiry, claimProfile, claimNonce, claimVerifierID,
		claimSubmods, claimCnf, claimTEE, claimSimulation, claimDraft,
	}
	if slices.Contains(profiles, ProfileMAA) {
		m.ClaimsSupported = append(m.ClaimsSupported, maaVersion, maaAttestationType, maaIsolationTEE, maaRuntime,
			"x-ms-sevsnpvm-launchmeasurement", "x-ms-sevsnpvm-reportdata", "x-ms-sevsnpvm-is-debuggable", "x-ms-sevsnpvm-guestsvn",
			"x-ms-sgx-mrenclave", "x-ms-sgx-mrsigner", "x-ms-sgx-is-debuggable", "x-ms-sgx-svn", "x-ms-sgx-product-id", "x-ms-sgx-report-data",
			"tdx_mrtd", "tdx_report_data", "tdx_td_attributes_debug")
	}
	return m, nil
}

func checkMetadataURL(s string) error {
	if err := checkJWKSURL(s); err != nil {
		return err
	}
	u, _ := url.Parse(s)
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q has a query or fragment", s)
	}
	return nil
}
