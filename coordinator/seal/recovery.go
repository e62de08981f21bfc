package seal

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/hpke"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/cofre-cc/cofre/internal/shamir"
	"github.com/cofre-cc/cofre/internal/strictdecode"
)

// RecoveryRecord lets Threshold of its holders restore a secret (a
// namespace key) without the TEE that normally unseals it. It is public:
// it holds only ciphertexts for the holders, commitments to their shares
// and a check value, and is meant to be stored in clear and encoded with
// encoding/json. Decode untrusted bytes with ParseRecoveryRecord.
//
// Construction, for a secret S, info I and holder h with share s_h (the
// Shamir share's y values ‖ its x coordinate; with Threshold 1, S ‖ x):
//
//	Ciphertext_h = HPKE-Base(DHKEM(h's curve), HKDF-SHA256, AES-256-GCM,
//	               info = "cofre-recovery-v1" ‖ lp(I) ‖ lp(h), s_h)
//	Commitment_h = SHA-256("cofre-recovery-share-v1" ‖ lp(I) ‖ lp(h) ‖ s_h)
//	Check        = HMAC-SHA256(key = S, "cofre-recovery-check-v1" ‖ lp(I))
//	KeyID_h      = SHA-256(KEM id, 2 bytes big-endian ‖ h's public key bytes)
//
// where lp(x) is x preceded by its length as 4 bytes big-endian. Binding
// I and h into every value keeps a share of one manifest, or of one holder,
// from being accepted for another.
type RecoveryRecord struct {
	// Version is 1.
	Version int `json:"version"`
	// Info is what the secret belongs to, for example a manifest name.
	Info string `json:"info"`
	// Threshold is how many holders must take part (1..len(Shares)).
	Threshold int `json:"threshold"`
	// Check verifies a recombined secret (32 bytes).
	Check []byte `json:"check"`
	// Shares maps each holder's name to their encrypted share.
	Shares map[string]*HolderShare `json:"shares"`
}

// Holders returns the holders' names, sorted.
func (r *RecoveryRecord) Holders() []string {
	return slices.Sorted(maps.Keys(r.Shares))
}

// HolderShare is one holder's part of a RecoveryRecord.
type HolderShare struct {
	// KEM is the HPKE KEM identifier: 0x0010 P-256, 0x0011 P-384,
	// 0x0020 X25519.
	KEM uint16 `json:"kem"`
	// KeyID identifies the recovery public key the share is encrypted to,
	// so a holder who brings the wrong key is told so (32 bytes).
	KeyID []byte `json:"key_id"`
	// Ciphertext is the HPKE encapsulated key followed by the encrypted
	// share.
	Ciphertext []byte `json:"ciphertext"`
	// Commitment is the share's SHA-256 commitment (32 bytes).
	Commitment []byte `json:"commitment"`
}

const (
	recoveryVersion    = 1
	recoveryHPKEInfo   = "cofre-recovery-v1"
	recoveryShareLabel = "cofre-recovery-share-v1"
	recoveryCheckLabel = "cofre-recovery-check-v1"
	aeadTagSize        = 16
)

// kemEncSize is the encapsulated key's size for each KEM the records use
// (RFC 9180 section 7.1: Nenc).
var kemEncSize = map[uint16]int{
	0x0010: 65, // DHKEM(P-256, HKDF-SHA256)
	0x0011: 97, // DHKEM(P-384, HKDF-SHA384)
	0x0020: 32, // DHKEM(X25519, HKDF-SHA256)
}

