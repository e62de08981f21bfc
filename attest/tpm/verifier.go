package tpm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/google/go-eventlog/register"
	pb "github.com/google/go-tpm-tools/proto/attest"
	tpmquote "github.com/google/go-tpm-tools/quote"
	"github.com/google/go-tpm-tools/server"
	"github.com/google/go-tpm/legacy/tpm2"
)

// measuredBank is the PCR bank whose quote Verify checks and whose values
// become the claims. Fixing it (rather than taking the "strongest" bank the
// client happened to quote) keeps Measurement comparable across clients: GCE
// vTPMs have SHA-1, SHA-256 and SHA-384 banks, and reference values for GCE
// images are published for SHA-256. SHA-1 banks are never accepted.
const measuredBank = tpm2.AlgSHA256

// oidSubjectAltName is id-ce-subjectAltName (RFC 5280, 4.2.1.6).
var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// Verifier verifies tpm.gotpmtools evidence: go-tpm-tools attestations from
// GCE Shielded and Confidential VMs. It is safe for concurrent use.
type Verifier struct {
	roots         *x509.CertPool
	intermediates []*x509.Certificate
}

var _ attest.Verifier = (*Verifier)(nil)

// Option configures a Verifier.
type Option func(*Verifier)

// WithRoots replaces the trust anchors for AK certificates (DefaultRoots).
// Tests use it to trust a fake CA. With no roots every evidence is refused.
func WithRoots(roots ...*x509.Certificate) Option {
	return func(v *Verifier) {
		v.roots = nil
		if len(roots) > 0 {
			v.roots = x509.NewCertPool()
			for _, c := range roots {
				v.roots.AddCert(c)
			}
		}
	}
}

// WithIntermediates replaces the intermediate certificates offered for path
// building (DefaultIntermediates). Intermediates carried in the attestation
// are always offered as well.
func WithIntermediates(certs ...*x509.Certificate) Option {
	return func(v *Verifier) { v.intermediates = slices.Clone(certs) }
}

// NewVerifier returns a verifier that trusts AK certificates issued under
// Google's EK/AK roots (DefaultRoots), unless options replace them.
func NewVerifier(opts ...Option) *Verifier {
	v := &Verifier{intermediates: DefaultIntermediates()}
	WithRoots(DefaultRoots()...)(v)
	for _, o := range opts {
		o(v)
	}
	return v
}

// Format returns attest.FormatTPM.
func (v *Verifier) Format() string { return attest.FormatTPM }

// Verify checks a serialized go-tpm-tools Attestation: the AK certificate
// chain at opts.Time(), that the AK public area is the certified key, the
// SHA-256 quote's signature and PCR digest, and the replay of the event log
// against the quoted PCRs; it then returns the claims go-tpm-tools extracts
// from the verified log. Collateral is not used: the roots are embedded and
// revocation is not checked, so opts.Collateral may be nil.
//
// The quote's extraData is taken from the quote itself and returned as
// Claims.ReportData: this verifier establishes what the TPM signed, and the
// caller checks that it binds the expected nonce (attest.CheckBinding).
func (v *Verifier) Verify(_ context.Context, ev attest.Evidence, opts attest.Options) (*attest.Claims, error) {
	if ev.Format != attest.FormatTPM {
		return nil, attest.Malformed("tpm: format %q, want %q", ev.Format, attest.FormatTPM)
	}
	p, err := parsePayload(ev.Payload)
	if err != nil {
		return nil, err
	}
	now := opts.Time()

	if err := v.verifyAK(p, now); err != nil {
		return nil, err
	}

	q, ok := p.quote(measuredBank)
	if !ok {
		banks := make([]string, len(p.quotes))
		for i, o := range p.quotes {
			banks[i] = o.bank.String()
		}
		return nil, attest.Refuse(attest.ErrMalformed, "pcr bank", "quotes.pcrs.hash", measuredBank.String(), fmt.Sprint(banks))
	}
	// Checked before the signature so that a PCR value that does not match
	// the quote is reported as such; quote.Verify checks it again.
	if got, want := pcrDigest(q.pb.GetPcrs().GetPcrs(), q.sigHash), q.info.AttestedQuoteInfo.PCRDigest; !bytes.Equal(got, want) {
		return nil, attest.Refuse(attest.ErrSignature, "pcr digest", "quotes.pcrs", attest.Hex(want).String(), attest.Hex(got).String())
	}
	if err := tpmquote.Verify(q.pb, p.akPub, p.extraData); err != nil {
		return nil, &attest.CheckError{Check: "quote signature", Field: "quotes.raw_sig", Expected: "valid signature by the certified AK", Actual: "invalid",
			Err: fmt.Errorf("%w: %w", attest.ErrSignature, err)}
	}
	if p.eventLog != nil {
		if _, err := p.eventLog.Verify(bankRegisters(q)); err != nil {
			return nil, &attest.CheckError{Check: "event log replay", Field: "event_log", Expected: "events extending to the quoted " + measuredBank.String() + " PCRs", Actual: "mismatch",
				Err: fmt.Errorf("%w: %w", attest.ErrSignature, err)}
		}
	}

	ms, grubWarning, err := machineState(p)
	if err != nil {
		return nil, err
	}
	instance, err := server.GetGCEInstanceInfo(p.akCert)
	if err != nil {
		return nil, attest.Malformed("tpm: ak_cert: GCE instance information: %w", err)
	}
	c := newClaims(p, q, ms, instance)
	if grubWarning != "" {
		c.Warn("%s", grubWarning)
	}
	return c, nil
}

