package auditlog

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// VerifyOptions says what Verify checks beyond the chain.
type VerifyOptions struct {
	// PublicKeys are the keys lines may be signed with (Ed25519 or ECDSA
	// P-256), matched by sig_kid. A signed line naming another key is
	// refused (ErrUnknownKey). Or nil: signatures are not checked (the
	// chain still covers their bytes).
	PublicKeys []crypto.PublicKey
	// RequireSignatures refuses unsigned lines (ErrUnsigned). It needs
	// PublicKeys.
	RequireSignatures bool
	// Head, if non-nil, is a head kept elsewhere (a sealed store, a
	// SignedHead): the log must reach it (else ErrTruncated) and its line
	// Head.Seq must hash to Head.Hash (else ErrHeadMismatch). Lines after
	// it are allowed: the head may have been taken earlier.
	Head *Head
	// NewEntry, if non-nil, returns a fresh entry into which each line
	// must also decode with no unknown member (else ErrMalformed).
	NewEntry func() Entry
}

// Summary describes a verified log.
type Summary struct {
	// Lines is the number of lines (and the seq of the last).
	Lines uint64
	// Head is the last line's seq and hash (zero for an empty log).
	Head Head
	// Signed counts the lines whose signature was checked.
	Signed uint64
}

// Verify reads a whole log and checks it: every line is a JSON object
// with a chain header and ends with a newline; seq counts up from 1; each
// prev is the hash of the line before; signatures verify under
// opts.PublicKeys; and the log reaches opts.Head. It returns the first
// break as a *ChainError (errors.Is ErrChain and its kind), a read error
// as itself, and a bad opts as an error that is neither.
func Verify(r io.Reader, opts VerifyOptions) (Summary, error) {
	keys, err := newKeyring(opts.PublicKeys)
	if err != nil {
		return Summary{}, err
	}
	if opts.RequireSignatures && len(keys) == 0 {
		return Summary{}, errors.New("auditlog: verify: RequireSignatures without PublicKeys")
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), MaxLine)
	sc.Split(splitLines)
	var sum Summary
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		brk := func(kind error, format string, args ...any) (Summary, error) {
			return sum, &ChainError{Line: n, Err: kind, Reason: fmt.Sprintf(format, args...)}
		}
		if len(b) == 0 || b[len(b)-1] != '\n' {
			return brk(ErrMalformed, "partial last line, no newline (a crash during an append?)")
		}
		b = b[:len(b)-1]
		p, err := parseLine(b)
		if err != nil {
			return brk(ErrMalformed, "%v", err)
		}
		if want := sum.Head.Seq + 1; p.seq != want {
			return brk(ErrSequence, "seq %d, want %d (a line was removed, inserted or moved)", p.seq, want)
		}
		if want := hex.EncodeToString(sum.Head.Hash[:]); p.prev != want {
			return brk(ErrLink, "prev %.64q, want %s (the line before was changed)", p.prev, want)
		}
		switch {
		case p.sig == nil && opts.RequireSignatures:
			return brk(ErrUnsigned, "no sig member")
		case p.sig != nil && len(keys) > 0:
			pub, ok := keys[p.kid]
			if !ok {
				return brk(ErrUnknownKey, "sig_kid %.64q", p.kid)
			}
			if !verifySig(pub, digest(lineDomain, p.unsigned), p.sig) {
				return brk(ErrSignature, "sig_kid %s", p.kid)
			}
			sum.Signed++
		}
		if opts.NewEntry != nil {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(opts.NewEntry()); err != nil {
				return brk(ErrMalformed, "not an entry: %v", err)
			}
		}
		hash := sha256.Sum256(b)
		if h := opts.Head; h != nil && h.Seq == p.seq && h.Hash != hash {
			return brk(ErrHeadMismatch, "hash %x, want %x", hash, h.Hash)
		}
		sum.Lines++
		sum.Head = Head{Seq: p.seq, Hash: hash}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sum, &ChainError{Line: n + 1, Err: ErrMalformed, Reason: fmt.Sprintf("line longer than %d bytes", MaxLine)}
		}
		return sum, fmt.Errorf("auditlog: read: %w", err)
	}
	if h := opts.Head; h != nil {
		switch {
		case sum.Lines < h.Seq:
			return sum, &ChainError{Line: n + 1, Err: ErrTruncated, Reason: fmt.Sprintf("log ends at seq %d, expected head at seq %d", sum.Lines, h.Seq)}
		case h.Seq == 0 && h.Hash != (Head{}).Hash:
			return sum, &ChainError{Line: 1, Err: ErrHeadMismatch, Reason: "expected head at seq 0 has a non-zero hash"}
		}
	}
	return sum, nil
}

