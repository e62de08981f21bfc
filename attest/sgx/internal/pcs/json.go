package pcs

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// ErrCollateral is wrapped by every error of ParseTCBInfo and
// ParseQEIdentity.
var ErrCollateral = errors.New("malformed collateral")

// signedEnvelope splits a PCS collateral document into the raw bytes of its
// signed member, exactly as they appear in the document, and the signature.
//
// Intel signs the bytes of the "tcbInfo" or "enclaveIdentity" member as
// served; re-encoding them would change them, so the raw bytes are kept and
// the same bytes are both verified and parsed.
func signedEnvelope(b []byte, member string) (body []byte, sig [64]byte, err error) {
	var env map[string]json.RawMessage
	if err := strictUnmarshal(b, &env); err != nil {
		return nil, sig, err
	}
	if len(env) != 2 {
		return nil, sig, fmt.Errorf("want exactly the members %q and \"signature\", got %d members", member, len(env))
	}
	body, ok := env[member]
	if !ok || len(body) == 0 || body[0] != '{' {
		return nil, sig, fmt.Errorf("member %q: missing or not an object", member)
	}
	var sigHex string
	if err := strictUnmarshal(env["signature"], &sigHex); err != nil {
		return nil, sig, fmt.Errorf("signature: %w", err)
	}
	if err := decodeHex(sigHex, sig[:]); err != nil {
		return nil, sig, fmt.Errorf("signature: %w", err)
	}
	return body, sig, nil
}

// strictUnmarshal decodes exactly one JSON value, refusing unknown object
// members (for struct targets) and trailing data.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// decodeHex decodes s, which must encode exactly len(dst) bytes.
func decodeHex(s string, dst []byte) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%d hex digits, want %d", len(s), 2*len(dst))
	}
	_, err := hex.Decode(dst, []byte(s))
	return err
}

// parseTime parses Intel PCS's RFC 3339 timestamps ("2022-12-19T09:40:10Z").
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}

// parseStatus parses a tcbStatus value.
func parseStatus(s string) (attest.TCBStatus, error) {
	st, err := attest.ParseTCBStatus(s)
	if err != nil || st == attest.TCBUnevaluated {
		return attest.TCBStatusInvalid, fmt.Errorf("tcbStatus %q unknown", s)
	}
	return st, nil
}

func checkAdvisories(ids []string) error {
	if len(ids) > maxAdvisories {
		return fmt.Errorf("%d advisoryIDs, limit %d", len(ids), maxAdvisories)
	}
	for _, id := range ids {
		if id == "" || len(id) > maxAdvisoryIDLen {
			return fmt.Errorf("advisory ID of %d bytes", len(id))
		}
	}
	return nil
}
