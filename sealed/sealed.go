package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// MediaType is the Content-Type of a sealed request or response body.
const MediaType = "application/vnd.cofre.sealed-v1"

// Wire constants (docs/sealed.md).
const (
	hdrSize = 6 // kem_id(2) ‖ kdf_id(2) ‖ aead_id(2), big-endian

	nk = 32 // AES-256-GCM key size, RFC 9180 §7.3
	nn = 12 // AES-256-GCM nonce size
	nt = 16 // AES-256-GCM tag size

	// responseNonceSize is max(Nn, Nk), as in RFC 9458 §4.4: a fresh salt
	// as long as the key, so each response gets its own AEAD key.
	responseNonceSize = nk

	requestLabel  = "cofre sealed request v1"
	responseLabel = "cofre sealed response v1"
)

var (
	kdf  = hpke.HKDFSHA256()
	aead = hpke.AES256GCM()
)

// header returns hdr for kem.
func header(kem KEM) []byte {
	h := make([]byte, 0, hdrSize)
	h = binary.BigEndian.AppendUint16(h, uint16(kem))
	h = binary.BigEndian.AppendUint16(h, kdfID)
	return binary.BigEndian.AppendUint16(h, aeadID)
}

// info returns the HPKE info: label ‖ 0x00 ‖ hdr ‖ keyID (32 raw bytes),
// which binds the message to the suite and to the recipient's key.
func info(hdr []byte, keyID [sha256.Size]byte) []byte {
	b := make([]byte, 0, len(requestLabel)+1+len(hdr)+len(keyID))
	b = append(b, requestLabel...)
	b = append(b, 0)
	b = append(b, hdr...)
	return append(b, keyID[:]...)
}

func checkContext(context string) error {
	if len(context) > maxContextSize {
		return fmt.Errorf("%w: context of %d bytes (limit %d)", ErrTooLarge, len(context), maxContextSize)
	}
	return nil
}

// ResponseOpener opens the response to one sealed request. Only the
// sender of that request holds it.
type ResponseOpener struct {
	secret  []byte // HPKE export under responseLabel
	enc     []byte
	context string
}

// ResponseSealer seals the response to one opened request.
type ResponseSealer struct {
	secret  []byte
	enc     []byte
	context string
}

// SealRequest seals plaintext to pub, bound to context (the HTTP method and
// path the body is sent to, "POST /v2/models/chest/infer"). It returns the
// body to send and the opener for the response.
func SealRequest(pub *PublicKey, context string, plaintext []byte) ([]byte, *ResponseOpener, error) {
	prefix, ct, o, err := SealRequestParts(pub, context, plaintext)
	if err != nil {
		return nil, nil, err
	}
	return append(prefix, ct...), o, nil
}

// SealRequestParts is SealRequest with the body in two parts, prefix ‖ ct,
// for a sender that writes them in turn (io.MultiReader) instead of copying
// a large ciphertext once more.
func SealRequestParts(pub *PublicKey, context string, plaintext []byte) (prefix, ct []byte, _ *ResponseOpener, _ error) {
	if err := checkContext(context); err != nil {
		return nil, nil, nil, err
	}
	if len(plaintext) > MaxBodySize-hdrSize-pub.kem.encSize()-nt {
		return nil, nil, nil, fmt.Errorf("%w: plaintext of %d bytes (body limit %d)", ErrTooLarge, len(plaintext), MaxBodySize)
	}
	hdr := header(pub.kem)
	enc, s, err := hpke.NewSender(pub.hpke, kdf, aead, info(hdr, pub.keyID))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sealed: seal request: %w", err)
	}
	ct, err = s.Seal([]byte(context), plaintext)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sealed: seal request: %w", err)
	}
	secret, err := s.Export(responseLabel, nk)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sealed: seal request: %w", err)
	}
	// Room for ct too: SealRequest appends it without another allocation.
	prefix = make([]byte, 0, len(hdr)+len(enc)+len(ct))
	prefix = append(append(prefix, hdr...), enc...)
	return prefix, ct, &ResponseOpener{secret: secret, enc: enc, context: context}, nil
}