// splitLines splits after each '\n', keeping it, so that Verify sees
// whether the last line is complete. Unlike bufio.ScanLines it keeps a
// '\r': the hashed bytes are exactly the bytes written.
func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i+1], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// line is the chain header of one line, as read.
type line struct {
	seq      uint64
	prev     string
	kid      string
	sig      []byte // nil: unsigned
	unsigned []byte // the line without its sig member (what sig signs)
}

// Member flags, to refuse duplicates: encoding/json would silently keep
// the last of two seq members, and a reader could be shown another.
const (
	hasSeq = 1 << iota
	hasTime
	hasPrev
	hasKID
	hasSig
)

// parseLine reads the chain header of b, one JSON object, matching member
// names exactly (encoding/json alone matches them case-insensitively). It
// skips the caller's members; whitespace around the object is allowed
// (and hashed) for compatibility with logs attestd wrote.
func parseLine(b []byte) (line, error) {
	var p line
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return p, errors.New("not a JSON object")
	}
	seen := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return p, err
		}
		name, _ := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return p, err
		}
		var bit int
		switch name {
		case "seq":
			bit = hasSeq
			if p.seq, err = strconv.ParseUint(string(raw), 10, 64); err != nil {
				return p, fmt.Errorf("seq: not an unsigned integer")
			}
		case "time":
			bit = hasTime
			var t time.Time
			if raw[0] != '"' || t.UnmarshalJSON(raw) != nil {
				return p, errors.New("time: not an RFC 3339 string")
			}
		case "prev":
			bit = hasPrev
			if p.prev, err = str(raw); err != nil {
				return p, fmt.Errorf("prev: %w", err)
			}
		case "sig_kid":
			bit = hasKID
			if p.kid, err = str(raw); err != nil {
				return p, fmt.Errorf("sig_kid: %w", err)
			}
		case "sig":
			bit = hasSig
			if dec.More() {
				return p, errors.New("sig: not the last member")
			}
			s, err := str(raw)
			if err != nil {
				return p, fmt.Errorf("sig: %w", err)
			}
			if p.sig, err = base64.RawURLEncoding.Strict().DecodeString(s); err != nil || len(p.sig) == 0 {
				return p, errors.New("sig: not base64url")
			}
			// The signed bytes are the line without `,"sig":"…"`, so the
			// member must be exactly that, at the very end: no escapes,
			// no whitespace, nothing after.
			suffix := `,"sig":"` + s + `"}`
			if !bytes.HasSuffix(b, []byte(suffix)) {
				return p, errors.New("sig: not in canonical form at the end of the line")
			}
			p.unsigned = append(bytes.Clone(b[:len(b)-len(suffix)]), '}')
		default:
			continue
		}
		if seen&bit != 0 {
			return p, fmt.Errorf("duplicate %q member", name)
		}
		seen |= bit
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return p, errors.New("unterminated object")
	}
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r")) != 0 {
		return p, errors.New("trailing data after the object")
	}
	switch {
	case seen&(hasSeq|hasTime|hasPrev) != hasSeq|hasTime|hasPrev:
		return p, errors.New("missing seq, time or prev")
	case seen&hasKID != 0 && seen&hasSig == 0:
		return p, errors.New("sig_kid without sig (a signature removed?)")
	case seen&hasSig != 0 && seen&hasKID == 0:
		return p, errors.New("sig without sig_kid")
	}
	return p, nil
}

// str decodes a JSON string.
func str(raw json.RawMessage) (string, error) {
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", errors.New("not a string")
	}
	return s, nil
}
