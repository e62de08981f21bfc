package appraise

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
)

// Reason explains one check that did not pass, or one fact the relying
// party should weigh.
type Reason struct {
	Field    string `json:"field"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// Tier is what this reason alone does to the result.
	Tier ear.TrustTier `json:"tier"`
	// Toleration, if set, is the reason the policy gave for excusing a
	// deviation that would otherwise refuse the evidence.
	Toleration string `json:"toleration,omitempty"`
}

func (r Reason) String() string {
	s := r.Field
	if r.Expected != "" || r.Actual != "" {
		s += fmt.Sprintf(": expected %s, got %s", orNone(r.Expected), orNone(r.Actual))
	}
	if r.Toleration != "" {
		s += " (tolerated: " + r.Toleration + ")"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Result is an appraisal: the EAR status, the AR4SI vector, and the reasons.
type Result struct {
	Status  ear.TrustTier   `json:"status"`
	Vector  ear.TrustVector `json:"trustworthiness_vector"`
	Reasons []Reason        `json:"reasons,omitempty"`
	Policy  string          `json:"policy"`
}

// Accepted reports whether the result admits the workload: affirming or
// warning.
func (r *Result) Accepted() bool {
	return r.Status == ear.TrustTierAffirming || r.Status == ear.TrustTierWarning
}

// Appraisal returns r as an EAR appraisal record.
func (r *Result) Appraisal() ear.Appraisal {
	status, vector, policy := r.Status, r.Vector, r.Policy
	return ear.Appraisal{Status: &status, TrustVector: &vector, AppraisalPolicyID: &policy}
}

// Appraise compares claims with the policy at time now (zero: the clock at
// call time). The claims must come from a Verifier that accepted the
// evidence.
func Appraise(c *attest.Claims, p *Policy, now time.Time) *Result {
	if now.IsZero() {
		// A zero time would keep every toleration in force forever.
		now = time.Now()
	}
	if isSimulation(c) && !p.AllowSimulation {
		r := &Result{Policy: p.Name, Status: ear.TrustTierContraindicated}
		r.Vector.Hardware = ear.UnrecognizedHardwareClaim
		r.Reasons = []Reason{{Field: FieldSimulation, Expected: "hardware TEE (allow_simulation is false)", Actual: "SIMULATION", Tier: ear.TrustTierContraindicated}}
		return r
	}
	var candidates []Reference
	var tees []string
	for _, ref := range p.References {
		tees = append(tees, ref.TEE.String())
		if ref.TEE == c.TEE {
			candidates = append(candidates, ref)
		}
	}
	if len(candidates) == 0 {
		r := &Result{Policy: p.Name, Status: ear.TrustTierContraindicated}
		r.Vector.Hardware = ear.UnrecognizedHardwareClaim
		r.Reasons = []Reason{{Field: FieldTEE, Expected: "one of " + strings.Join(tees, ", "), Actual: c.TEE.String(), Tier: ear.TrustTierContraindicated}}
		return r
	}
	// The claims pass if any reference admits them; otherwise report the
	// reference they came closest to, so the reasons are the useful ones.
	var best *Result
	for _, ref := range candidates {
		r := appraiseOne(c, p, ref, now)
		if best == nil || rank(r) < rank(best) {
			best = r
		}
	}
	return best
}

// isSimulation decides from every label simulation carries, so that one
// mislabelled field (a verifier bug) cannot make sim claims look like
// hardware.
func isSimulation(c *attest.Claims) bool {
	return c.TEE == attest.TEESim || c.Format == attest.FormatSim || slices.Contains(c.Warnings, attest.SimulationWarning)
}

// rank orders results: accepted before refused, then fewest refusals.
func rank(r *Result) int {
	n := 0
	for _, re := range r.Reasons {
		if re.Tier == ear.TrustTierContraindicated {
			n++
		}
	}
	return n*2 + boolInt(!r.Accepted())
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type appraisal struct {
	c   *attest.Claims
	p   *Policy
	now time.Time
	r   *Result
}

// fail records a deviation; if a live toleration covers it, it is recorded
// as a warning instead and the tolerated claim value is returned as true.
func (a *appraisal) fail(field, expected, actual string) (tolerated bool) {
	reason := Reason{Field: field, Expected: expected, Actual: actual, Tier: ear.TrustTierContraindicated}
	revoked := field == FieldTCBStatus && actual == attest.TCBRevoked.String()
	if ok, _ := tolerable(field); ok && !slices.Contains(untolerable, field) && !revoked {
		for _, t := range a.p.Tolerations {
			if t.Field != field || (t.Value != "" && t.Value != actual) {
				continue
			}
			if !a.now.Before(t.Expires.Time) {
				a.r.Reasons = append(a.r.Reasons, Reason{Field: field, Expected: "toleration in force", Actual: "toleration expired " + t.Expires.UTC().Format(time.DateOnly), Tier: ear.TrustTierNone})
				continue
			}
			reason.Tier = ear.TrustTierWarning
			reason.Toleration = fmt.Sprintf("%s (until %s)", t.Reason, t.Expires.UTC().Format(time.DateOnly))
			break
		}
	}
	a.r.Reasons = append(a.r.Reasons, reason)
	return reason.Tier == ear.TrustTierWarning
}

func (a *appraisal) note(field, expected, actual string) {
	a.r.Reasons = append(a.r.Reasons, Reason{Field: field, Expected: expected, Actual: actual, Tier: ear.TrustTierWarning})
}

func appraiseOne(c *attest.Claims, p *Policy, ref Reference, now time.Time) *Result {
	a := &appraisal{c: c, p: p, now: now, r: &Result{Policy: p.Name}}
	v := &a.r.Vector

	// Instance identity: the TEE produced genuine evidence (the verifier
	// said so) and the platform is one the policy admits.
	v.InstanceIdentity = ear.TrustworthyInstanceClaim
	if len(ref.Formats) > 0 && !slices.Contains(ref.Formats, c.Format) {
		a.fail(FieldFormat, "one of "+strings.Join(ref.Formats, ", "), c.Format)
		v.InstanceIdentity = ear.UntrustworthyInstanceClaim
	}
	if len(ref.PlatformIDs) > 0 && !containsHex(ref.PlatformIDs, c.PlatformID) {
		if !a.fail(FieldPlatformID, "one of "+joinHex(ref.PlatformIDs), c.PlatformID.String()) {
			v.InstanceIdentity = ear.UnrecognizedInstanceClaim
		}
	}

	// Executables: which code, signed by whom, at which version.
	v.Executables = ear.ApprovedRuntimeClaim
	if ref.AnyCode {
		// Reviewed opt-in, but no code identity was checked: never affirming.
		a.note(FieldMeasurement, "pinned code (any_code is set)", c.Measurement.String())
		v.Executables = ear.UnrecognizedRuntimeClaim
	}
	if len(ref.Measurements) > 0 && !containsHex(ref.Measurements, c.Measurement) {
		a.fail(FieldMeasurement, "one of "+joinHex(ref.Measurements), c.Measurement.String())
		v.Executables = ear.ContraindicatedRuntimeClaim
	}
	if len(ref.Signers) > 0 && !containsHex(ref.Signers, c.Signer) {
		a.fail(FieldSigner, "one of "+joinHex(ref.Signers), c.Signer.String())
		v.Executables = ear.ContraindicatedRuntimeClaim
	}
	if len(ref.ProductIDs) > 0 && !slices.Contains(ref.ProductIDs, c.ProductID) {
		a.fail(FieldProductID, "one of "+strings.Join(ref.ProductIDs, ", "), c.ProductID)
		v.Executables = ear.ContraindicatedRuntimeClaim
	}
	if ref.MinSVN != nil && c.SVN < *ref.MinSVN {
		if a.fail(FieldSVN, fmt.Sprintf(">= %d", *ref.MinSVN), strconv.FormatUint(c.SVN, 10)) {
			v.Executables = worse(v.Executables, ear.UnsafeRuntimeClaim)
		} else {
			v.Executables = ear.ContraindicatedRuntimeClaim
		}
	}

	// Configuration: debug mode and format-specific configuration values.
	v.Configuration = ear.ApprovedConfigClaim
	if c.Debug && !isSimulation(c) { // sim is always "debug"; handled below
		switch {
		case ref.DebugAllowed:
			a.note(FieldDebug, "false", "true (debug_allowed)")
			v.Configuration = ear.UnsafeConfigClaim
		case a.fail(FieldDebug, "false", "true"):
			v.Configuration = ear.UnsafeConfigClaim
		default:
			v.Configuration = ear.UnsupportableConfigClaim
		}
	}
	for _, k := range sortedKeys(ref.Raw) {
		want := ref.Raw[k]
		claim := lookupRaw(c.Raw, k)
		got, ok := rawString(claim)
		if !ok || !rawEqual(claim, got, want) {
			if !a.fail(FieldRawPrefix+k, want, got) {
				v.Configuration = ear.UnsupportableConfigClaim
			} else {
				v.Configuration = worse(v.Configuration, ear.UnsafeConfigClaim)
			}
		}
	}

	// Hardware: the vendor's verdict on the TCB and the policy minimums.
	v.Hardware = ear.GenuineHardwareClaim
	statuses := ref.TCBStatuses
	if len(statuses) == 0 {
		statuses = []attest.TCBStatus{attest.TCBUpToDate, attest.TCBUnevaluated}
	}
	if !slices.Contains(statuses, c.TCBStatus) {
		if a.fail(FieldTCBStatus, "one of "+joinStatuses(statuses), c.TCBStatus.String()) {
			v.Hardware = ear.UnsafeHardwareClaim
		} else {
			v.Hardware = ear.ContraindicatedHardwareClaim
		}
	}
	for _, comp := range sortedKeys(ref.MinTCB) {
		min := ref.MinTCB[comp]
		got, ok := c.TCB[comp]
		if ok && got >= min {
			continue
		}
		actual := "absent"
		if ok {
			actual = strconv.FormatUint(got, 10)
		}
		if a.fail(FieldTCBPrefix+comp, fmt.Sprintf(">= %d", min), actual) {
			v.Hardware = worse(v.Hardware, ear.UnsafeHardwareClaim)
		} else {
			v.Hardware = ear.ContraindicatedHardwareClaim
		}
	}

	// Runtime: is memory protected from the host?
	switch c.TEE {
	case attest.TEETPM:
		// A TPM measures boot; it does not protect memory. Make no claim.
	default:
		v.RuntimeOpaque = ear.EncryptedMemoryRuntimeClaim
	}

	if isSimulation(c) {
		// Admitted only because the policy allows simulation: never more
		// than a warning, whatever else passed.
		a.note(FieldSimulation, "hardware TEE", "SIMULATION (allow_simulation: no confidentiality)")
		v.Hardware = worse(v.Hardware, ear.UnsafeHardwareClaim)
		v.RuntimeOpaque = ear.IsolatedMemoryRuntimeClaim
	}
	for _, w := range c.Warnings {
		if w == attest.SimulationWarning {
			continue
		}
		a.r.Reasons = append(a.r.Reasons, Reason{Field: "verifier", Actual: w, Tier: ear.TrustTierNone})
	}

	a.r.Status = tierOf(*v)
	return a.r
}

// tierOf derives the status from the vector as AR4SI does: any
// contraindicated claim contraindicates, any warning claim warns.
func tierOf(v ear.TrustVector) ear.TrustTier {
	t := ear.TrustTierAffirming
	for _, c := range v.AsMap() {
		switch ct := c.GetTier(); ct {
		case ear.TrustTierContraindicated:
			return ear.TrustTierContraindicated
		case ear.TrustTierWarning:
			t = ear.TrustTierWarning
		}
	}
	return t
}

// worse returns the claim with the worse tier.
func worse(a, b ear.TrustClaim) ear.TrustClaim {
	if tierRank(b.GetTier()) > tierRank(a.GetTier()) {
		return b
	}
	return a
}

func tierRank(t ear.TrustTier) int {
	switch t {
	case ear.TrustTierContraindicated:
		return 3
	case ear.TrustTierWarning:
		return 2
	case ear.TrustTierAffirming:
		return 1
	}
	return 0
}

func containsHex(list []attest.Hex, v []byte) bool {
	return slices.ContainsFunc(list, func(h attest.Hex) bool { return bytes.Equal(h, v) })
}

func joinHex(list []attest.Hex) string {
	s := make([]string, len(list))
	for i, h := range list {
		s[i] = h.String()
	}
	return strings.Join(s, ", ")
}

func joinStatuses(list []attest.TCBStatus) string {
	s := make([]string, len(list))
	for i, st := range list {
		s[i] = st.String()
	}
	return strings.Join(s, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lookupRaw finds a raw claim by name; a dotted name reaches into nested
// maps keyed by strings ("pcrs.7" is PCR 7 of a TPM's "pcrs" map). An exact
// top-level name wins over a dotted path.
func lookupRaw(raw map[string]any, name string) any {
	if v, ok := raw[name]; ok {
		return v
	}
	head, rest, ok := strings.Cut(name, ".")
	if !ok {
		return nil
	}
	switch m := raw[head].(type) {
	case map[string]any:
		return lookupRaw(m, rest)
	case map[string]attest.Hex:
		if v, ok := m[rest]; ok {
			return v
		}
	case map[string]string:
		if v, ok := m[rest]; ok {
			return v
		}
	}
	return nil
}

// rawEqual compares a raw claim with a policy value: byte strings as hex,
// case-insensitively; everything else (a kernel command line, a project
// name) exactly.
func rawEqual(v any, got, want string) bool {
	switch v.(type) {
	case attest.Hex, []byte:
		return strings.EqualFold(got, want)
	}
	return got == want
}

// rawString renders a raw claim the way policies write it.
func rawString(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case attest.Hex:
		return x.String(), true
	case []byte:
		return attest.Hex(x).String(), true
	case fmt.Stringer:
		return x.String(), true
	default:
		return fmt.Sprint(x), true
	}
}
