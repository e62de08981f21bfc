package appraise

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/internal/strictdecode"
)

// Policy is an appraisal policy: reference values for each TEE a workload may
// run on, and the tolerations its owners accept for now.
type Policy struct {
	// Name identifies the policy in results (ear.appraisal-policy-id).
	Name string `json:"name"`
	// AllowSimulation admits sim evidence, rated "warning" at best.
	// Default false.
	AllowSimulation bool `json:"allow_simulation,omitempty"`
	// References lists acceptable platforms and workloads. Claims are
	// acceptable if they satisfy at least one reference of their TEE.
	References []Reference `json:"references"`
	// Tolerations excuse named deviations until their expiry.
	Tolerations []Toleration `json:"tolerations,omitempty"`
}

// Reference holds the values one kind of acceptable evidence must have.
// Every list is "any of"; an empty list or nil minimum is not checked.
type Reference struct {
	TEE attest.TEE `json:"tee"`
	// Formats restricts the evidence formats (for example to refuse TDX
	// claims relayed by Azure Attestation). Empty: any format of the TEE.
	Formats []string `json:"formats,omitempty"`
	// AnyCode admits any measurement and signer, rated "warning" at best.
	// Without it a reference must pin code: measurements or signers.
	// Default false.
	AnyCode      bool         `json:"any_code,omitempty"`
	Measurements []attest.Hex `json:"measurements,omitempty"`
	Signers      []attest.Hex `json:"signers,omitempty"`
	ProductIDs   []string     `json:"product_ids,omitempty"`
	MinSVN       *uint64      `json:"min_svn,omitempty"`
	// MinTCB gives a minimum for named TCB components (attest.Claims.TCB).
	// A component the claims lack fails the check.
	MinTCB map[string]uint64 `json:"min_tcb,omitempty"`
	// DebugAllowed admits debug-mode TEEs, rated "warning". Default false.
	DebugAllowed bool `json:"debug_allowed,omitempty"`
	// TCBStatuses lists acceptable vendor TCB verdicts. Default (empty):
	// UpToDate and Unevaluated (formats whose vendor gives no verdict). An
	// explicit list is taken as written: list Unevaluated to accept such
	// formats. Revoked can never be listed.
	TCBStatuses []attest.TCBStatus `json:"tcb_statuses,omitempty"`
	// PlatformIDs restricts the physical platforms (CHIP_ID, FMSPC, sim
	// platform key hash). Empty: any.
	PlatformIDs []attest.Hex `json:"platform_ids,omitempty"`
	// Raw requires exact values of format-specific claims, compared in
	// their text form (hex for byte strings): host_data, mr_config_id…
	Raw map[string]string `json:"raw,omitempty"`
}

// Toleration excuses one deviation until Expires. Field is a check name
// (see Field* constants); Value, if set, limits the toleration to that
// actual value (for example tcb_status OutOfDate, or advisory INTEL-SA-00615).
type Toleration struct {
	Field   string `json:"field"`
	Value   string `json:"value,omitempty"`
	Expires Date   `json:"expires"`
	Reason  string `json:"reason"`
}

// Field names used in reasons and tolerations.
const (
	FieldTEE         = "tee"
	FieldFormat      = "format"
	FieldSimulation  = "simulation"
	FieldMeasurement = "measurement"
	FieldSigner      = "signer"
	FieldProductID   = "product_id"
	FieldSVN         = "svn"
	FieldTCBPrefix   = "tcb." // followed by the component name
	FieldDebug       = "debug"
	FieldTCBStatus   = "tcb_status"
	FieldPlatformID  = "platform_id"
	FieldRawPrefix   = "raw." // followed by the raw claim name
)

// untolerable are the checks that decide what code runs where, or whether
// its memory is protected at all. Excusing them would accept arbitrary code
// or a debuggable TEE, so tolerations may not name them. (debug_allowed is
// the explicit, reviewed way to admit debug TEEs.)
var untolerable = []string{FieldTEE, FieldFormat, FieldSimulation, FieldMeasurement, FieldSigner, FieldProductID, FieldDebug}