// verifyAK checks that the AK certificate chains to a trusted root at now,
// may sign, and certifies the key in the attestation's AK public area.
func (v *Verifier) verifyAK(p *payload, now time.Time) error {
	const check = "ak certificate"
	if v.roots == nil {
		return attest.Refuse(attest.ErrCertificate, check, "roots", "a configured trust anchor", "none")
	}
	leaf := p.akCert
	if leaf == nil {
		// Without a certificate the AK could be any key, including one
		// outside a TPM; this verifier has no list of trusted AKs.
		return attest.Refuse(attest.ErrCertificate, check, "ak_cert", "an AK certificate", "none")
	}
	// TCG EK/AK certificates put the TPM's manufacturer, model and version
	// in a critical subjectAltName holding only a directoryName, which
	// crypto/x509 does not parse and so reports as unhandled. Nothing here
	// relies on the SAN (Google's CAs carry no name constraints), so it is
	// accepted; any other unhandled critical extension still fails.
	leaf.UnhandledCriticalExtensions = slices.DeleteFunc(slices.Clone(leaf.UnhandledCriticalExtensions),
		func(o asn1.ObjectIdentifier) bool { return o.Equal(oidSubjectAltName) })

	inter := x509.NewCertPool()
	for _, c := range v.intermediates {
		inter.AddCert(c)
	}
	for _, c := range p.intermediates {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: inter,
		CurrentTime:   now,
		// AK certificates carry TCG key purposes (2.23.133.8.x), not
		// serverAuth.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired && inv.Cert != nil {
			return attest.Refuse(attest.ErrCertificate, check, "validity",
				inv.Cert.NotBefore.UTC().Format(time.RFC3339)+".."+inv.Cert.NotAfter.UTC().Format(time.RFC3339),
				now.UTC().Format(time.RFC3339))
		}
		return &attest.CheckError{Check: check, Field: "ak_cert", Expected: "chain to a trusted Google EK/AK root", Actual: leaf.Issuer.String(),
			Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
	}
	// An EK certificate chains to the same roots; only a signing key's
	// certificate may vouch for quotes.
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return attest.Refuse(attest.ErrCertificate, check, "key_usage", "digitalSignature", fmt.Sprintf("%#x", int(leaf.KeyUsage)))
	}
	k, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !k.Equal(p.akPub) {
		return attest.Refuse(attest.ErrCertificate, check, "ak_pub", "the key the AK certificate certifies", "a different key")
	}
	return nil
}

