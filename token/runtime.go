package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// ErrRuntime is wrapped by every refusal of runtime claims (Claims.Runtime,
// the cofre.runtime claim) that break the bounds CheckRuntime names: Issue
// refuses them, and Verify refuses a token carrying them (as ErrMalformed).
var ErrRuntime = errors.New("runtime claims out of bounds")

// CheckRuntime checks runtime claims against the bounds every token keeps:
// at most maxRuntimeEntries entries; each name 1 to maxRuntimeName bytes of
// printable ASCII without spaces (0x21–0x7E); each value at most
// maxRuntimeValue bytes of printable ASCII (0x20–0x7E). Every failure is
// reported, each wrapping ErrRuntime; too many entries is reported alone.
// A nil or empty map passes (the token then has no cofre.runtime claim).
//
// Why ASCII only: these strings are shown to people (cofre token show, the
// portal, audit reviews) and compared by programs. Control characters
// could forge lines in a log or a terminal, and non-ASCII letters
// (homoglyphs, bidirectional overrides) could make one model name look
// like another. Model names and hex digests need none of them.
func CheckRuntime(m map[string]string) error {
	if len(m) > maxRuntimeEntries {
		// The count alone decides; judging each of thousands of entries
		// would only make the error (and the audit line quoting it) large.
		return fmt.Errorf("%w: %d entries, limit %d", ErrRuntime, len(m), maxRuntimeEntries)
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch {
		case k == "" || len(k) > maxRuntimeName:
			errs = append(errs, fmt.Errorf("%w: name %s is %d bytes, want 1 to %d", ErrRuntime, strconv.QuoteToASCII(clip(k)), len(k), maxRuntimeName))
		case !printableASCII(k, false):
			errs = append(errs, fmt.Errorf("%w: name %s: want printable ASCII without spaces", ErrRuntime, strconv.QuoteToASCII(clip(k))))
		}
		switch {
		case len(v) > maxRuntimeValue:
			errs = append(errs, fmt.Errorf("%w: value of %s is %d bytes, limit %d", ErrRuntime, strconv.QuoteToASCII(clip(k)), len(v), maxRuntimeValue))
		case !printableASCII(v, true):
			errs = append(errs, fmt.Errorf("%w: value of %s: want printable ASCII", ErrRuntime, strconv.QuoteToASCII(clip(k))))
		}
	}
	return errors.Join(errs...)
}

// printableASCII reports whether s holds only bytes 0x21–0x7E, and 0x20
// if space is allowed.
func printableASCII(s string, space bool) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if (b < 0x21 || b > 0x7E) && !(space && b == ' ') {
			return false
		}
	}
	return true
}

// runtime decodes the cofre.runtime claim strictly: an object of 1 to
// maxRuntimeEntries string members, within CheckRuntime's bounds. An empty
// object is refused: the issuer omits the claim instead, so each set of
// claims has one encoding.
func (r *reader) runtime(raw json.RawMessage) map[string]string {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		r.fail(malformed(claimRuntime, err))
		return nil
	}
	if len(members) == 0 {
		r.fail(malformedf(claimRuntime, "empty object (the claim is omitted when there are no runtime claims)"))
		return nil
	}
	if len(members) > maxRuntimeEntries {
		// Refused before decoding the values: the count alone decides.
		r.fail(malformed(claimRuntime, fmt.Errorf("%w: %d entries, limit %d", ErrRuntime, len(members), maxRuntimeEntries)))
		return nil
	}
	out := make(map[string]string, len(members))
	for _, k := range slices.Sorted(maps.Keys(members)) {
		var v string
		if kind(members[k]) != '"' || json.Unmarshal(members[k], &v) != nil {
			r.fail(refuse(ErrMalformed, claimRuntime+"."+strconv.QuoteToASCII(clip(k)), "a string", "another JSON type"))
			continue
		}
		out[k] = v
	}
	if err := CheckRuntime(out); err != nil {
		r.fail(malformed(claimRuntime, err))
		return nil
	}
	return out
}
