package manifest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// signContext separates manifest signatures from every other signature an
// owner's key might make: a signature over these bytes cannot be replayed
// as, say, a token or a TLS handshake, and vice versa.
const signContext = "cofre-manifest-v1\x00"

// signedMessage is what owners sign: the context, then the document hash.
func signedMessage(hash [32]byte) []byte {
	return append([]byte(signContext), hash[:]...)
}

// Signature is one owner's signature over a manifest's hash.
type Signature struct {
	Owner     string
	Signature []byte
}

// Sign signs the manifest document doc (its exact bytes: see Hash) with
// key: ECDSA P-256 (SHA-256, ASN.1), ECDSA P-384 (SHA-384, ASN.1) or
// Ed25519. The message is "cofre-manifest-v1\x00" followed by Hash(doc).
func Sign(doc []byte, key crypto.Signer) ([]byte, error) {
	return signHash(Hash(doc), key)
}

func signHash(hash [32]byte, key crypto.Signer) ([]byte, error) {
	msg := signedMessage(hash)
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			d := sha256.Sum256(msg)
			return key.Sign(rand.Reader, d[:], crypto.SHA256)
		case elliptic.P384():
			d := sha512.Sum384(msg)
			return key.Sign(rand.Reader, d[:], crypto.SHA384)
		}
	case ed25519.PublicKey:
		return key.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	return nil, fmt.Errorf("manifest: sign: %w: %s", ErrKeyType, keyKind(key.Public()))
}

func verifyHash(pub any, hash [32]byte, sig []byte) bool {
	msg := signedMessage(hash)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			d := sha256.Sum256(msg)
			return ecdsa.VerifyASN1(k, d[:], sig)
		case elliptic.P384():
			d := sha512.Sum384(msg)
			return ecdsa.VerifyASN1(k, d[:], sig)
		}
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	}
	return false
}

// VerifySignatures checks sigs over hash against m's owners and
// threshold. Each signature must come from an owner of m and verify;
// distinct owners with valid signatures (and distinct keys) are counted,
// and there must be at least m.UpdateThreshold of them. Every refusal is
// returned, joined: *SignatureError (ErrUnknownOwner, ErrBadSignature) and
// *ThresholdError (ErrThreshold). A bad signature refuses even when the
// others would reach the threshold: it means someone signed something else.
//
// For a first manifest m is the manifest itself; for an update it is the
// predecessor (see VerifyUpdate).
func VerifySignatures(m *Manifest, hash [32]byte, sigs []Signature) error {
	var errs []error
	signed := map[string]bool{} // by key (PKIX DER), not by owner name
	for _, s := range sigs {
		o, ok := m.Owners[s.Owner]
		if !ok {
			errs = append(errs, &SignatureError{Owner: clip(s.Owner), Err: ErrUnknownOwner})
			continue
		}
		pub, der, err := ownerKey(o.PublicKey)
		if err != nil || !verifyHash(pub, hash, s.Signature) {
			errs = append(errs, &SignatureError{Owner: s.Owner, Err: ErrBadSignature})
			continue
		}
		signed[string(der)] = true
	}
	if len(signed) < m.UpdateThreshold || m.UpdateThreshold < 1 {
		errs = append(errs, &ThresholdError{Have: len(signed), Need: max(m.UpdateThreshold, 1)})
	}
	return errors.Join(errs...)
}

// VerifyInitial checks the first manifest of a name: version 1, no
// predecessor, and signed by its own owners at its own threshold (nobody
// else exists yet to authorize them).
func VerifyInitial(m *Manifest, hash [32]byte, sigs []Signature) error {
	var errs []error
	if m.Version != 1 {
		errs = append(errs, fmt.Errorf("manifest: %w: a first manifest is version 1, got %d", ErrVersion, m.Version))
	}
	if m.Predecessor != "" {
		errs = append(errs, fmt.Errorf("manifest: %w: a first manifest has no predecessor, got %s", ErrStalePredecessor, clip(m.Predecessor)))
	}
	errs = append(errs, VerifySignatures(m, hash, sigs))
	return errors.Join(errs...)
}

