package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// b64 is base64url without padding (RFC 7515 §2) in strict mode: non-zero
// trailing bits are refused, so each segment and byte-string claim has
// exactly one accepted encoding.
var b64 = base64.RawURLEncoding.Strict()

// checkJSON checks that b is exactly one JSON object of valid UTF-8,
// nested at most maxJSONDepth deep, in which no object has two member names
// that are equal or equal up to case. JSON parsers disagree on duplicates
// (first wins, last wins, error) and Go's encoding/json matches names
// case-insensitively; a token that means one thing to this verifier and
// another to a browser's would let an issuer bug become a bypass, so such
// input is refused outright. Invalid UTF-8 is refused because decoders
// replace it, which can make two distinct names equal.
func checkJSON(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("not valid UTF-8")
	}
	if !json.Valid(b) {
		return errors.New("not valid JSON")
	}
	s := &jsonScanner{b: b}
	s.space()
	if s.i >= len(b) || b[s.i] != '{' {
		return errors.New("not a JSON object")
	}
	if err := s.value(0); err != nil {
		return err
	}
	s.space()
	if s.i != len(b) {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// jsonScanner walks JSON that json.Valid has accepted, so it only has to
// tokenize correctly, not report syntax errors precisely.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) expect(c byte) error {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != c {
		return fmt.Errorf("expected %q at offset %d", c, s.i)
	}
	s.i++
	return nil
}

// value scans one value; depth counts the objects and arrays around it.
func (s *jsonScanner) value(depth int) error {
	s.space()
	if s.i >= len(s.b) {
		return io.ErrUnexpectedEOF
	}
	switch s.b[s.i] {
	case '{':
		if depth+1 > maxJSONDepth {
			return fmt.Errorf("JSON nested deeper than %d", maxJSONDepth)
		}
		s.i++
		seen := map[string]string{}
		s.space()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return nil
		}
		for {
			s.space()
			name, err := s.str()
			if err != nil {
				return err
			}
			// encoding/json folds ASCII case and the Kelvin and long-s
			// signs; upper- then lower-casing covers them.
			folded := strings.ToLower(strings.ToUpper(name))
			if prev, dup := seen[folded]; dup {
				if prev == name {
					return fmt.Errorf("duplicate member %q", clip(name))
				}
				return fmt.Errorf("members %q and %q differ only in case", clip(prev), clip(name))
			}
			seen[folded] = name
			if err := s.expect(':'); err != nil {
				return err
			}
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.space()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
				continue
			}
			return s.expect('}')
		}
	case '[':
		if depth+1 > maxJSONDepth {
			return fmt.Errorf("JSON nested deeper than %d", maxJSONDepth)
		}
		s.i++
		s.space()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.space()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
				continue
			}
			return s.expect(']')
		}
	case '"':
		_, err := s.str()
		return err
	default: // number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return nil
			}
			s.i++
		}
		return nil
	}
}

// str scans a string and returns its decoded value.
func (s *jsonScanner) str() (string, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", fmt.Errorf("expected a string at offset %d", s.i)
	}
	start, escaped := s.i, false
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			escaped = true
			s.i++ // skip the escaped byte (a \uXXXX's digits are plain bytes)
		case '"':
			s.i++
			raw := s.b[start:s.i]
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return "", err
			}
			return v, nil
		}
	}
	return "", io.ErrUnexpectedEOF
}

// object is a JSON object whose member values are still undecoded. Member
// names are matched exactly (checkJSON has refused case variants).
type object map[string]json.RawMessage

func parseObject(b []byte) (object, error) {
	if err := checkJSON(b); err != nil {
		return nil, err
	}
	var o object
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, err
	}
	return o, nil
}

// has reports whether the member is present (null counts as present).
func (o object) has(name string) bool {
	_, ok := o[name]
	return ok
}

// decodeStrict decodes b into v, refusing unknown fields.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
