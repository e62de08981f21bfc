package token

import (
	"encoding/json"
	"fmt"
	"strings"
)

// compact is a JWS compact serialization split and decoded, but not
// verified: nothing in it may be trusted until the signature over raw has
// been checked.
type compact struct {
	raw       string // exactly as received; the signature covers its first two segments
	header    header
	headerRaw []byte // decoded header JSON
	payload   []byte // decoded payload JSON, not yet parsed
	signature []byte
}

// header holds the JOSE header members cofre reads. Members that name or
// carry keys (jku, x5u, jwk, x5c) are ignored: a token never chooses the
// key it is verified with; only the relying party's JWKS does.
type header struct {
	Alg string
	Kid string
	Typ string
}

// Header members that change how a JWS is processed. cofre implements no
// JWS extension, so a token that asks for one is refused rather than
// verified under rules its issuer did not mean.
var refusedHeaderMembers = []string{
	"crit", // RFC 7515 §4.1.11: critical extensions must be understood
	"b64",  // RFC 7797: unencoded payload
	"zip",  // RFC 7516: compression (JWE only; never in a JWS)
	"enc",  // a JWE header: this is not a signed token
}

// parseCompact splits and decodes a compact JWS, checking only syntax:
// at most MaxTokenSize bytes, three segments, canonical base64url, a header
// that is a JSON object with a string "alg" and without refused members,
// and a non-empty payload. The signature may be empty, so that an
// "alg": "none" token parses and is then refused by name. Errors are
// RefusalErrors of class ErrMalformed.
func parseCompact(tok string) (*compact, error) {
	if len(tok) == 0 {
		return nil, malformedf("jws", "empty")
	}
	if len(tok) > MaxTokenSize {
		return nil, malformedf("jws", "%d bytes, limit %d", len(tok), MaxTokenSize)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, malformedf("jws", "%d segments, want 3 (compact JWS)", len(parts))
	}
	c := &compact{raw: tok}
	var err error
	if c.headerRaw, err = b64.DecodeString(parts[0]); err != nil {
		return nil, malformed("header", fmt.Errorf("not base64url: %w", err))
	}
	if c.header, err = parseHeader(c.headerRaw); err != nil {
		return nil, err
	}
	if c.payload, err = b64.DecodeString(parts[1]); err != nil {
		return nil, malformed("payload", fmt.Errorf("not base64url: %w", err))
	}
	if len(c.payload) == 0 {
		return nil, malformedf("payload", "empty")
	}
	if c.signature, err = b64.DecodeString(parts[2]); err != nil {
		return nil, malformed("signature", fmt.Errorf("not base64url: %w", err))
	}
	return c, nil
}

func parseHeader(b []byte) (header, error) {
	var h header
	o, err := parseObject(b)
	if err != nil {
		return h, malformed("header", err)
	}
	for _, m := range refusedHeaderMembers {
		if o.has(m) {
			return h, refuse(ErrMalformed, "header."+m, "absent (no JWS extensions are supported)", "present")
		}
	}
	r := &reader{o: o, path: "header."}
	h.Alg = r.str("alg", true)
	h.Kid = r.str("kid", false)
	h.Typ = r.str("typ", false)
	if len(r.errs) > 0 {
		return h, r.errs[0]
	}
	// RFC 7519 §5.1: "JWT" is recommended, compared case-insensitively.
	if r.o.has("typ") && !strings.EqualFold(h.Typ, "JWT") {
		return h, refuse(ErrMalformed, "header.typ", "JWT", h.Typ)
	}
	return h, nil
}

// decodeSegments returns the header and payload JSON without any check
// beyond base64url, for display of tokens that do not parse as cofre
// tokens.
func decodeSegments(tok string) (hdr, payload json.RawMessage, err error) {
	if len(tok) > MaxTokenSize {
		return nil, nil, malformedf("jws", "%d bytes, limit %d", len(tok), MaxTokenSize)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, malformedf("jws", "%d segments, want 3 (compact JWS)", len(parts))
	}
	if hdr, err = b64.DecodeString(parts[0]); err != nil {
		return nil, nil, malformed("header", fmt.Errorf("not base64url: %w", err))
	}
	if payload, err = b64.DecodeString(parts[1]); err != nil {
		return nil, nil, malformed("payload", fmt.Errorf("not base64url: %w", err))
	}
	return hdr, payload, nil
}
