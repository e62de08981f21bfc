package nvgpu

import (
	"crypto/x509"
	_ "embed"
	"encoding/pem"
)

// deviceIdentityCAPEM is NVIDIA's device identity root, the anchor of every
// GPU attestation key chain. Source and fingerprint: trust/README.md.
//
//go:embed trust/nvidia_device_identity_ca.pem
var deviceIdentityCAPEM []byte

// deviceIdentityCAFingerprint is the SHA-256 of the root's DER, as
// published beside it; TestEmbeddedRoot keeps the two in step.
const deviceIdentityCAFingerprint = "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48"

// deviceIdentityCA parses the embedded root. The bytes are compiled in, so
// a failure is a build defect and panics.
func deviceIdentityCA() *x509.Certificate {
	b, _ := pem.Decode(deviceIdentityCAPEM)
	if b == nil {
		panic("nvgpu: embedded root is not PEM")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		panic("nvgpu: embedded root: " + err.Error())
	}
	return c
}