// NewRecoveryRecord splits secret k-of-len(holders) and encrypts each
// holder's share to their recovery public key (P-256, P-384 or X25519). It
// needs MinRecoverySecret..MaxRecoverySecret bytes of secret, 1 <= k <=
// len(holders) <= MaxRecoveryHolders, and holder names and info within
// their limits. With k = 1 every holder alone can recover the secret: each
// share is the secret itself. Shares are assigned to holders in name
// order. NewRecoveryRecord does not modify its arguments.
func NewRecoveryRecord(secret []byte, holders map[string]*ecdh.PublicKey, k int, info string) (*RecoveryRecord, error) {
	if len(secret) < MinRecoverySecret || len(secret) > MaxRecoverySecret {
		return nil, fmt.Errorf("seal: recovery secret of %d bytes, want %d..%d", len(secret), MinRecoverySecret, MaxRecoverySecret)
	}
	if len(holders) == 0 || len(holders) > MaxRecoveryHolders {
		return nil, fmt.Errorf("seal: %d recovery holders, want 1..%d", len(holders), MaxRecoveryHolders)
	}
	if k < 1 || k > len(holders) {
		return nil, fmt.Errorf("seal: recovery threshold %d, want 1..%d", k, len(holders))
	}
	if err := checkInfo(info); err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(holders))
	for _, name := range names {
		if err := checkHolderName(name); err != nil {
			return nil, err
		}
		if holders[name] == nil {
			return nil, &ShareError{Holder: name, Err: fmt.Errorf("%w: no public key", ErrUnsupportedKey)}
		}
	}

	var shares [][]byte
	if k == 1 {
		// Shamir needs k >= 2; a 1-of-n "share" is the secret itself,
		// with an x coordinate so that every share has one format.
		for i := range names {
			shares = append(shares, append(bytes.Clone(secret), byte(i+1)))
		}
	} else {
		var err error
		if shares, err = shamir.Split(secret, len(names), k); err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
	}
	defer func() {
		for _, s := range shares {
			clear(s)
		}
	}()

	// Two holders with one key would let one person count twice.
	seenKey := map[string]string{}
	for _, name := range names {
		id := string(holders[name].Bytes())
		if other, dup := seenKey[id]; dup {
			return nil, &ShareError{Holder: name, Err: fmt.Errorf("%w: same key as holder %q", ErrUnsupportedKey, other)}
		}
		seenKey[id] = name
	}

	r := &RecoveryRecord{
		Version:   recoveryVersion,
		Info:      info,
		Threshold: k,
		Check:     checkValue(secret, info),
		Shares:    make(map[string]*HolderShare, len(names)),
	}
	for i, name := range names {
		pub := holders[name]
		kemID, err := kemFor(pub.Curve())
		if err != nil {
			return nil, &ShareError{Holder: name, Err: err}
		}
		hpub, err := hpke.NewDHKEMPublicKey(pub)
		if err != nil {
			return nil, &ShareError{Holder: name, Err: fmt.Errorf("%w: %w", ErrUnsupportedKey, err)}
		}
		ct, err := hpke.Seal(hpub, hpke.HKDFSHA256(), hpke.AES256GCM(), hpkeInfo(info, name), shares[i])
		if err != nil {
			return nil, &ShareError{Holder: name, Err: fmt.Errorf("encrypt share: %w", err)}
		}
		r.Shares[name] = &HolderShare{
			KEM:        kemID,
			KeyID:      keyID(kemID, pub),
			Ciphertext: ct,
			Commitment: commitment(info, name, shares[i]),
		}
	}
	return r, nil
}

