package secrets

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"github.com/cofre-cc/cofre/manifest"
)

// Template parts.
const (
	PartRaw       = "raw"        // Bytes as they are ("" means raw too)
	PartHex       = "hex"        // Bytes in lowercase hex
	PartBase64    = "base64"     // Bytes in standard, padded base64
	PartCertPEM   = "cert-pem"   // the certificate, PEM
	PartCertDER   = "cert-der"   // the certificate, DER
	PartChainPEM  = "chain-pem"  // the certificate then its issuer chain, PEM
	PartKeyPEM    = "key-pem"    // the private key, PKCS #8 PEM ("PRIVATE KEY")
	PartKeyDER    = "key-der"    // the private key, PKCS #8 DER
	PartPublicPEM = "public-pem" // the public key, PKIX PEM ("PUBLIC KEY")
)

// Part returns a part of the value for a template, in a new slice the
// caller zeroes after use. Byte secrets (symmetric, ascii, explicit,
// uploaded) have raw (or ""), hex and base64; private-key has key-pem,
// key-der and public-pem; x509 and x509-ca have those and cert-pem,
// cert-der and chain-pem. A parquet-master-key has no part: it never
// leaves the KMS (ErrNotReleasable). Errors name the part and the kind,
// never the value.
func (v *Value) Part(part string) ([]byte, error) {
	out, err := v.part(part)
	if err != nil {
		return nil, fmt.Errorf("secrets: part %q of a %s secret: %w", clip(part), clip(string(v.Kind)), err)
	}
	return out, nil
}

func (v *Value) part(part string) ([]byte, error) {
	switch v.Kind {
	case manifest.KindParquetMasterKey:
		// The KMS wraps and unwraps data keys under it; a workload that
		// held it could decrypt every file of every job.
		return nil, ErrNotReleasable
	case manifest.KindSymmetric, manifest.KindASCII, manifest.KindExplicit, manifest.KindUploaded:
		switch part {
		case "", PartRaw:
			return bytes.Clone(v.Bytes), nil
		case PartHex:
			return hex.AppendEncode(nil, v.Bytes), nil
		case PartBase64:
			return base64.StdEncoding.AppendEncode(nil, v.Bytes), nil
		}
		return nil, ErrPart
	case manifest.KindPrivateKey, manifest.KindX509, manifest.KindX509CA:
	default:
		return nil, ErrKind
	}
	if v.Key == nil {
		return nil, ErrMalformed
	}
	hasCert := v.Kind != manifest.KindPrivateKey && v.Cert != nil
	switch part {
	case PartKeyDER, PartKeyPEM:
		der, err := x509.MarshalPKCS8PrivateKey(v.Key)
		if err != nil {
			return nil, ErrMalformed
		}
		if part == PartKeyDER {
			return der, nil
		}
		defer clear(der)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	case PartPublicPEM:
		der, err := x509.MarshalPKIXPublicKey(v.Key.Public())
		if err != nil {
			return nil, ErrMalformed
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
	case PartCertDER:
		if hasCert {
			return bytes.Clone(v.Cert.Raw), nil
		}
	case PartCertPEM:
		if hasCert {
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: v.Cert.Raw}), nil
		}
	case PartChainPEM:
		if hasCert {
			var buf bytes.Buffer
			for _, c := range append([]*x509.Certificate{v.Cert}, v.Chain...) {
				buf.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
			}
			return buf.Bytes(), nil
		}
	}
	return nil, ErrPart
}
