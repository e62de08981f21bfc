package appraise

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/cofre-cc/cofre/attest"
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
	Formats      []string     `json:"formats,omitempty"`
	Measurements []attest.Hex `json:"measurements,omitempty"`
	Signers      []attest.Hex `json:"signers,omitempty"`
	ProductIDs   []string     `json:"product_ids,omitempty"`
	MinSVN       *uint64      `json:"min_svn,omitempty"`
	// MinTCB gives a minimum for named TCB components (attest.Claims.TCB).
	// A component the claims lack fails the check.
	MinTCB map[string]uint64 `json:"min_tcb,omitempty"`
	// DebugAllowed admits debug-mode TEEs, rated "warning". Default false.
	DebugAllowed bool `json:"debug_allowed,omitempty"`
	// TCBStatuses lists acceptable vendor TCB verdicts. Default: UpToDate
	// (and Unevaluated, for formats whose vendor gives no verdict).
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

// untolerable are the checks that decide what code runs where. Excusing
// them would accept arbitrary code, so tolerations may not name them.
var untolerable = []string{FieldTEE, FieldFormat, FieldSimulation, FieldMeasurement, FieldSigner, FieldProductID}

// ErrInvalidPolicy is wrapped by every policy validation error.
var ErrInvalidPolicy = errors.New("invalid policy")

// maxPolicySize bounds a policy document; real ones are a few kilobytes.
const maxPolicySize = 1 << 20

// ParsePolicy decodes a YAML or JSON policy strictly (unknown fields are
// errors, so a misspelled field is never silently ignored) and validates it.
func ParsePolicy(b []byte) (*Policy, error) {
	if len(b) > maxPolicySize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidPolicy, len(b), maxPolicySize)
	}
	js, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return nil, fmt.Errorf("%w: more than one document", ErrInvalidPolicy)
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
		if r.TEE == attest.TEESim && !p.AllowSimulation {
			bad("references[%d] is for tee sim but allow_simulation is false", i)
		}
		for _, s := range r.TCBStatuses {
			if s == attest.TCBStatusInvalid {
				bad("references[%d].tcb_statuses holds an invalid status", i)
			}
		}
	}
	for i, t := range p.Tolerations {
		if t.Field == "" {
			bad("tolerations[%d].field is empty", i)
		}
		if slices.Contains(untolerable, t.Field) {
			bad("tolerations[%d]: field %q decides which code runs and cannot be tolerated", i, t.Field)
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
