package maa

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cofre-cc/cofre/attest"
)

// token is a compact JWS split and decoded, but not verified: nothing in it
// may be trusted until the signature over raw has been checked.
type token struct {
	// raw is the compact serialization exactly as received; the signature
	// is verified over its first two segments.
	raw []byte
	// segments are the three base64url segments of raw (header, payload,
	// signature), still encoded.
	segments [3][]byte

	header    header
	payload   object // top-level claims of the payload
	signature []byte
}

// header holds the JOSE header members MAA uses. Unknown members are
// ignored (a JOSE header may carry more), except "crit", whose presence is
// recorded so that verification can refuse extensions it does not implement.
type header struct {
	Alg  string
	Kid  string
	Jku  string
	Typ  string
	Crit bool
}

// object is a JSON object whose member values are still undecoded.
type object map[string]json.RawMessage

// b64 is base64url without padding, as RFC 7515 requires, in strict mode:
// non-zero trailing bits are refused so that every segment has exactly one
// accepted encoding.
var b64 = base64.RawURLEncoding.Strict()

// parseToken splits and decodes a compact JWS. It checks only syntax: three
// non-empty segments (the signature may be empty, so that an "alg":"none"
// token parses and is then refused by verification with ErrSignature),
// canonical base64url, and header and payload that are JSON objects without
// duplicate member names. Errors are of class attest.ErrMalformed.
func parseToken(b []byte) (*token, error) {
	if len(b) == 0 {
		return nil, attest.Malformed("maa: empty token")
	}
	if len(b) > maxTokenSize {
		return nil, attest.Malformed("maa: token is %d bytes, limit %d", len(b), maxTokenSize)
	}
	parts := bytes.Split(b, []byte("."))
	if len(parts) != 3 {
		return nil, attest.Malformed("maa: token has %d segments, want 3 (compact JWS)", len(parts))
	}
	// base64's decoders skip CR and LF even in strict mode, which would let
	// one token have many byte forms: refuse anything outside the base64url
	// alphabet first.
	for i, p := range parts {
		if j := bytes.IndexFunc(p, func(r rune) bool { return !isBase64URL(r) }); j >= 0 {
			return nil, attest.Malformed("maa: segment %d: byte %q at %d is not base64url", i, p[j], j)
		}
	}
	t := &token{raw: b}
	copy(t.segments[:], parts)
	hdr, err := decodeSegment("header", parts[0])
	if err != nil {
		return nil, err
	}
	if t.header, err = parseHeader(hdr); err != nil {
		return nil, err
	}
	pl, err := decodeSegment("payload", parts[1])
	if err != nil {
		return nil, err
	}
	if t.payload, err = parseObject(pl); err != nil {
		return nil, attest.Malformed("maa: payload: %w", err)
	}
	if len(parts[2]) > 0 {
		if t.signature, err = b64.DecodeString(string(parts[2])); err != nil {
			return nil, attest.Malformed("maa: signature: %w", err)
		}
	}
	return t, nil
}

func isBase64URL(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

func decodeSegment(name string, seg []byte) ([]byte, error) {
	if len(seg) == 0 {
		return nil, attest.Malformed("maa: empty %s", name)
	}
	out, err := b64.DecodeString(string(seg))
	if err != nil {
		return nil, attest.Malformed("maa: %s: %w", name, err)
	}
	return out, nil
}

func parseHeader(b []byte) (header, error) {
	var h header
	o, err := parseObject(b)
	if err != nil {
		return h, attest.Malformed("maa: header: %w", err)
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"alg", &h.Alg}, {"kid", &h.Kid}, {"jku", &h.Jku}, {"typ", &h.Typ}} {
		raw, ok := o[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return h, attest.Malformed("maa: header %q is not a string", f.name)
		}
	}
	if _, ok := o["alg"]; !ok {
		return h, attest.Malformed("maa: header has no \"alg\"")
	}
	_, h.Crit = o["crit"]
	return h, nil
}

// parseObject decodes one JSON object, refusing duplicate member names at
// any depth, nesting deeper than maxNesting and trailing data. Go's
// encoding/json silently keeps the last of two duplicate members; a signer
// and a verifier that disagree on which one counts could then read different
// claims from the same signed bytes, so duplicates are refused outright.
func parseObject(b []byte) (object, error) {
	if err := checkJSON(b); err != nil {
		return nil, err
	}
	var o object
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, errors.New("not a JSON object")
	}
	return o, nil
}

// frame is one open JSON object or array during checkJSON's scan.
type frame struct {
	keys      map[string]struct{} // nil for an array
	expectKey bool
}

// checkJSON scans b as a single JSON object and refuses duplicate member
// names, nesting deeper than maxNesting and anything after the object.
func checkJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []*frame
	values := 0
	valueDone := func() {
		if len(stack) == 0 {
			values++
			return
		}
		if top := stack[len(stack)-1]; top.keys != nil {
			top.expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if len(stack) == 0 && values > 0 {
			return errors.New("data after the top-level object")
		}
		if len(stack) == 0 {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return errors.New("not a JSON object")
			}
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			k, ok := tok.(string)
			if !ok {
				return fmt.Errorf("unexpected %v where a member name belongs", tok)
			}
			if _, dup := stack[n-1].keys[k]; dup {
				return fmt.Errorf("duplicate member %q", k)
			}
			stack[n-1].keys[k] = struct{}{}
			stack[n-1].expectKey = false
			continue
		}
		d, ok := tok.(json.Delim)
		if !ok {
			valueDone()
			continue
		}
		switch d {
		case '{', '[':
			if len(stack) >= maxNesting {
				return fmt.Errorf("nested deeper than %d", maxNesting)
			}
			f := &frame{}
			if d == '{' {
				f.keys = map[string]struct{}{}
				f.expectKey = true
			}
			stack = append(stack, f)
		case '}', ']':
			// '}' after a member name is caught by the decoder; ']' closes
			// the innermost array.
			stack = stack[:len(stack)-1]
			valueDone()
		}
	}
	if len(stack) != 0 || values != 1 {
		return errors.New("truncated JSON")
	}
	return nil
}
