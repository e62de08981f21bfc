package token

import (
	"encoding/json"
	"errors"
	"fmt"
)

// MarshalSubmods encodes submodules exactly as a token's submods claim
// carries them, for an issuer that keeps an appraisal to issue further
// tokens from it later (the coordinator re-issues an instance's activation
// appraisal for another key, without new evidence). It refuses what Issue
// would refuse of the submodules (no cpu0, a submodule without claims, an
// invalid status or TEE, a simulated TEE rated affirming, too many
// submodules or reasons), and checks that ParseSubmods reads the result.
func MarshalSubmods(subs map[string]Submod) ([]byte, error) {
	if err := errors.Join(validateSubmods(subs)...); err != nil {
		return nil, fmt.Errorf("token: submods: %w", err)
	}
	wire := make(map[string]wireSubmod, len(subs))
	for name, s := range subs {
		wire[name] = wireSubmod(s)
	}
	b, err := json.Marshal(wire)
	if err != nil {
		return nil, fmt.Errorf("token: submods: %w", err)
	}
	if _, err := ParseSubmods(b); err != nil {
		return nil, fmt.Errorf("token: submods: they do not parse back: %w", err)
	}
	return b, nil
}

// ParseSubmods parses a submods claim (what MarshalSubmods wrote) as
// strictly as Verify parses it in a token: one JSON object without
// duplicate or case-variant member names, 1 to maxSubmods submodules with
// valid names and cpu0 among them, each with a status and normalized
// claims. Refusals wrap ErrMalformed. It judges nothing: the bytes must
// come from where the caller trusts them (its own sealed store).
func ParseSubmods(b []byte) (map[string]Submod, error) {
	if len(b) > MaxTokenSize {
		return nil, malformedf(claimSubmods, "%d bytes, limit %d", len(b), MaxTokenSize)
	}
	if err := checkJSON(b); err != nil {
		return nil, malformed(claimSubmods, err)
	}
	r := &reader{}
	subs := r.submods(b)
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return subs, nil
}