// machineState runs go-tpm-tools' VerifyAttestation, which re-verifies the
// quote against the AK (already certified above) and replays and interprets
// the event log. It first asks for GRUB state; if that extraction fails it
// retries without, and returns a warning naming why. Every other extraction
// step runs in both calls, so the retry only drops GRUB state. A panic in
// the libraries refuses the evidence as malformed, without a retry.
func machineState(p *payload) (ms *pb.MachineState, warning string, err error) {
	opts := server.VerifyOpts{
		Nonce: p.extraData,
		// The AK certificate was verified at opts.Time() above;
		// VerifyAttestation would verify it at the wall clock instead.
		// Passing the certified key pins it to the same AK.
		TrustedAKs: []crypto.PublicKey{p.akPub},
		HashAlgo:   measuredBank,
		Loader:     server.GRUB,
	}
	if p.eventLog == nil {
		// Nothing to extract; newClaims warns that the log is missing.
		opts.Loader = server.UnsupportedLoader
	}
	ms, err = verifyAttestation(p.att, opts)
	if err != nil && opts.Loader == server.GRUB && !errors.Is(err, errLibraryPanic) {
		warning = fmt.Sprintf("GRUB state not extracted from the event log, kernel command line not reported: %v", err)
		opts.Loader = server.UnsupportedLoader
		ms, err = verifyAttestation(p.att, opts)
	}
	if err != nil {
		// Signature, PCR digest and replay were checked before, so what
		// is left is log content go-tpm-tools cannot interpret.
		return nil, "", attest.Malformed("tpm: event log content: %w", err)
	}
	if got := tpm2.Algorithm(ms.GetHash()); got != measuredBank {
		// Unreachable with HashAlgo set; guards the claims' meaning.
		return nil, "", attest.Malformed("tpm: go-tpm-tools verified the %v bank, want %v", got, measuredBank)
	}
	return ms, warning, nil
}

// errLibraryPanic marks an error that is a panic recovered from go-tpm-tools
// or go-eventlog.
var errLibraryPanic = errors.New("panic in go-tpm-tools or go-eventlog")

// verifyAttestation is server.VerifyAttestation with its panics turned into
// errors (wrapping errLibraryPanic). The event log it interprets is not all
// covered by the quote: an event's type and, for many types, its data are in
// no digest, so whoever submits evidence chooses them for a genuine quote.
// A panic there must refuse that evidence, not crash the verifier.
//
// Known library bug (go-eventlog v0.0.3-0.20260617163629-883cc5652c69):
// tcg.Event.UntrustedType panics on an event type missing from
// tcg.EventTypeNames, and the machine state extraction calls it on every
// replayed event (tcg.ConvertToPbEvents always; extract.EfiState,
// extract.GrubStateFromTPMLog and others first). So one event of a
// replayed PCR whose type field is edited to an unnamed value, such as
// 0x00040404, panicked Verify. Seeds: testdata/fuzz/FuzzMachineState/
// crasher-unknown-event-type-ipl (found by FuzzMachineState) and
// edit-unknown-event-type.
func verifyAttestation(att *pb.Attestation, opts server.VerifyOpts) (ms *pb.MachineState, err error) {
	defer func() {
		if r := recover(); r != nil {
			ms, err = nil, fmt.Errorf("%w: %v", errLibraryPanic, r)
		}
	}()
	return server.VerifyAttestation(att, opts)
}

// pcrDigest is TPMS_QUOTE_INFO.pcrDigest: the hash of the selected PCR values
// concatenated in ascending index order (TPM 2.0 Part 3, TPM2_Quote).
func pcrDigest(pcrs map[uint32][]byte, h crypto.Hash) []byte {
	d := h.New()
	for i := uint32(0); i < numPCRs; i++ {
		if v, ok := pcrs[i]; ok {
			d.Write(v)
		}
	}
	return d.Sum(nil)
}

func bankRegisters(q quote) []register.MR {
	h := pcrBanks[q.bank]
	var mrs []register.MR
	for idx, v := range q.pb.GetPcrs().GetPcrs() {
		mrs = append(mrs, register.PCR{Index: int(idx), Digest: v, DigestAlg: h})
	}
	return mrs
}
