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

// FieldError is a parse error about one member of a collateral document.
// Field is the member's path in the signed object, as in
// "tcbLevels[0].tcb.sgxtcbcomponents".
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// fieldErr returns a *FieldError on field.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// under puts err under the member path parent: a *FieldError's path is
// prefixed, any other error becomes one about parent itself.
func under(parent string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: parent + "." + fe.Field, Err: fe.Err}
	}
	return &FieldError{Field: parent, Err: err}
}

// decodeSigned decodes the signed member of a PCS collateral document of at
// most MaxCollateralSize bytes into v, strictly, and returns the member's
// exact bytes and the signature.
func decodeSigned(b []byte, member string, v any) (signed []byte, sig [64]byte, err error) {
	if len(b) > MaxCollateralSize {
		return nil, sig, fmt.Errorf("%d bytes, limit %d", len(b), MaxCollateralSize)
	}
	if signed, sig, err = signedEnvelope(b, member); err != nil {
		return nil, sig, err
	}
	if err := strictUnmarshal(signed, v); err != nil {
		return nil, sig, err
	}
	return signed, sig, nil
}

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

// hexField decodes the hex member field into dst.
func hexField(field, s string, dst []byte) error {
	if err := decodeHex(s, dst); err != nil {
		return &FieldError{Field: field, Err: err}
	}
	return nil
}

// parseTime parses Intel PCS's RFC 3339 timestamps ("2022-12-19T09:40:10Z").
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, &FieldError{Field: field, Err: err}
	}
	return t, nil
}

// Issue is when Intel issued a collateral document, until when it may be
// used, and which TCB evaluation it reflects.
type Issue struct {
	IssueDate  time.Time
	NextUpdate time.Time
	// TCBEvaluationDataNumber increases with each of Intel's TCB
	// recoveries.
	TCBEvaluationDataNumber int
}

type issueJSON struct {
	IssueDate               string `json:"issueDate"`
	NextUpdate              string `json:"nextUpdate"`
	TCBEvaluationDataNumber *int   `json:"tcbEvaluationDataNumber"`
}

func (j *issueJSON) parse() (Issue, error) {
	var is Issue
	var err error
	if is.IssueDate, err = parseTime("issueDate", j.IssueDate); err != nil {
		return is, err
	}
	if is.NextUpdate, err = parseTime("nextUpdate", j.NextUpdate); err != nil {
		return is, err
	}
	if j.TCBEvaluationDataNumber == nil || *j.TCBEvaluationDataNumber < 0 {
		return is, fieldErr("tcbEvaluationDataNumber", "missing or negative")
	}
	is.TCBEvaluationDataNumber = *j.TCBEvaluationDataNumber
	return is, nil
}

// Level is what one TCB level of Intel's collateral says about the part of
// the platform it rates.
type Level struct {
	Date   time.Time
	Status attest.TCBStatus
	// Advisories are Intel security advisory IDs ("INTEL-SA-00615").
	Advisories []string
}

// levelJSON is the part of every TCB level that is not its "tcb".
type levelJSON struct {
	TCBDate     string   `json:"tcbDate"`
	TCBStatus   string   `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs"`
}

func (j *levelJSON) parse() (Level, error) {
	var l Level
	var err error
	if l.Date, err = parseTime("tcbDate", j.TCBDate); err != nil {
		return l, err
	}
	// Unevaluated is cofre's, not Intel's: a level carrying it is not a
	// level Intel published.
	if l.Status, err = attest.ParseTCBStatus(j.TCBStatus); err != nil || l.Status == attest.TCBUnevaluated {
		return l, fieldErr("tcbStatus", "%q unknown", j.TCBStatus)
	}
	if len(j.AdvisoryIDs) > maxAdvisories {
		return l, fieldErr("advisoryIDs", "%d advisoryIDs, limit %d", len(j.AdvisoryIDs), maxAdvisories)
	}
	for _, id := range j.AdvisoryIDs {
		if id == "" || len(id) > maxAdvisoryIDLen {
			return l, fieldErr("advisoryIDs", "advisory ID of %d bytes", len(id))
		}
	}
	l.Advisories = j.AdvisoryIDs
	return l, nil
}

// EnclaveLevel is one TCB level of an enclave identity: of a quoting
// enclave, or of a TDX module in TDX TCB info.
type EnclaveLevel struct {
	ISVSVN uint16
	Level
}

// enclaveLevelJSON is a level rated by one ISVSVN.
type enclaveLevelJSON struct {
	TCB struct {
		ISVSVN *int `json:"isvsvn"`
	} `json:"tcb"`
	levelJSON
}

// parseEnclaveLevels parses the non-empty list of enclave levels at field.
func parseEnclaveLevels(field string, js []enclaveLevelJSON) ([]EnclaveLevel, error) {
	if len(js) == 0 || len(js) > maxTCBLevels {
		return nil, fieldErr(field, "%d tcbLevels, want 1..%d", len(js), maxTCBLevels)
	}
	levels := make([]EnclaveLevel, len(js))
	for i, lj := range js {
		at := fmt.Sprintf("%s[%d]", field, i)
		if lj.TCB.ISVSVN == nil || *lj.TCB.ISVSVN < 0 || *lj.TCB.ISVSVN > 0xffff {
			return nil, fieldErr(at+".tcb.isvsvn", "missing or out of range 0..65535")
		}
		levels[i].ISVSVN = uint16(*lj.TCB.ISVSVN)
		var err error
		if levels[i].Level, err = lj.parse(); err != nil {
			return nil, under(at, err)
		}
	}
	return levels, nil
}

// checkTEE panics unless tee is one this package parses collateral for:
// the callers pass constants.
func checkTEE(tee attest.TEE) {
	if tee != attest.TEESGX && tee != attest.TEETDX {
		panic("pcs: no Intel collateral for TEE " + tee.String())
	}
}
