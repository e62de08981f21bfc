package appraise

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
)

var now = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

const policyYAML = `
name: analytics
references:
  - tee: sgx
    measurements: ["68823bc6aa"]
    signers: ["9affcfae"]
    product_ids: ["0"]
    min_svn: 2
    min_tcb: {pcesvn: 11}
    tcb_statuses: [UpToDate, SWHardeningNeeded]
  - tee: sevsnp
    measurements: ["aabb"]
    raw: {host_data: "00ff"}
tolerations:
  - field: tcb_status
    value: OutOfDate
    expires: 2027-01-31
    reason: microcode rollout INC-42
`

func sgxClaims() *attest.Claims {
	return &attest.Claims{
		Format: attest.FormatSGX, TEE: attest.TEESGX,
		Measurement: attest.Hex{0x68, 0x82, 0x3b, 0xc6, 0xaa}, Signer: attest.Hex{0x9a, 0xff, 0xcf, 0xae},
		ProductID: "0", SVN: 2, TCB: map[string]uint64{"pcesvn": 11},
		TCBStatus: attest.TCBUpToDate,
	}
}

func mustPolicy(t *testing.T, s string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAppraise(t *testing.T) {
	p := mustPolicy(t, policyYAML)
	simPolicy := mustPolicy(t, "name: dev\nallow_simulation: true\nreferences: [{tee: sim, any_code: true}]\n")
	tests := []struct {
		name       string
		edit       func(c *attest.Claims)
		policy     *Policy
		at         time.Time
		want       ear.TrustTier
		wantField  string // the field of the first reason, if any
		wantActual string
	}{
		{"affirming", func(c *attest.Claims) {}, p, now, ear.TrustTierAffirming, "", ""},
		{"unknown measurement", func(c *attest.Claims) { c.Measurement = attest.Hex{1} }, p, now, ear.TrustTierContraindicated, FieldMeasurement, "01"},
		{"unknown signer", func(c *attest.Claims) { c.Signer = attest.Hex{1} }, p, now, ear.TrustTierContraindicated, FieldSigner, "01"},
		{"wrong product", func(c *attest.Claims) { c.ProductID = "1" }, p, now, ear.TrustTierContraindicated, FieldProductID, "1"},
		{"old svn", func(c *attest.Claims) { c.SVN = 1 }, p, now, ear.TrustTierContraindicated, FieldSVN, "1"},
		{"old pcesvn", func(c *attest.Claims) { c.TCB["pcesvn"] = 10 }, p, now, ear.TrustTierContraindicated, "tcb.pcesvn", "10"},
		{"missing tcb component", func(c *attest.Claims) { c.TCB = nil }, p, now, ear.TrustTierContraindicated, "tcb.pcesvn", "absent"},
		{"debug", func(c *attest.Claims) { c.Debug = true }, p, now, ear.TrustTierContraindicated, FieldDebug, "true"},
		{"revoked", func(c *attest.Claims) { c.TCBStatus = attest.TCBRevoked }, p, now, ear.TrustTierContraindicated, FieldTCBStatus, "Revoked"},
		{"sw hardening accepted", func(c *attest.Claims) { c.TCBStatus = attest.TCBSWHardeningNeeded }, p, now, ear.TrustTierAffirming, "", ""},
		{"out of date tolerated", func(c *attest.Claims) { c.TCBStatus = attest.TCBOutOfDate }, p, now, ear.TrustTierWarning, FieldTCBStatus, "OutOfDate"},
		{"toleration expired", func(c *attest.Claims) { c.TCBStatus = attest.TCBOutOfDate }, p, time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), ear.TrustTierContraindicated, FieldTCBStatus, "toleration expired 2027-01-31"},
		{"toleration for another value", func(c *attest.Claims) { c.TCBStatus = attest.TCBConfigurationNeeded }, p, now, ear.TrustTierContraindicated, FieldTCBStatus, "ConfigurationNeeded"},
		{"tee not in policy", func(c *attest.Claims) { c.TEE = attest.TEETDX }, p, now, ear.TrustTierContraindicated, FieldTEE, "tdx"},
		{"sim refused", func(c *attest.Claims) { c.TEE = attest.TEESim; c.Format = attest.FormatSim }, p, now, ear.TrustTierContraindicated, FieldSimulation, "SIMULATION"},
		{"sim capped at warning", func(c *attest.Claims) {
			*c = attest.Claims{Format: attest.FormatSim, TEE: attest.TEESim, Debug: true, TCBStatus: attest.TCBUnevaluated, Warnings: []string{attest.SimulationWarning}}
		}, simPolicy, now, ear.TrustTierWarning, FieldMeasurement, ""},
		{"snp raw mismatch", func(c *attest.Claims) {
			*c = attest.Claims{Format: attest.FormatSEVSNP, TEE: attest.TEESEVSNP, Measurement: attest.Hex{0xaa, 0xbb}, TCBStatus: attest.TCBUnevaluated, Raw: map[string]any{"host_data": attest.Hex{0x00, 0xfe}}}
		}, p, now, ear.TrustTierContraindicated, "raw.host_data", "00fe"},
		{"snp raw match", func(c *attest.Claims) {
			*c = attest.Claims{Format: attest.FormatSEVSNP, TEE: attest.TEESEVSNP, Measurement: attest.Hex{0xaa, 0xbb}, TCBStatus: attest.TCBUnevaluated, Raw: map[string]any{"host_data": attest.Hex{0x00, 0xff}}}
		}, p, now, ear.TrustTierAffirming, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sgxClaims()
			tt.edit(c)
			r := Appraise(c, tt.policy, tt.at)
			if r.Status != tt.want {
				t.Fatalf("status = %v, want %v; reasons %v", r.Status, tt.want, r.Reasons)
			}
			if tt.wantField == "" {
				if len(r.Reasons) != 0 {
					t.Fatalf("reasons = %v, want none", r.Reasons)
				}
				return
			}
			if len(r.Reasons) == 0 || r.Reasons[0].Field != tt.wantField || r.Reasons[0].Actual != tt.wantActual {
				t.Fatalf("reasons = %v, want first %s actual %q", r.Reasons, tt.wantField, tt.wantActual)
			}
			if tt.want == ear.TrustTierContraindicated && r.Accepted() {
				t.Fatal("contraindicated result accepted")
			}
		})
	}
}

