package snp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/verify"
	"github.com/google/go-sev-guest/verify/trust"
)

// Config configures a Verifier.
type Config struct {
	// Roots maps an AMD product line ("Milan", "Genoa", "Turin") to its
	// trust anchor. Nil means DefaultRoots(). Reports from a product line
	// missing from the map are refused.
	Roots map[string]Root
}

// Verifier verifies sevsnp.report evidence. It is safe for concurrent use.
type Verifier struct {
	roots map[string]Root // read-only after NewVerifier
}

var _ attest.Verifier = (*Verifier)(nil)

// NewVerifier returns a verifier that trusts cfg.Roots, or AMD's roots
// embedded in go-sev-guest when cfg.Roots is nil.
func NewVerifier(cfg Config) *Verifier {
	roots := cfg.Roots
	if roots == nil {
		roots = DefaultRoots()
	}
	return &Verifier{roots: maps.Clone(roots)}
}

// Format returns attest.FormatSEVSNP.
func (v *Verifier) Format() string { return attest.FormatSEVSNP }

// Verify checks an SEV-SNP report and its AMD certificate chain at
// opts.Time(), fetching what the payload lacks (VCEK, ASK/ARK, CRL) from
// opts.Collateral, and returns its claims. See the package documentation
// for the checks made and not made.
func (v *Verifier) Verify(ctx context.Context, ev attest.Evidence, opts attest.Options) (*attest.Claims, error) {
	if ev.Format != attest.FormatSEVSNP {
		return nil, attest.Malformed("snp: format %q, want %q", ev.Format, attest.FormatSEVSNP)
	}
	p, err := parsePayload(ev.Payload)
	if err != nil {
		return nil, err
	}
	now := opts.Time()
	c := &attest.Claims{Format: attest.FormatSEVSNP, TEE: attest.TEESEVSNP, TCBStatus: attest.TCBUnevaluated}

	key := p.signer.SigningKey
	if key != abi.VcekReportSigner && key != abi.VlekReportSigner {
		// SIGNING_KEY 7 means the firmware did not sign the report.
		return nil, attest.Refuse(attest.ErrSignature, "report signer", "signer_info.signing_key", "VCEK or VLEK", key.String())
	}
	ek, err := endorsementKey(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	exts, err := kds.CertificateExtensions(ek, key)
	if err != nil {
		return nil, &attest.CheckError{Check: key.String() + " certificate", Field: key.String() + ".extensions", Expected: "AMD KDS extensions", Actual: "unreadable",
			Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
	}
	productLine, err := verifiedProductLine(p, exts, key)
	if err != nil {
		return nil, err
	}
	root, ok := v.roots[productLine]
	if !ok || root.ARK == nil {
		return nil, attest.Refuse(attest.ErrCertificate, "amd root", "product_line",
			fmt.Sprintf("one of %v", slices.Sorted(maps.Keys(v.roots))), productLine)
	}
	ica, err := intermediate(ctx, p, key, productLine, root, opts)
	if err != nil {
		return nil, err
	}
	if err := checkEndorsementBinding(p, exts, key, productLine, c); err != nil {
		return nil, err
	}
	if err := checkChainAndSignature(ctx, p, ek, key, productLine, root.ARK, ica, now); err != nil {
		return nil, err
	}
	r := p.report
	if tcbExceeds(r.GetReportedTcb(), r.GetCurrentTcb()) {
		// The firmware derives VCEKs only for TCBs at or below the one
		// it runs, so genuine evidence never claims more.
		return nil, attest.Refuse(attest.ErrTCB, "reported tcb", "reported_tcb",
			fmt.Sprintf("at most current_tcb %#016x in every component", r.GetCurrentTcb()), fmt.Sprintf("%#016x", r.GetReportedTcb()))
	}
	if err := checkRevocation(ctx, opts, key, productLine, root.ARK, ica, now, c); err != nil {
		return nil, err
	}
	fillClaims(c, p, productLine)
	return c, nil
}

// endorsementKey returns the certificate of the key that signed the report:
// the table's VCEK or VLEK, else the VCEK from the collateral source.
func endorsementKey(ctx context.Context, p *payload, opts attest.Options) (*x509.Certificate, error) {
	key := p.signer.SigningKey
	if key == abi.VlekReportSigner {
		if p.certs.vlek == nil {
			// AMD's KDS serves VLEKs to cloud providers only, so the
			// host must supply it.
			return nil, attest.Refuse(attest.ErrCollateral, "VLEK certificate", "certificate_table.vlek", "the VLEK in the extended report's certificate table", "none")
		}
		ek, err := x509.ParseCertificate(p.certs.vlek)
		if err != nil {
			return nil, attest.Malformed("snp: certificate table VLEK: %w", err)
		}
		return ek, nil
	}
	if p.certs.vcek != nil {
		ek, err := x509.ParseCertificate(p.certs.vcek)
		if err != nil {
			return nil, attest.Malformed("snp: certificate table VCEK: %w", err)
		}
		return ek, nil
	}
	if opts.Collateral == nil {
		return nil, attest.Refuse(attest.ErrCollateral, "VCEK certificate", "collateral", "a VCEK in the certificate table or a collateral source", "none")
	}
	chipID := p.report.GetChipId()
	if allZero(chipID) {
		return nil, attest.Refuse(attest.ErrCollateral, "VCEK certificate", "chip_id", "a CHIP_ID to look the VCEK up by, or a VCEK in the certificate table", "masked (all zero)")
	}
	productLine := reportedProductLine(p)
	if productLine == "" {
		// Version 2 reports do not say; most were made on Milan. A
		// wrong guess costs a failed lookup, not trust: the chain is
		// checked against the product line the VCEK itself names.
		productLine = kds.DefaultProductLine()
	}
	der, err := opts.Collateral.Fetch(ctx, collateral.Request{
		Kind:        collateral.KindVCEK,
		Product:     productLine,
		ChipID:      chipID,
		ReportedTCB: p.report.GetReportedTcb(),
	})
	if err != nil {
		return nil, &attest.CheckError{Check: "VCEK certificate", Field: "collateral.vcek",
			Expected: fmt.Sprintf("the %s VCEK for this CHIP_ID at REPORTED_TCB %#016x", productLine, p.report.GetReportedTcb()), Actual: "unavailable",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	ek, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &attest.CheckError{Check: "VCEK certificate", Field: "collateral.vcek", Expected: "a DER X.509 certificate", Actual: fmt.Sprintf("%d unparsable bytes", len(der)),
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	return ek, nil
}

// reportedProductLine is the product line the report or the host says the
// chip belongs to, used only to look the VCEK up: CPUID family and model in
// version 3+ reports, else go-sev-guest's extra-platform-info table entry.
// It returns "" when neither is present.
func reportedProductLine(p *payload) string {
	if fms := p.report.GetCpuid1EaxFms(); fms != 0 {
		return kds.ProductLineFromFms(fms)
	}
	if p.certs.extraPlatformInfo != nil {
		if info, err := abi.ParseExtraPlatformInfo(p.certs.extraPlatformInfo); err == nil {
			return kds.ProductLine(abi.SevProductFromCpuid1Eax(info.Cpuid1Eax))
		}
	}
	return ""
}

// verifiedProductLine is the product line whose root must sign the chain,
// chosen as go-sev-guest's verify does: the report's signed CPUID fields in
// version 3+ reports, else the endorsement certificate's productName.
func verifiedProductLine(p *payload, exts *kds.Extensions, key abi.ReportSigner) (string, error) {
	if fms := p.report.GetCpuid1EaxFms(); fms != 0 {
		return kds.ProductLineFromFms(fms), nil
	}
	product, err := kds.ParseProductName(exts.ProductName, key)
	if err != nil {
		return "", &attest.CheckError{Check: key.String() + " certificate", Field: key.String() + ".productName", Expected: "an AMD product name", Actual: exts.ProductName,
			Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
	}
	return kds.ProductLine(product), nil
}

// intermediate returns the ASK (or, for VLEKs, the ASVK) to build the chain
// with. An ARK the payload or the collateral carries must be the trust
// anchor itself: it is never trusted on its own say-so. An ASK from either
// needs no such check, since the chain verification requires the anchor's
// signature on it.
func intermediate(ctx context.Context, p *payload, key abi.ReportSigner, productLine string, root Root, opts attest.Options) (*x509.Certificate, error) {
	if p.certs.ark != nil {
		ark, err := x509.ParseCertificate(p.certs.ark)
		if err != nil {
			return nil, attest.Malformed("snp: certificate table ARK: %w", err)
		}
		if !ark.Equal(root.ARK) {
			return nil, attest.Refuse(attest.ErrCertificate, "amd root key", "certificate_table.ark", fingerprint(root.ARK), fingerprint(ark))
		}
	}
	if p.certs.ask != nil {
		ica, err := x509.ParseCertificate(p.certs.ask)
		if err != nil {
			return nil, attest.Malformed("snp: certificate table ASK: %w", err)
		}
		return ica, nil
	}
	if key == abi.VlekReportSigner {
		if root.ASVK == nil {
			return nil, attest.Refuse(attest.ErrCertificate, "VLEK chain", "asvk", "an ASVK in the certificate table or the trust anchor", "none")
		}
		return root.ASVK, nil
	}
	if opts.Collateral != nil {
		b, err := opts.Collateral.Fetch(ctx, collateral.Request{Kind: collateral.KindASKARK, Product: productLine})
		if err == nil {
			ask, ark, err := parseASKARK(b)
			if err != nil {
				return nil, &attest.CheckError{Check: "ASK certificate", Field: "collateral.ask_ark", Expected: "the KDS cert_chain PEM (ASK, ARK)", Actual: fmt.Sprintf("%d unparsable bytes", len(b)),
					Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
			}
			if !ark.Equal(root.ARK) {
				return nil, attest.Refuse(attest.ErrCertificate, "amd root key", "collateral.ask_ark", fingerprint(root.ARK), fingerprint(ark))
			}
			return ask, nil
		}
		// Not found, or not reachable: the anchor's own ASK is as good,
		// and the chain check below decides either way.
	}
	if root.ASK == nil {
		return nil, attest.Refuse(attest.ErrCertificate, "VCEK chain", "ask", "an ASK in the certificate table, the collateral or the trust anchor", "none")
	}
	return root.ASK, nil
}

// checkEndorsementBinding checks that the endorsement certificate is the one
// for this chip (VCEK HWID = CHIP_ID) at this TCB (its SPL extensions =
// REPORTED_TCB). Without this a genuine VCEK of an older, vulnerable TCB
// could vouch for a report, as long as the host kept the matching key.
func checkEndorsementBinding(p *payload, exts *kds.Extensions, key abi.ReportSigner, productLine string, c *attest.Claims) error {
	r := p.report
	if !certTCBMatches(productLine, exts.TCBVersion, r.GetReportedTcb()) {
		return attest.Refuse(attest.ErrCertificate, key.String()+" binding", key.String()+".tcb",
			fmt.Sprintf("%v (REPORTED_TCB %#016x)", tcbParts(productLine, r.GetReportedTcb()), r.GetReportedTcb()),
			fmt.Sprintf("%+v", kds.DecomposeTCBVersion(exts.TCBVersion)))
	}
	if key != abi.VcekReportSigner {
		return nil
	}
	if allZero(r.GetChipId()) {
		c.Warn("CHIP_ID is masked: the VCEK is not matched to a chip")
		return nil
	}
	if !bytes.Equal(r.GetChipId(), exts.HWID) {
		return attest.Refuse(attest.ErrCertificate, "VCEK binding", "VCEK.hwid",
			attest.Hex(r.GetChipId()).String()+" (CHIP_ID)", attest.Hex(exts.HWID).String())
	}
	return nil
}

// certTCBMatches compares the SPL extensions of an endorsement certificate
// (which go-sev-guest folds into the family 19h TCB_VERSION layout) with a
// report's TCB_VERSION. On family 19h the two must be equal; on Turin the
// report's bytes are laid out differently, so the named components are
// compared (go-sev-guest v0.15.0 does not read the fmcSPL extension).
func certTCBMatches(productLine string, cert kds.TCBVersion, reported uint64) bool {
	if productLine != "Turin" {
		return uint64(cert) == reported
	}
	c := kds.DecomposeTCBVersion(cert)
	r := tcbParts(productLine, reported)
	return uint64(c.BlSpl) == r["bootloader"] && uint64(c.TeeSpl) == r["tee"] &&
		uint64(c.SnpSpl) == r["snp"] && uint64(c.UcodeSpl) == r["microcode"]
}

// checkChainAndSignature runs go-sev-guest's verification of the chain
// (endorsement key → ASK/ASVK → ARK at now, and AMD's KDS certificate
// profile) and of the report signature. Its errors are strings, so on
// failure the separate checks are rerun to tell a certificate from a
// signature refusal.
func checkChainAndSignature(ctx context.Context, p *payload, ek *x509.Certificate, key abi.ReportSigner, productLine string, ark, ica *x509.Certificate, now time.Time) error {
	pc := &trust.ProductCerts{Ark: ark}
	chain := &spb.CertificateChain{}
	if key == abi.VlekReportSigner {
		pc.Asvk = ica
		chain.VlekCert = ek.Raw
	} else {
		pc.Ask = ica
		chain.VcekCert = ek.Raw
	}
	// A fresh AMDRootCerts per call: go-sev-guest caches a CRL inside it,
	// and none must leak between verifications.
	rc := trust.AMDRootCertsProduct(productLine)
	rc.ProductCerts = pc
	err := verify.SnpAttestationContext(ctx, &spb.Attestation{Report: p.report, CertificateChain: chain}, &verify.Options{
		DisableCertFetching: true, // all fetching goes through opts.Collateral
		Now:                 now,
		TrustedRoots:        map[string][]*trust.AMDRootCerts{productLine: {rc}},
	})
	if err == nil {
		return nil
	}
	if err := checkChain(ek, key, ark, ica, now); err != nil {
		return err
	}
	if verify.SnpReportSignature(p.raw, ek) != nil {
		return attest.Refuse(attest.ErrSignature, "report signature", "signature",
			"ECDSA P-384 signature by the "+key.String()+" over report bytes [0x0, 0x2a0)", "invalid")
	}
	return &attest.CheckError{Check: key.String() + " chain", Field: key.String(), Expected: "AMD KDS certificate profile", Actual: "mismatch",
		Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
}

// checkChain verifies the endorsement certificate up to the ARK with the
// standard library, to name what failed.
func checkChain(ek *x509.Certificate, key abi.ReportSigner, ark, ica *x509.Certificate, now time.Time) error {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(ark)
	inter.AddCert(ica)
	_, err := ek.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil {
		return nil
	}
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired && inv.Cert != nil {
		return &attest.CheckError{Check: key.String() + " chain", Field: inv.Cert.Subject.CommonName + ".validity",
			Expected: inv.Cert.NotBefore.UTC().Format(time.RFC3339) + ".." + inv.Cert.NotAfter.UTC().Format(time.RFC3339),
			Actual:   now.UTC().Format(time.RFC3339), Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
	}
	return &attest.CheckError{Check: key.String() + " chain", Field: key.String() + ".issuer",
		Expected: "chain to " + ark.Subject.CommonName + " " + fingerprint(ark), Actual: ek.Issuer.CommonName,
		Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
}

// checkRevocation looks the ASK up in AMD's ARK-signed CRL. A CRL that
// cannot be had, or is past its nextUpdate, only earns a warning: AMD revokes
// rarely and a relay could always withhold the CRL, so refusing would add
// outages, not security. A CRL that is there but is not AMD's is refused,
// since something between AMD and the verifier is tampering.
func checkRevocation(ctx context.Context, opts attest.Options, key abi.ReportSigner, productLine string, ark, ica *x509.Certificate, now time.Time, c *attest.Claims) error {
	if key == abi.VlekReportSigner {
		c.Warn("revocation not checked: the CRL of VLEK chains is not fetched")
		return nil
	}
	if opts.Collateral == nil {
		c.Warn("revocation not checked: no collateral source for the AMD %s CRL", productLine)
		return nil
	}
	der, err := opts.Collateral.Fetch(ctx, collateral.Request{Kind: collateral.KindAMDCRL, Product: productLine})
	if err != nil {
		c.Warn("revocation not checked: AMD %s CRL not available: %v", productLine, err)
		return nil
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return &attest.CheckError{Check: "revocation", Field: "collateral.amd_crl", Expected: "a DER CRL", Actual: fmt.Sprintf("%d unparsable bytes", len(der)),
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if err := crl.CheckSignatureFrom(ark); err != nil {
		return &attest.CheckError{Check: "revocation", Field: "collateral.amd_crl.signature", Expected: "signed by " + ark.Subject.CommonName, Actual: "invalid",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if now.Before(crl.ThisUpdate) || (!crl.NextUpdate.IsZero() && now.After(crl.NextUpdate)) {
		c.Warn("AMD %s CRL is not current at %s (thisUpdate %s, nextUpdate %s)", productLine,
			now.UTC().Format(time.RFC3339), crl.ThisUpdate.UTC().Format(time.RFC3339), crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	for _, rc := range crl.RevokedCertificateEntries {
		if rc.SerialNumber != nil && rc.SerialNumber.Cmp(ica.SerialNumber) == 0 {
			return attest.Refuse(attest.ErrCertificate, "revocation", ica.Subject.CommonName+".serial",
				"not in the AMD "+productLine+" CRL", fmt.Sprintf("%x revoked at %s", ica.SerialNumber, rc.RevocationTime.UTC().Format(time.RFC3339)))
		}
	}
	return nil
}

// fillClaims copies the verified report's fields into c.
func fillClaims(c *attest.Claims, p *payload, productLine string) {
	r := p.report
	c.Measurement = attest.Hex(r.GetMeasurement())
	if p.signer.AuthorKeyEn {
		c.Signer = attest.Hex(r.GetAuthorKeyDigest())
	} else {
		c.Signer = attest.Hex(r.GetIdKeyDigest())
	}
	c.ProductID = productLine
	c.SVN = uint64(r.GetGuestSvn())
	c.TCB = tcbParts(productLine, r.GetReportedTcb())
	c.ReportData = attest.Hex(r.GetReportData())
	c.PlatformID = attest.Hex(r.GetChipId())

	// The policy parsed in parsePayload; the error cannot recur.
	policy, _ := abi.ParseSnpPolicy(r.GetPolicy())
	c.Debug = policy.Debug
	if c.Debug {
		c.Warn("guest policy allows debugging: the host can read and change guest memory")
	}
	if r.GetCommittedTcb() != r.GetCurrentTcb() {
		c.Warn("firmware is provisional: current_tcb %#016x, committed_tcb %#016x", r.GetCurrentTcb(), r.GetCommittedTcb())
	}
	if _, err := abi.ParseSnpPlatformInfo(r.GetPlatformInfo()); err != nil {
		c.Warn("platform_info %#x has bits this verifier does not know", r.GetPlatformInfo())
	}

	c.Raw = map[string]any{
		"version":           uint64(r.GetVersion()),
		"signing_key":       p.signer.SigningKey.String(),
		"author_key_en":     p.signer.AuthorKeyEn,
		"mask_chip_key":     p.signer.MaskChipKey,
		"measurement":       attest.Hex(r.GetMeasurement()),
		"host_data":         attest.Hex(r.GetHostData()),
		"id_key_digest":     attest.Hex(r.GetIdKeyDigest()),
		"author_key_digest": attest.Hex(r.GetAuthorKeyDigest()),
		"family_id":         attest.Hex(r.GetFamilyId()),
		"image_id":          attest.Hex(r.GetImageId()),
		"report_id":         attest.Hex(r.GetReportId()),
		"report_id_ma":      attest.Hex(r.GetReportIdMa()),
		"vmpl":              uint64(r.GetVmpl()),
		"policy":            r.GetPolicy(),
		"platform_info":     r.GetPlatformInfo(),
		"reported_tcb":      tcbParts(productLine, r.GetReportedTcb()),
		"current_tcb":       tcbParts(productLine, r.GetCurrentTcb()),
		"committed_tcb":     tcbParts(productLine, r.GetCommittedTcb()),
		"launch_tcb":        tcbParts(productLine, r.GetLaunchTcb()),
		"current_version":   fmt.Sprintf("%d.%d.%d", r.GetCurrentMajor(), r.GetCurrentMinor(), r.GetCurrentBuild()),
		"committed_version": fmt.Sprintf("%d.%d.%d", r.GetCommittedMajor(), r.GetCommittedMinor(), r.GetCommittedBuild()),
	}
	if r.GetVersion() >= abi.ReportVersion5 {
		c.Raw["launch_mit_vector"] = r.GetLaunchMitVector()
		c.Raw["current_mit_vector"] = r.GetCurrentMitVector()
	}
}

// fingerprint names a certificate in refusals: its SHA-256.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return "sha256:" + attest.Hex(sum[:]).String()
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