// OpenShare decrypts holder's share with their recovery private key and
// checks it against its commitment. This is what `cofre recover` runs on
// the holder's machine; the share it returns goes to the coordinator.
// Errors are *ShareError wrapping ErrUnknownHolder, ErrWrongRecoveryKey,
// ErrUnseal (the ciphertext was altered) or ErrShareMismatch.
func (r *RecoveryRecord) OpenShare(holder string, priv *ecdh.PrivateKey) ([]byte, error) {
	h, ok := r.Shares[holder]
	if !ok || h == nil {
		return nil, &ShareError{Holder: holder, Err: ErrUnknownHolder}
	}
	if priv == nil {
		return nil, &ShareError{Holder: holder, Err: fmt.Errorf("%w: no private key", ErrWrongRecoveryKey)}
	}
	kemID, err := kemFor(priv.Curve())
	if err != nil {
		return nil, &ShareError{Holder: holder, Err: err}
	}
	if kemID != h.KEM || !bytes.Equal(keyID(kemID, priv.PublicKey()), h.KeyID) {
		return nil, &ShareError{Holder: holder, Err: ErrWrongRecoveryKey}
	}
	hpriv, err := hpke.NewDHKEMPrivateKey(priv)
	if err != nil {
		return nil, &ShareError{Holder: holder, Err: fmt.Errorf("%w: %w", ErrUnsupportedKey, err)}
	}
	share, err := hpke.Open(hpriv, hpke.HKDFSHA256(), hpke.AES256GCM(), hpkeInfo(r.Info, holder), h.Ciphertext)
	if err != nil {
		return nil, &ShareError{Holder: holder, Err: ErrUnseal}
	}
	if err := r.CheckShare(holder, share); err != nil {
		clear(share)
		return nil, err
	}
	return share, nil
}

// CheckShare reports whether share is holder's share of this record: an
// error is a *ShareError wrapping ErrUnknownHolder or ErrShareMismatch.
// The coordinator runs it on each share as it arrives, so a bad share is
// refused to its sender, never kept.
func (r *RecoveryRecord) CheckShare(holder string, share []byte) error {
	h, ok := r.Shares[holder]
	if !ok || h == nil {
		return &ShareError{Holder: holder, Err: ErrUnknownHolder}
	}
	// The commitment is a hash of a high-entropy value: comparing in
	// constant time is not needed for secrecy, but costs nothing.
	if !hmac.Equal(commitment(r.Info, holder, share), h.Commitment) {
		return &ShareError{Holder: holder, Err: ErrShareMismatch}
	}
	return nil
}