// CheckUpdate checks that next may follow prev, whose hash is prevHash:
// same name, version prev.Version+1, predecessor prevHash. It does not
// check signatures: an update must be signed by prev's owners at prev's
// threshold, VerifySignatures(prev, Hash(nextDoc), sigs), as VerifyUpdate
// does. The old owners authorize the new owner set — otherwise whoever
// uploads an update could name themselves owners and sign it.
func CheckUpdate(prev *Manifest, prevHash [32]byte, next *Manifest) error {
	var errs []error
	if next.Name != prev.Name {
		errs = append(errs, fmt.Errorf("manifest: %w: expected %q, got %q", ErrNameChanged, prev.Name, clip(next.Name)))
	}
	if prev.Version == ^uint64(0) || next.Version != prev.Version+1 {
		errs = append(errs, fmt.Errorf("manifest: %w: expected version %d, got %d", ErrVersion, prev.Version+1, next.Version))
	}
	if want := hex.EncodeToString(prevHash[:]); next.Predecessor != want {
		errs = append(errs, fmt.Errorf("manifest: %w: expected predecessor %s, got %s", ErrStalePredecessor, want, orNone(clipN(next.Predecessor, 80))))
	}
	return errors.Join(errs...)
}

// VerifyUpdate is CheckUpdate followed by VerifySignatures(prev, nextHash,
// sigs): the whole rule for accepting next in place of prev.
func VerifyUpdate(prev *Manifest, prevHash [32]byte, next *Manifest, nextHash [32]byte, sigs []Signature) error {
	return errors.Join(CheckUpdate(prev, prevHash, next), VerifySignatures(prev, nextHash, sigs))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// signatureFile is the on-disk form of a signature, one file per owner:
//
//	{"owner": "alice", "manifest_sha256": "<hex>", "signature": "<base64>"}
type signatureFile struct {
	Owner          string `json:"owner"`
	ManifestSHA256 string `json:"manifest_sha256"`
	Signature      string `json:"signature"`
}

// MarshalSignature encodes sig over the manifest with hash as a small JSON
// document (see ParseSignature).
func MarshalSignature(sig Signature, hash [32]byte) ([]byte, error) {
	if !identifier.MatchString(sig.Owner) {
		return nil, fmt.Errorf("manifest: %w: owner %q is not a valid name", ErrSignatureFile, clip(sig.Owner))
	}
	if len(sig.Signature) == 0 || len(sig.Signature) > maxSignatureLen {
		return nil, fmt.Errorf("manifest: %w: signature is %d bytes", ErrSignatureFile, len(sig.Signature))
	}
	b, err := json.MarshalIndent(signatureFile{
		Owner:          sig.Owner,
		ManifestSHA256: hex.EncodeToString(hash[:]),
		Signature:      base64.StdEncoding.EncodeToString(sig.Signature),
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseSignature decodes a signature file: a JSON object with exactly the
// keys owner, manifest_sha256 (64 lowercase hex digits) and signature
// (standard base64), each once. It returns the signature and the hash it
// claims to sign; the caller must compare that hash with the manifest's.
// It does not verify the signature.
func ParseSignature(b []byte) (Signature, [32]byte, error) {
	var hash [32]byte
	bad := func(format string, args ...any) (Signature, [32]byte, error) {
		return Signature{}, hash, fmt.Errorf("manifest: %w: "+format, append([]any{ErrSignatureFile}, args...)...)
	}
	if len(b) > maxSignatureFileSize {
		return bad("%d bytes, limit %d", len(b), maxSignatureFileSize)
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return bad("not a JSON object")
	}
	root, pp := parseYAML(b)
	if pp != nil {
		return bad("%s", pp.msg)
	}
	d := &decoder{lines: lines{}}
	var f signatureFile
	d.decode(root, &f)
	if len(d.problems.list) > 0 {
		p := d.problems.list[0]
		return bad("%s", Problem{Field: p.path.String(), Message: p.msg})
	}
	if !identifier.MatchString(f.Owner) {
		return bad("owner %q is not a valid name", clip(f.Owner))
	}
	if !hash256.MatchString(f.ManifestSHA256) {
		return bad("manifest_sha256 must be 64 lowercase hex digits")
	}
	hex.Decode(hash[:], []byte(f.ManifestSHA256))
	sig, err := base64.StdEncoding.Strict().DecodeString(f.Signature)
	if err != nil {
		return bad("signature is not standard base64")
	}
	if len(sig) == 0 || len(sig) > maxSignatureLen {
		return bad("signature is %d bytes, want 1 to %d", len(sig), maxSignatureLen)
	}
	return Signature{Owner: f.Owner, Signature: sig}, hash, nil
}
