package auditlog

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Head names a log's last line: its seq and the SHA-256 of its bytes. The
// zero Head is the head of an empty log.
type Head struct {
	Seq  uint64
	Hash [sha256.Size]byte
}

// String returns "seq:hexhash".
func (h Head) String() string { return fmt.Sprintf("%d:%x", h.Seq, h.Hash) }

type headJSON struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// MarshalJSON encodes h as {"seq":N,"hash":"<64 hex digits>"}.
func (h Head) MarshalJSON() ([]byte, error) {
	return json.Marshal(headJSON{Seq: h.Seq, Hash: hex.EncodeToString(h.Hash[:])})
}

// UnmarshalJSON decodes what MarshalJSON encodes, strictly: no unknown
// member, a lowercase hex hash of exactly 32 bytes.
func (h *Head) UnmarshalJSON(b []byte) error {
	var j headJSON
	if err := decodeStrict(b, &j); err != nil {
		return fmt.Errorf("auditlog: head: %w", err)
	}
	hash, err := parseHash(j.Hash)
	if err != nil {
		return fmt.Errorf("auditlog: head: %w", err)
	}
	*h = Head{Seq: j.Seq, Hash: hash}
	return nil
}

func parseHash(s string) ([sha256.Size]byte, error) {
	var out [sha256.Size]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != s {
		return out, errors.New("hash: not 64 lowercase hex digits")
	}
	copy(out[:], b)
	return out, nil
}

// SignedHead is a head signed by the log's key at a time: what a
// coordinator serves so that an auditor holding an older SignedHead can
// prove a later log was not cut short or rewritten (Verify with
// VerifyOptions.Head).
type SignedHead struct {
	Head Head
	// Time is when the head was signed, in UTC.
	Time time.Time
	// KeyID is the signing key's KeyID.
	KeyID string
	// Signature is the signature (Ed25519, or ECDSA P-256 as r ‖ s) of
	// SHA-256("cofre auditlog head v1\x00" ‖ seq (8 bytes, big-endian) ‖
	// hash ‖ time (RFC 3339 with nanoseconds, UTC)).
	Signature []byte
}

// SignHead signs h at now with s (Ed25519 or ECDSA P-256).
func SignHead(s crypto.Signer, h Head, now time.Time) (*SignedHead, error) {
	kid, err := KeyID(s.Public())
	if err != nil {
		return nil, fmt.Errorf("auditlog: sign head: %w", err)
	}
	sh := &SignedHead{Head: h, Time: now.UTC(), KeyID: kid}
	if sh.Signature, err = sign(s, sh.digest()); err != nil {
		return nil, fmt.Errorf("auditlog: sign head: %w", err)
	}
	return sh, nil
}

func (sh *SignedHead) digest() []byte {
	msg := binary.BigEndian.AppendUint64(nil, sh.Head.Seq)
	msg = append(msg, sh.Head.Hash[:]...)
	msg = sh.Time.UTC().AppendFormat(msg, time.RFC3339Nano)
	return digest(headDomain, msg)
}

// Verify checks sh's signature under the key among keys that KeyID names.
// It returns an error wrapping ErrUnknownKey or ErrSignature. It does not
// judge Time: whether the head is recent enough is the caller's call.
func (sh *SignedHead) Verify(keys []crypto.PublicKey) error {
	kr, err := newKeyring(keys)
	if err != nil {
		return err
	}
	pub, ok := kr[sh.KeyID]
	if !ok {
		return fmt.Errorf("auditlog: signed head: kid %.64q: %w", sh.KeyID, ErrUnknownKey)
	}
	if !verifySig(pub, sh.digest(), sh.Signature) {
		return fmt.Errorf("auditlog: signed head: %w", ErrSignature)
	}
	return nil
}

type signedHeadJSON struct {
	Seq   uint64    `json:"seq"`
	Hash  string    `json:"hash"`
	Time  time.Time `json:"time"`
	KeyID string    `json:"kid"`
	Sig   string    `json:"sig"`
}

// MarshalJSON encodes sh as
// {"seq":N,"hash":"<hex>","time":"<RFC 3339>","kid":"…","sig":"<base64url>"}.
func (sh SignedHead) MarshalJSON() ([]byte, error) {
	return json.Marshal(signedHeadJSON{
		Seq: sh.Head.Seq, Hash: hex.EncodeToString(sh.Head.Hash[:]),
		Time: sh.Time.UTC(), KeyID: sh.KeyID, Sig: b64(sh.Signature),
	})
}

// UnmarshalJSON decodes what MarshalJSON encodes, strictly (no unknown
// member, canonical hex and base64url). It does not verify the signature.
func (sh *SignedHead) UnmarshalJSON(b []byte) error {
	var j signedHeadJSON
	if err := decodeStrict(b, &j); err != nil {
		return fmt.Errorf("auditlog: signed head: %w", err)
	}
	hash, err := parseHash(j.Hash)
	if err != nil {
		return fmt.Errorf("auditlog: signed head: %w", err)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(j.Sig)
	if err != nil || len(sig) == 0 {
		return errors.New("auditlog: signed head: sig: not base64url")
	}
	*sh = SignedHead{Head: Head{Seq: j.Seq, Hash: hash}, Time: j.Time.UTC(), KeyID: j.KeyID, Signature: sig}
	return nil
}

// decodeStrict decodes one JSON value with no unknown member and nothing
// after it.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}