// Combine recovers the secret from the shares of at least Threshold
// holders (by holder name). Every share is checked against its commitment
// first, and a refused one fails the whole call, naming its holder (a
// *ShareError, several joined with errors.Join); then the result is
// checked against the record's check value (ErrCheckFailed). Fewer shares
// than the threshold give ErrTooFewShares. The caller clears the result
// when done.
func (r *RecoveryRecord) Combine(shares map[string][]byte) ([]byte, error) {
	names := slices.Sorted(maps.Keys(shares))
	var errs []error
	for _, name := range names {
		if err := r.CheckShare(name, shares[name]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if r.Threshold < 1 || len(shares) < r.Threshold {
		return nil, fmt.Errorf("%w: %d of %d needed", ErrTooFewShares, len(shares), r.Threshold)
	}

	var secret []byte
	if r.Threshold == 1 {
		s := shares[names[0]]
		if len(s) < 2 {
			return nil, fmt.Errorf("%w: share of %d bytes", ErrMalformed, len(s))
		}
		secret = bytes.Clone(s[:len(s)-1])
	} else {
		vals := make([][]byte, 0, len(names))
		for _, name := range names {
			vals = append(vals, shares[name])
		}
		var err error
		if secret, err = shamir.Combine(vals); err != nil {
			// Committed shares of one record cannot collide in x unless
			// the record itself is forged.
			return nil, fmt.Errorf("%w: %w", ErrCheckFailed, err)
		}
	}
	if !hmac.Equal(checkValue(secret, r.Info), r.Check) {
		clear(secret)
		return nil, ErrCheckFailed
	}
	return secret, nil
}

// ParseRecoveryRecord decodes a record (JSON, strictly: unknown or
// duplicate fields are errors) and checks its shape: version, threshold,
// field lengths, KEM identifiers and ciphertext sizes. It cannot check that
// the record is genuine; see the package doc. Errors wrap ErrMalformed.
func ParseRecoveryRecord(b []byte) (*RecoveryRecord, error) {
	if len(b) > maxRecoveryRecord {
		return nil, fmt.Errorf("%w: recovery record of %d bytes, limit %d", ErrMalformed, len(b), maxRecoveryRecord)
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		// strictdecode also reads YAML; a record is machine-written JSON.
		return nil, fmt.Errorf("%w: recovery record is not a JSON object", ErrMalformed)
	}
	var r RecoveryRecord
	if err := strictdecode.Decode(b, &r); err != nil {
		return nil, fmt.Errorf("%w: recovery record: %w", ErrMalformed, err)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *RecoveryRecord) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: recovery record: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	if r.Version != recoveryVersion {
		return bad("version %d, want %d", r.Version, recoveryVersion)
	}
	if err := checkInfo(r.Info); err != nil {
		return bad("%v", err)
	}
	if len(r.Shares) == 0 || len(r.Shares) > MaxRecoveryHolders {
		return bad("%d holders, want 1..%d", len(r.Shares), MaxRecoveryHolders)
	}
	if r.Threshold < 1 || r.Threshold > len(r.Shares) {
		return bad("threshold %d, want 1..%d", r.Threshold, len(r.Shares))
	}
	if len(r.Check) != sha256.Size {
		return bad("check value of %d bytes, want %d", len(r.Check), sha256.Size)
	}
	shareLen := -1
	for _, name := range slices.Sorted(maps.Keys(r.Shares)) {
		h := r.Shares[name]
		if err := checkHolderName(name); err != nil {
			return bad("%v", err)
		}
		if h == nil {
			return bad("holder %q is null", name)
		}
		enc, ok := kemEncSize[h.KEM]
		if !ok {
			return bad("holder %q: KEM %#04x, want P-256, P-384 or X25519", name, h.KEM)
		}
		if len(h.KeyID) != sha256.Size || len(h.Commitment) != sha256.Size {
			return bad("holder %q: key id or commitment is not %d bytes", name, sha256.Size)
		}
		n := len(h.Ciphertext) - enc - aeadTagSize
		if n < MinRecoverySecret+1 || n > MaxRecoverySecret+1 {
			return bad("holder %q: ciphertext of %d bytes holds no share of %d..%d bytes", name, len(h.Ciphertext), MinRecoverySecret+1, MaxRecoverySecret+1)
		}
		if shareLen >= 0 && n != shareLen {
			return bad("holder %q: share of %d bytes, others have %d", name, n, shareLen)
		}
		shareLen = n
	}
	return nil
}

func checkInfo(info string) error {
	if len(info) > MaxRecoveryInfoLen || !utf8.ValidString(info) {
		return fmt.Errorf("seal: recovery info must be valid UTF-8 of at most %d bytes", MaxRecoveryInfoLen)
	}
	return nil
}

// checkHolderName accepts 1..MaxHolderNameLen bytes of printable UTF-8:
// names end up in errors, logs and terminal prompts.
func checkHolderName(name string) error {
	if name == "" || len(name) > MaxHolderNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("seal: holder name must be 1..%d bytes of UTF-8", MaxHolderNameLen)
	}
	for _, c := range name {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("seal: holder name %q has a non-printable character", name)
		}
	}
	return nil
}

func kemFor(c ecdh.Curve) (uint16, error) {
	switch c {
	case ecdh.P256():
		return 0x0010, nil
	case ecdh.P384():
		return 0x0011, nil
	case ecdh.X25519():
		return 0x0020, nil
	}
	return 0, fmt.Errorf("%w: curve %v", ErrUnsupportedKey, c)
}

// lp appends x preceded by its length (4 bytes big-endian) to b.
func lp(b []byte, x string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(x)))
	return append(b, x...)
}

func hpkeInfo(info, holder string) []byte {
	return lp(lp([]byte(recoveryHPKEInfo), info), holder)
}

func commitment(info, holder string, share []byte) []byte {
	h := sha256.New()
	h.Write(lp(lp([]byte(recoveryShareLabel), info), holder))
	h.Write(share)
	return h.Sum(nil)
}

func checkValue(secret []byte, info string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(lp([]byte(recoveryCheckLabel), info))
	return m.Sum(nil)
}