func TestSimNeverAboveWarning(t *testing.T) {
	// Even a policy that pins every value the sim claims cannot make it affirming.
	p := mustPolicy(t, "name: dev\nallow_simulation: true\nreferences: [{tee: sim, measurements: [\"01\"], debug_allowed: true}]\n")
	c := &attest.Claims{Format: attest.FormatSim, TEE: attest.TEESim, Measurement: attest.Hex{1}, Debug: true, TCBStatus: attest.TCBUnevaluated}
	r := Appraise(c, p, now)
	if r.Status != ear.TrustTierWarning {
		t.Fatalf("status = %v, want warning", r.Status)
	}
	if r.Vector.Hardware.GetTier() != ear.TrustTierWarning {
		t.Errorf("hardware claim = %v, want a warning-tier claim", r.Vector.Hardware)
	}
}

func TestBestReferenceReported(t *testing.T) {
	p := mustPolicy(t, `
name: two-versions
references:
  - {tee: sgx, measurements: ["01"], signers: ["02"], product_ids: ["9"]}
  - {tee: sgx, measurements: ["68823bc6aa"], signers: ["9affcfae"], min_svn: 5}
`)
	r := Appraise(sgxClaims(), p, now)
	if r.Accepted() || len(r.Reasons) != 1 || r.Reasons[0].Field != FieldSVN {
		t.Fatalf("reasons = %v, want only the svn of the closer reference", r.Reasons)
	}
}

