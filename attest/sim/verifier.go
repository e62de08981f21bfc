package sim

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/cofre-cc/cofre/attest"
)

// Verifier verifies sim.v1 evidence against a set of simulation roots.
type Verifier struct {
	roots *x509.CertPool
}

var _ attest.Verifier = (*Verifier)(nil)

// NewVerifier returns a verifier that trusts platforms certified by roots.
// With a nil pool every sim evidence is refused: simulation must be
// configured on purpose.
func NewVerifier(roots *x509.CertPool) *Verifier {
	return &Verifier{roots: roots}
}

func (v *Verifier) Format() string { return attest.FormatSim }

// Verify checks the platform certificate chain at opts.Time() and the
// report signature. Collateral is not used.
func (v *Verifier) Verify(_ context.Context, ev attest.Evidence, opts attest.Options) (*attest.Claims, error) {
	if ev.Format != attest.FormatSim {
		return nil, attest.Malformed("sim: format %q", ev.Format)
	}
	p, r, err := parsePayload(ev.Payload)
	if err != nil {
		return nil, err
	}
	if v.roots == nil {
		return nil, attest.Refuse(attest.ErrCertificate, "sim platform chain", "roots", "a configured simulation root", "none")
	}
	leaf, err := x509.ParseCertificate(p.Certificates[0])
	if err != nil {
		return nil, attest.Malformed("sim: platform certificate: %w", err)
	}
	inter := x509.NewCertPool()
	for _, der := range p.Certificates[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, attest.Malformed("sim: intermediate certificate: %w", err)
		}
		inter.AddCert(c)
	}
	now := opts.Time()
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil, attest.Refuse(attest.ErrCertificate, "sim platform chain", "validity",
				fmt.Sprintf("%s..%s", leaf.NotBefore.UTC().Format("2006-01-02T15:04:05Z"), leaf.NotAfter.UTC().Format("2006-01-02T15:04:05Z")),
				now.UTC().Format("2006-01-02T15:04:05Z"))
		}
		return nil, &attest.CheckError{Check: "sim platform chain", Field: "certificates", Expected: "chain to a simulation root", Actual: leaf.Subject.String(), Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
	}
	if leaf.IsCA || leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		// Only a platform certificate signs reports; a CA key signing one
		// would let whoever holds a root or intermediate skip the platform.
		return nil, attest.Refuse(attest.ErrCertificate, "sim platform certificate", "key_usage", "end-entity with digitalSignature", fmt.Sprintf("ca=%v key_usage=%#x", leaf.IsCA, leaf.KeyUsage))
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, attest.Refuse(attest.ErrCertificate, "sim platform key", "public_key", "ECDSA P-256", fmt.Sprintf("%T", leaf.PublicKey))
	}
	digest := sha256.Sum256(signedDigestInput(p.Report))
	if !ecdsa.VerifyASN1(pub, digest[:], p.Signature) {
		return nil, attest.Refuse(attest.ErrSignature, "sim report signature", "signature", "valid ECDSA P-256 signature by the platform key", "invalid")
	}
	c := &attest.Claims{
		Format:      attest.FormatSim,
		TEE:         attest.TEESim,
		Measurement: r.Measurement,
		Signer:      r.Signer,
		ProductID:   r.ProductID,
		SVN:         r.SVN,
		Debug:       true, // anyone with the platform key can read and forge it
		ReportData:  r.ReportData,
		PlatformID:  platformID(leaf),
		TCBStatus:   attest.TCBUnevaluated,
		Raw: map[string]any{
			"issued_at":     r.IssuedAt,
			"platform_name": leaf.Subject.SerialNumber,
			"simulation":    true,
		},
	}
	c.Warn("%s", attest.SimulationWarning)
	return c, nil
}