func keyID(kemID uint16, pub *ecdh.PublicKey) []byte {
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint16(nil, kemID))
	h.Write(pub.Bytes())
	return h.Sum(nil)
}

// PEM block types of recovery keys.
const (
	pemPublicKey   = "PUBLIC KEY"
	pemPrivateKey  = "PRIVATE KEY"
	pemECPrivation = "EC PRIVATE KEY"
)

// ParseRecoveryPublicKey decodes one PEM "PUBLIC KEY" block (PKIX) holding
// a P-256, P-384 or X25519 key, as manifests list them. Errors wrap
// ErrMalformed or ErrUnsupportedKey.
func ParseRecoveryPublicKey(b []byte) (*ecdh.PublicKey, error) {
	blk, err := onePEM(b, pemPublicKey)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: recovery public key: %w", ErrMalformed, err)
	}
	var pub *ecdh.PublicKey
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if pub, err = k.ECDH(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
		}
	case *ecdh.PublicKey:
		pub = k
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
	}
	if _, err := kemFor(pub.Curve()); err != nil {
		return nil, err
	}
	return pub, nil
}

// ParseRecoveryPublicKeys parses a manifest's recovery keys (PEM by
// holder name) for NewRecoveryRecord. An error is a *ShareError naming the
// first holder, in name order, whose key is refused.
func ParseRecoveryPublicKeys(pems map[string]string) (map[string]*ecdh.PublicKey, error) {
	out := make(map[string]*ecdh.PublicKey, len(pems))
	for _, name := range slices.Sorted(maps.Keys(pems)) {
		pub, err := ParseRecoveryPublicKey([]byte(pems[name]))
		if err != nil {
			return nil, &ShareError{Holder: name, Err: err}
		}
		out[name] = pub
	}
	return out, nil
}

// ParseRecoveryPrivateKey decodes one PEM "PRIVATE KEY" (PKCS #8) or
// "EC PRIVATE KEY" (SEC 1) block holding a P-256, P-384 or X25519 key.
// Encrypted PEM is refused. Errors wrap ErrMalformed or ErrUnsupportedKey
// and never contain key material.
func ParseRecoveryPrivateKey(b []byte) (*ecdh.PrivateKey, error) {
	blk, err := onePEM(b, pemPrivateKey, pemECPrivation)
	if err != nil {
		return nil, err
	}
	var k any
	if blk.Type == pemECPrivation {
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	} else {
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: recovery private key does not parse", ErrMalformed)
	}
	var priv *ecdh.PrivateKey
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if priv, err = k.ECDH(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
		}
	case *ecdh.PrivateKey:
		priv = k
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
	}
	if _, err := kemFor(priv.Curve()); err != nil {
		return nil, err
	}
	return priv, nil
}

// MarshalRecoveryPublicKey encodes pub as a PEM "PUBLIC KEY" block, the
// form manifests list and ParseRecoveryPublicKey reads.
func MarshalRecoveryPublicKey(pub *ecdh.PublicKey) ([]byte, error) {
	if _, err := kemFor(pub.Curve()); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("seal: marshal recovery public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// MarshalRecoveryPrivateKey encodes priv as a PEM "PRIVATE KEY" (PKCS #8)
// block, the form ParseRecoveryPrivateKey reads.
func MarshalRecoveryPrivateKey(priv *ecdh.PrivateKey) ([]byte, error) {
	if _, err := kemFor(priv.Curve()); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("seal: marshal recovery private key: %w", err)
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// onePEM decodes exactly one PEM block of one of types, with no headers
// (which would include legacy PEM encryption) and nothing but whitespace
// after it.
func onePEM(b []byte, types ...string) (*pem.Block, error) {
	blk, rest := pem.Decode(b)
	if blk == nil || !slices.Contains(types, blk.Type) || len(blk.Headers) != 0 || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: want one PEM block of type %q", ErrMalformed, types)
	}
	return blk, nil
}