func TestParsePolicyRefusals(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"misspelled field", "name: x\nreferences: [{tee: sgx, measurement: [\"01\"]}]", "unknown field"},
		{"unknown tee", "name: x\nreferences: [{tee: sxg, any_code: true}]", "unknown TEE"},
		{"bad hex", "name: x\nreferences: [{tee: sgx, measurements: [\"zz\"]}]", "hex"},
		{"no name", "references: [{tee: sgx, any_code: true}]", "name is empty"},
		{"no references", "name: x", "no references"},
		{"sim without allow", "name: x\nreferences: [{tee: sim, any_code: true}]", "allow_simulation"},
		{"duplicate key hides a pin", "name: x\nreferences: [{tee: sgx, measurements: [\"aa\"], measurements: []}]", "already set"},
		{"duplicate json key", `{"name":"x","references":[{"tee":"sgx","measurements":["aa"],"measurements":[]}]}`, "already set"},
		{"case variant key", "name: x\nreferences: [{tee: sgx, MEASUREMENTS: [\"aa\"]}]", "unknown field"},
		{"pins no code", "name: x\nreferences: [{tee: sevsnp}]", "pins no code"},
		{"empty measurement", "name: x\nreferences: [{tee: sgx, measurements: [\"\"]}]", "is empty"},
		{"revoked listed", "name: x\nreferences: [{tee: sgx, any_code: true, tcb_statuses: [Revoked]}]", "never acceptable"},
		{"revoked tolerated", "name: x\nreferences: [{tee: sgx, any_code: true}]\ntolerations: [{field: tcb_status, value: Revoked, expires: 2030-01-01, reason: r}]", "cannot be tolerated"},
		{"debug tolerated", "name: x\nreferences: [{tee: sgx, any_code: true}]\ntolerations: [{field: debug, expires: 2030-01-01, reason: r}]", "cannot be tolerated"},
		{"status without value", "name: x\nreferences: [{tee: sgx, any_code: true}]\ntolerations: [{field: tcb_status, expires: 2030-01-01, reason: r}]", "needs the exact value"},
		{"raw without value", "name: x\nreferences: [{tee: sgx, any_code: true}]\ntolerations: [{field: raw.host_data, expires: 2030-01-01, reason: r}]", "needs the exact value"},
		{"misspelled toleration field", "name: x\nreferences: [{tee: sgx, any_code: true}]\ntolerations: [{field: measurment, expires: 2030-01-01, reason: r}]", "unknown field"},
		{"untolerable", "name: x\nreferences: [{tee: sgx, any_code: true}]\ntolerations: [{field: measurement, expires: 2030-01-01, reason: r}]", "cannot be tolerated"},
		{"toleration without expiry", "name: x\nreferences: [{tee: sgx, any_code: true}]\ntolerations: [{field: svn, reason: r}]", "every toleration must end"},
		{"toleration without reason", "name: x\nreferences: [{tee: sgx, any_code: true}]\ntolerations: [{field: svn, expires: 2030-01-01}]", "reason is empty"},
		{"bad date", "name: x\nreferences: [{tee: sgx, any_code: true}]\ntolerations: [{field: svn, expires: soon, reason: r}]", "YYYY-MM-DD"},
		{"bad status", "name: x\nreferences: [{tee: sgx, any_code: true, tcb_statuses: [Fine]}]", "unknown TCB status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.doc))
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePolicy() = %v, want ErrInvalidPolicy mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParsePolicyJSON(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"name":"j","references":[{"tee":"tdx","measurements":["aa"],"min_tcb":{"tee_tcb_svn":3}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.References[0].TEE != attest.TEETDX || p.References[0].MinTCB["tee_tcb_svn"] != 3 {
		t.Fatalf("policy = %+v", p)
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(policyYAML))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error %v does not wrap ErrInvalidPolicy", err)
			}
			return
		}
		// A valid policy appraises anything without panicking.
		Appraise(sgxClaims(), p, now)
	})
}