// tolerable reports whether a toleration may name field, and whether it must
// then name the exact value it excuses: a platform, a raw identity value or
// a TCB status is excused one value at a time, never wholesale.
func tolerable(field string) (ok, needsValue bool) {
	switch {
	case field == FieldTCBStatus, field == FieldPlatformID:
		return true, true
	case strings.HasPrefix(field, FieldRawPrefix) && len(field) > len(FieldRawPrefix):
		return true, true
	case field == FieldSVN:
		return true, false
	case strings.HasPrefix(field, FieldTCBPrefix) && len(field) > len(FieldTCBPrefix):
		return true, false
	}
	return false, false
}

// ErrInvalidPolicy is wrapped by every policy validation error.
var ErrInvalidPolicy = errors.New("invalid policy")

// ParsePolicy decodes a YAML or JSON policy strictly (unknown fields are
// errors, so a misspelled field is never silently ignored) and validates it.
func ParsePolicy(b []byte) (*Policy, error) {
	if len(b) > maxPolicySize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidPolicy, len(b), maxPolicySize)
	}
	var p Policy
	if err := strictdecode.Decode(b, &p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate reports every problem in p, joined.
func (p *Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidPolicy}, args...)...))
	}
	if p.Name == "" {
		bad("name is empty")
	}
	if len(p.References) == 0 {
		bad("no references: the policy would refuse everything")
	}
	for i, r := range p.References {
		if r.TEE == attest.TEEInvalid {
			bad("references[%d].tee is missing", i)
		}
		if !r.AnyCode && len(r.Measurements) == 0 && len(r.Signers) == 0 {
			bad("references[%d] pins no code: give measurements or signers, or any_code: true", i)
		}
		for j, h := range r.Measurements {
			if len(h) == 0 {
				bad("references[%d].measurements[%d] is empty", i, j)
			}
		}
		for j, h := range r.Signers {
			if len(h) == 0 {
				bad("references[%d].signers[%d] is empty", i, j)
			}
		}
		if r.TEE == attest.TEESim && !p.AllowSimulation {
			bad("references[%d] is for tee sim but allow_simulation is false", i)
		}
		for _, s := range r.TCBStatuses {
			if s == attest.TCBStatusInvalid {
				bad("references[%d].tcb_statuses holds an invalid status", i)
			}
			if s == attest.TCBRevoked {
				bad("references[%d].tcb_statuses lists Revoked: a revoked TCB is never acceptable", i)
			}
		}
	}
	for i, t := range p.Tolerations {
		if t.Field == "" {
			bad("tolerations[%d].field is empty", i)
		}
		ok, needsValue := tolerable(t.Field)
		switch {
		case slices.Contains(untolerable, t.Field):
			bad("tolerations[%d]: field %q decides which code runs, and how, and cannot be tolerated", i, t.Field)
		case t.Field != "" && !ok:
			bad("tolerations[%d]: unknown field %q (tolerable: tcb_status, platform_id, svn, tcb.<component>, raw.<claim>)", i, t.Field)
		case needsValue && t.Value == "":
			bad("tolerations[%d]: field %q needs the exact value it excuses", i, t.Field)
		}
		if t.Field == FieldTCBStatus && t.Value == attest.TCBRevoked.String() {
			bad("tolerations[%d]: a revoked TCB cannot be tolerated", i)
		}
		if t.Expires.IsZero() {
			bad("tolerations[%d].expires is missing: every toleration must end", i)
		}
		if strings.TrimSpace(t.Reason) == "" {
			bad("tolerations[%d].reason is empty", i)
		}
	}
	return errors.Join(errs...)
}

// Date is a point in time written either as RFC 3339 or as a plain date
// (2027-01-31), which means 00:00 UTC that day.
type Date struct{ time.Time }

func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.Time.UTC().Format(time.RFC3339)) }

func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			d.Time = t
			return nil
		}
	}
	return fmt.Errorf("date %q: want YYYY-MM-DD or RFC 3339", s)
}
