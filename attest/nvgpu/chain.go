package nvgpu

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
)

const checkChain = "nvidia certificate chain"

// timeFormat is how validity bounds appear in refusals.
const timeFormat = "2006-01-02T15:04:05Z"

// fetchChain gets the attestation key's PEM chain from src and parses it.
// The chain is collateral: anything wrong with getting or decoding it is
// ErrCollateral; whether it is trusted is decided by verifyChain.
func fetchChain(ctx context.Context, src collateral.Source) ([]*x509.Certificate, error) {
	field := collateral.KindNVIDIACertChain.FileName()
	if src == nil {
		// Never a network fallback: the caller chooses where collateral
		// comes from.
		return nil, attest.Refuse(attest.ErrCollateral, checkChain, field, "a collateral source", "none")
	}
	b, err := src.Fetch(ctx, collateral.Request{Kind: collateral.KindNVIDIACertChain})
	if err != nil {
		return nil, &attest.CheckError{Check: checkChain, Field: field, Expected: "present", Actual: "not available",
			Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
	}
	if len(b) > maxChainSize {
		return nil, attest.Refuse(attest.ErrCollateral, checkChain, field, fmt.Sprintf("at most %d bytes", maxChainSize), fmt.Sprintf("%d bytes", len(b)))
	}
	var chain []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" || len(blk.Headers) != 0 {
			return nil, attest.Refuse(attest.ErrCollateral, checkChain, fmt.Sprintf("%s[%d]", field, len(chain)), "a CERTIFICATE block", fmt.Sprintf("%q block", blk.Type))
		}
		if len(chain) == maxChainLength {
			return nil, attest.Refuse(attest.ErrCollateral, checkChain, field, fmt.Sprintf("at most %d certificates", maxChainLength), "more")
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, &attest.CheckError{Check: checkChain, Field: fmt.Sprintf("%s[%d]", field, len(chain)), Expected: "an X.509 certificate", Actual: "unparsable",
				Err: fmt.Errorf("%w: %w", attest.ErrCollateral, err)}
		}
		chain = append(chain, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, attest.Refuse(attest.ErrCollateral, checkChain, field, "only PEM certificates", fmt.Sprintf("%d trailing bytes", len(bytes.TrimSpace(rest))))
	}
	if len(chain) < minChainLength {
		return nil, attest.Refuse(attest.ErrCollateral, checkChain, field,
			fmt.Sprintf("at least %d certificates (attestation key, device, root)", minChainLength), fmt.Sprint(len(chain)))
	}
	return chain, nil
}

// verifyChain checks that chain, in the order given, leads from the
// attestation key certificate to one of roots, with every certificate valid
// at now, and that the attestation key is ECDSA P-384.
func verifyChain(chain []*x509.Certificate, roots []*x509.Certificate, now time.Time) (*ecdsa.PublicKey, error) {
	last := chain[len(chain)-1]
	trusted := false
	for _, r := range roots {
		// The chain must end in the root itself, not merely in a
		// certificate with the root's name: pin the bytes.
		if bytes.Equal(r.Raw, last.Raw) {
			trusted = true
			break
		}
	}
	if !trusted {
		return nil, attest.Refuse(attest.ErrCertificate, checkChain, fmt.Sprintf("cert_chain[%d]", len(chain)-1),
			describeRoots(roots), fmt.Sprintf("%s (sha256:%s)", last.Subject, fingerprint(last)))
	}
	// Validity first, per certificate, so the refusal names which one.
	for i, c := range chain {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return nil, attest.Refuse(attest.ErrCertificate, checkChain, fmt.Sprintf("cert_chain[%d].validity", i),
				c.NotBefore.UTC().Format(timeFormat)+".."+c.NotAfter.UTC().Format(timeFormat), now.UTC().Format(timeFormat))
		}
	}
	rootPool := x509.NewCertPool()
	rootPool.AddCert(last)
	inter := x509.NewCertPool()
	for _, c := range chain[1 : len(chain)-1] {
		inter.AddCert(c)
	}
	// x509 checks each signature, the CA and key-usage bits and path
	// lengths. NVIDIA's certificates carry no extended key usage.
	paths, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         rootPool,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, &attest.CheckError{Check: checkChain, Field: "cert_chain", Expected: "a chain to " + last.Subject.String(), Actual: chain[0].Subject.String(),
			Err: fmt.Errorf("%w: %w", attest.ErrCertificate, err)}
	}
	// The path x509 found must be the chain as given: the device
	// certificate (chain[1]) names the platform, so it must be the one
	// that certified the attestation key.
	if !containsPath(paths, chain) {
		return nil, attest.Refuse(attest.ErrCertificate, checkChain, "cert_chain", "each certificate issued by the next", "another order")
	}
	pub, ok := chain[0].PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P384() {
		return nil, attest.Refuse(attest.ErrCertificate, checkChain, "cert_chain[0].public_key", "ECDSA P-384", keyName(chain[0]))
	}
	return pub, nil
}

func containsPath(paths [][]*x509.Certificate, chain []*x509.Certificate) bool {
	for _, p := range paths {
		if len(p) != len(chain) {
			continue
		}
		same := true
		for i := range p {
			if !bytes.Equal(p[i].Raw, chain[i].Raw) {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

func keyName(c *x509.Certificate) string {
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); ok {
		return "ECDSA " + k.Curve.Params().Name
	}
	return c.PublicKeyAlgorithm.String()
}

func fingerprint(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return hex.EncodeToString(h[:])
}

func describeRoots(roots []*x509.Certificate) string {
	if len(roots) == 0 {
		return "a trusted root (none configured)"
	}
	s := ""
	for i, r := range roots {
		if i > 0 {
			s += " or "
		}
		s += fmt.Sprintf("%s (sha256:%s)", r.Subject, fingerprint(r))
	}
	return s
}

// oidNVIDIADeviceName is the otherName type in NVIDIA attestation key
// certificates' subjectAltName; its value reads "NVIDIA:<chip>:<id>".
var oidNVIDIADeviceName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 412, 274, 1}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// deviceName returns the NVIDIA otherName of c's subjectAltName, or "".
// It is informational (Claims.Raw): x509 already parsed the extension, this
// only reads a name type x509 does not expose.
func deviceName(c *x509.Certificate) string {
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &names); err != nil || len(rest) != 0 {
			return ""
		}
		for _, n := range names {
			// otherName is [0] IMPLICIT SEQUENCE { type-id OID, value [0] EXPLICIT ANY }.
			if n.Class != asn1.ClassContextSpecific || n.Tag != 0 || !n.IsCompound {
				continue
			}
			var oid asn1.ObjectIdentifier
			rest, err := asn1.Unmarshal(n.Bytes, &oid)
			if err != nil || !oid.Equal(oidNVIDIADeviceName) {
				continue
			}
			var wrapped asn1.RawValue
			if _, err := asn1.Unmarshal(rest, &wrapped); err != nil || wrapped.Class != asn1.ClassContextSpecific || wrapped.Tag != 0 {
				continue
			}
			var s string
			if _, err := asn1.Unmarshal(wrapped.Bytes, &s); err != nil || !printable(s) {
				continue
			}
			return s
		}
	}
	return ""
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