func TestAppraiseReviewCases(t *testing.T) {
	strict := mustPolicy(t, `
name: strict
references:
  - tee: tdx
    formats: [tdx.quote.v4]
    measurements: ["aa"]
    tcb_statuses: [UpToDate]
    platform_ids: ["c0806f000000"]
    raw: {mr_config_id: "00ff", cmdline: "console=ttyS0"}
`)
	anyCode := mustPolicy(t, "name: any\nreferences: [{tee: tdx, any_code: true}]\n")
	revokedTol := mustPolicy(t, "name: t\nreferences: [{tee: tdx, measurements: [\"aa\"]}]\ntolerations: [{field: tcb_status, value: OutOfDate, expires: 2030-01-01, reason: r}]\n")
	good := func() *attest.Claims {
		return &attest.Claims{Format: attest.FormatTDX, TEE: attest.TEETDX, Measurement: attest.Hex{0xaa}, TCBStatus: attest.TCBUpToDate,
			PlatformID: attest.Hex{0xc0, 0x80, 0x6f, 0, 0, 0}, Raw: map[string]any{"mr_config_id": attest.Hex{0x00, 0xff}, "cmdline": "console=ttyS0"}}
	}
	tests := []struct {
		name   string
		policy *Policy
		edit   func(c *attest.Claims)
		at     time.Time
		want   ear.TrustTier
		field  string
	}{
		{"strict affirming", strict, func(c *attest.Claims) {}, now, ear.TrustTierAffirming, ""},
		{"explicit list refuses Unevaluated", strict, func(c *attest.Claims) { c.TCBStatus = attest.TCBUnevaluated }, now, ear.TrustTierContraindicated, FieldTCBStatus},
		{"relayed format refused", strict, func(c *attest.Claims) { c.Format = attest.FormatMAA }, now, ear.TrustTierContraindicated, FieldFormat},
		{"other platform", strict, func(c *attest.Claims) { c.PlatformID = attest.Hex{1} }, now, ear.TrustTierContraindicated, FieldPlatformID},
		{"raw missing", strict, func(c *attest.Claims) { delete(c.Raw, "mr_config_id") }, now, ear.TrustTierContraindicated, "raw.mr_config_id"},
		{"raw hex case-insensitive", strict, func(c *attest.Claims) {}, now, ear.TrustTierAffirming, ""},
		{"raw string exact", strict, func(c *attest.Claims) { c.Raw["cmdline"] = "CONSOLE=ttyS0" }, now, ear.TrustTierContraindicated, "raw.cmdline"},
		{"any code capped at warning", anyCode, func(c *attest.Claims) { c.Measurement = attest.Hex{0x42} }, now, ear.TrustTierWarning, FieldMeasurement},
		{"revoked never tolerated", revokedTol, func(c *attest.Claims) { c.TCBStatus = attest.TCBRevoked }, now, ear.TrustTierContraindicated, FieldTCBStatus},
		{"zero time means now, not forever", revokedTol, func(c *attest.Claims) { c.TCBStatus = attest.TCBOutOfDate }, time.Time{}, ear.TrustTierWarning, FieldTCBStatus},
		{"nested raw claim", mustPolicy(t, "name: nested\nreferences: [{tee: tdx, measurements: [\"aa\"], raw: {pcrs.7: \"ab\"}}]\n"), func(c *attest.Claims) {
			c.Raw["pcrs"] = map[string]attest.Hex{"7": {0xab}}
		}, now, ear.TrustTierAffirming, ""},
		{"nested raw claim differs", mustPolicy(t, "name: nested\nreferences: [{tee: tdx, measurements: [\"aa\"], raw: {pcrs.7: \"ab\"}}]\n"), func(c *attest.Claims) {
			c.Raw["pcrs"] = map[string]attest.Hex{"7": {0xac}}
		}, now, ear.TrustTierContraindicated, "raw.pcrs.7"},
		{"sim by format alone is sim", strict, func(c *attest.Claims) { c.Format = attest.FormatSim }, now, ear.TrustTierContraindicated, FieldSimulation},
		{"sim by warning alone is sim", strict, func(c *attest.Claims) { c.Warnings = []string{attest.SimulationWarning} }, now, ear.TrustTierContraindicated, FieldSimulation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(c)
			r := Appraise(c, tt.policy, tt.at)
			if r.Status != tt.want {
				t.Fatalf("status = %v, want %v; reasons %v", r.Status, tt.want, r.Reasons)
			}
			if tt.field == "" {
				if len(r.Reasons) != 0 {
					t.Fatalf("reasons = %v", r.Reasons)
				}
				return
			}
			found := false
			for _, re := range r.Reasons {
				found = found || re.Field == tt.field
			}
			if !found {
				t.Fatalf("reasons = %v, want one for %s", r.Reasons, tt.field)
			}
		})
	}
}