// OpenRequest opens a sealed request body with priv, checking that it was
// sealed for context. It returns the plaintext and the sealer for the
// response. A body that does not authenticate gives ErrOpen, whatever the
// reason; an unsupported suite ErrSuite; a short body ErrMalformed.
func OpenRequest(priv *PrivateKey, context string, body []byte) ([]byte, *ResponseSealer, error) {
	if err := checkContext(context); err != nil {
		return nil, nil, err
	}
	if len(body) > MaxBodySize {
		return nil, nil, fmt.Errorf("%w: body of %d bytes (limit %d)", ErrTooLarge, len(body), MaxBodySize)
	}
	if len(body) < hdrSize {
		return nil, nil, fmt.Errorf("%w: body of %d bytes is shorter than the header", ErrMalformed, len(body))
	}
	kem := KEM(binary.BigEndian.Uint16(body[0:2]))
	gotKDF := binary.BigEndian.Uint16(body[2:4])
	gotAEAD := binary.BigEndian.Uint16(body[4:6])
	// The suite is checked against the allowlist before anything else, so
	// a sender cannot make the service run an algorithm it did not choose.
	if _, err := kem.curve(); err != nil {
		return nil, nil, err
	}
	if gotKDF != kdfID || gotAEAD != aeadID {
		return nil, nil, fmt.Errorf("%w: kdf 0x%04x aead 0x%04x (want 0x0001 and 0x0002)", ErrSuite, gotKDF, gotAEAD)
	}
	if kem != priv.pub.kem {
		return nil, nil, fmt.Errorf("%w: kem 0x%04x but the service key is 0x%04x", ErrSuite, uint16(kem), uint16(priv.pub.kem))
	}
	n := kem.encSize()
	if len(body) < hdrSize+n+nt {
		return nil, nil, fmt.Errorf("%w: body of %d bytes is shorter than header, encapsulated key and tag (%d)", ErrMalformed, len(body), hdrSize+n+nt)
	}
	hdr, enc, ct := body[:hdrSize], body[hdrSize:hdrSize+n], body[hdrSize+n:]
	// From here on every failure is ErrOpen with no detail: an invalid
	// encapsulated key (off-curve point, low-order X25519 point) and a bad
	// tag look the same to the sender.
	r, err := hpke.NewRecipient(enc, priv.hpke, kdf, aead, info(hdr, priv.pub.keyID))
	if err != nil {
		return nil, nil, ErrOpen
	}
	pt, err := r.Open([]byte(context), ct)
	if err != nil {
		return nil, nil, ErrOpen
	}
	secret, err := r.Export(responseLabel, nk)
	if err != nil {
		return nil, nil, ErrOpen
	}
	return pt, &ResponseSealer{secret: secret, enc: append([]byte(nil), enc...), context: context}, nil
}

// responseAEAD derives the response AEAD and nonce from the request's
// exported secret and the response nonce (RFC 9458 §4.4):
// prk = HKDF-Extract(salt = enc ‖ response_nonce, secret),
// key = HKDF-Expand(prk, "key", Nk), nonce = HKDF-Expand(prk, "nonce", Nn).
func responseAEAD(secret, enc, responseNonce []byte) (cipher.AEAD, []byte, error) {
	salt := make([]byte, 0, len(enc)+len(responseNonce))
	salt = append(append(salt, enc...), responseNonce...)
	prk, err := hkdf.Extract(sha256.New, secret, salt)
	if err != nil {
		return nil, nil, err
	}
	key, err := hkdf.Expand(sha256.New, prk, "key", nk)
	if err != nil {
		return nil, nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "nonce", nn)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, err
	}
	return a, nonce, nil
}

// Seal seals the response: response_nonce ‖ AES-256-GCM ciphertext, with
// the request's context as additional data. Each call draws a fresh
// response nonce, so each call uses its own key.
func (s *ResponseSealer) Seal(response []byte) ([]byte, error) {
	if len(response) > MaxBodySize-responseNonceSize-nt {
		return nil, fmt.Errorf("%w: response of %d bytes (body limit %d)", ErrTooLarge, len(response), MaxBodySize)
	}
	responseNonce := make([]byte, responseNonceSize)
	rand.Read(responseNonce) // never fails (crypto/rand, Go 1.24+)
	return s.seal(responseNonce, response)
}

// seal is Seal with the response nonce passed in, for known-answer tests.
func (s *ResponseSealer) seal(responseNonce, response []byte) ([]byte, error) {
	if len(s.secret) != nk {
		// A zero ResponseSealer would derive its key from nothing.
		return nil, errors.New("sealed: ResponseSealer not made by OpenRequest")
	}
	a, nonce, err := responseAEAD(s.secret, s.enc, responseNonce)
	if err != nil {
		return nil, fmt.Errorf("sealed: seal response: %w", err)
	}
	out := make([]byte, 0, len(responseNonce)+len(response)+nt)
	out = append(out, responseNonce...)
	return a.Seal(out, nonce, response, []byte(s.context)), nil
}

// Open opens the response to the request this opener came from. A
// response sealed for any other request, or tampered with, gives ErrOpen.
func (o *ResponseOpener) Open(body []byte) ([]byte, error) {
	if len(body) > MaxBodySize {
		return nil, fmt.Errorf("%w: body of %d bytes (limit %d)", ErrTooLarge, len(body), MaxBodySize)
	}
	if len(o.secret) != nk {
		return nil, errors.New("sealed: ResponseOpener not made by SealRequest")
	}
	if len(body) < responseNonceSize+nt {
		return nil, fmt.Errorf("%w: response of %d bytes is shorter than nonce and tag (%d)", ErrMalformed, len(body), responseNonceSize+nt)
	}
	a, nonce, err := responseAEAD(o.secret, o.enc, body[:responseNonceSize])
	if err != nil {
		return nil, ErrOpen
	}
	pt, err := a.Open(nil, nonce, body[responseNonceSize:], []byte(o.context))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
