package tdx

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/dcap"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
)

// TestFakePlatform runs the verifier against the fake Intel of
// testkit_test.go: the real oasis quote and collateral, re-signed after a
// change that real hardware and Intel's PCS do not produce on demand.
func TestFakePlatform(t *testing.T) {
	realQuote, realCol := readOasis(t)
	type setup struct {
		f       *fakeIntel
		quote   []byte
		items   map[collateral.Kind][]byte
		profile pckProfile
	}
	tests := []struct {
		name    string
		profile func(*pckProfile)
		editQ   func(*quote.Quote)
		editTCB func(map[string]any)
		editQE  func(map[string]any)
		extra   func(s *setup) // runs last: adds CRLs, swaps items
		now     time.Time

		class error // nil: accepted
		field string
		check func(t *testing.T, c *attest.Claims, src *memSource)
	}{
		{
			name: "baseline",
			check: func(t *testing.T, c *attest.Claims, _ *memSource) {
				if c.TCBStatus != attest.TCBUpToDate || c.Debug {
					t.Errorf("TCBStatus, Debug = %v, %v", c.TCBStatus, c.Debug)
				}
			},
		},
		{
			name:  "debug TD",
			editQ: func(q *quote.Quote) { q.Body.TDAttributes[0] |= 1 },
			check: func(t *testing.T, c *attest.Claims, _ *memSource) {
				if !c.Debug || !hasWarning(c, "debug TD") {
					t.Errorf("Debug, Warnings = %v, %q", c.Debug, c.Warnings)
				}
				if got := c.Raw["td_attributes_flags"].([]string); !slices.Contains(got, "DEBUG") {
					t.Errorf("td_attributes_flags = %v", got)
				}
			},
		},
		{
			name: "platform level OutOfDate",
			editTCB: func(o map[string]any) {
				l := level(o, "tcbLevels", 0)
				l["tcbStatus"] = "OutOfDate"
				l["advisoryIDs"] = []any{"INTEL-SA-00001", "INTEL-SA-00002"}
			},
			check: func(t *testing.T, c *attest.Claims, _ *memSource) {
				if c.TCBStatus != attest.TCBOutOfDate {
					t.Errorf("TCBStatus = %v", c.TCBStatus)
				}
				if !slices.Equal(c.Advisories, []string{"INTEL-SA-00001", "INTEL-SA-00002"}) {
					t.Errorf("Advisories = %v", c.Advisories)
				}
				if !hasWarning(c, "TCB status OutOfDate") {
					t.Errorf("Warnings = %q", c.Warnings)
				}
			},
		},
		{
			// The quote's platform falls to the second level when its
			// late microcode SVN is lowered: OutOfDate, with that level's
			// date and advisories.
			name:  "lower platform level",
			editQ: func(q *quote.Quote) { q.Body.TEETCBSVN[2] = 6 },
			profile: func(p *pckProfile) {
				p.cpuSVN = [16]byte{6, 6, 2, 2, 3, 1, 0, 3}
			},
			check: func(t *testing.T, c *attest.Claims, _ *memSource) {
				if c.TCBStatus != attest.TCBOutOfDate {
					t.Errorf("TCBStatus = %v", c.TCBStatus)
				}
				if want := time.Date(2023, 8, 9, 0, 0, 0, 0, time.UTC); !c.TCBDate.Equal(want) {
					t.Errorf("TCBDate = %v, want %v", c.TCBDate, want)
				}
				if !slices.Equal(c.Advisories, []string{"INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"}) {
					t.Errorf("Advisories = %v", c.Advisories)
				}
			},
		},
		{
			name:    "platform level ConfigurationNeeded, QE OutOfDate",
			editTCB: func(o map[string]any) { level(o, "tcbLevels", 0)["tcbStatus"] = "ConfigurationNeeded" },
			editQE: func(o map[string]any) {
				l := level(o, "tcbLevels", 0)
				l["tcbStatus"] = "OutOfDate"
				l["tcbDate"] = "2020-01-01T00:00:00Z"
			},
			check: func(t *testing.T, c *attest.Claims, _ *memSource) {
				if c.TCBStatus != attest.TCBOutOfDateConfigurationNeeded {
					t.Errorf("TCBStatus = %v", c.TCBStatus)
				}
				if want := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC); !c.TCBDate.Equal(want) {
					t.Errorf("TCBDate = %v, want the earliest level date %v", c.TCBDate, want)
				}
				if c.Raw["tcb_status_qe"] != "OutOfDate" || c.Raw["tcb_status_platform"] != "ConfigurationNeeded" {
					t.Errorf("Raw statuses = %v, %v", c.Raw["tcb_status_platform"], c.Raw["tcb_status_qe"])
				}
			},
		},
		{
			// The quote's module (TDX_01, SVN 5) falls to the module
			// identity's OutOfDate level at SVN 3.
			name:  "tdx module OutOfDate",
			editQ: func(q *quote.Quote) { q.Body.TEETCBSVN[0] = 3 },
			check: func(t *testing.T, c *attest.Claims, _ *memSource) {
				if c.TCBStatus != attest.TCBOutOfDate || c.Raw["tcb_status_tdx_module"] != "OutOfDate" {
					t.Errorf("TCBStatus = %v, module %v", c.TCBStatus, c.Raw["tcb_status_tdx_module"])
				}
			},
		},
		{
			name:    "platform level Revoked",
			editTCB: func(o map[string]any) { level(o, "tcbLevels", 0)["tcbStatus"] = "Revoked" },
			class:   attest.ErrTCB, field: "tcb_status",
		},
		{
			name:   "qe level Revoked",
			editQE: func(o map[string]any) { level(o, "tcbLevels", 0)["tcbStatus"] = "Revoked" },
			class:  attest.ErrTCB, field: "tcb_status",
		},
		{
			name:  "tdx module below every level",
			editQ: func(q *quote.Quote) { q.Body.TEETCBSVN[0] = 1 },
			class: attest.ErrTCB, field: "tcb_info.tdxModuleIdentities[TDX_01].tcbLevels",
		},
		{
			name:  "tdx module of unknown major version",
			editQ: func(q *quote.Quote) { q.Body.TEETCBSVN[1] = 2 },
			class: attest.ErrTCB, field: "tcb_info.tdxModuleIdentities",
		},
		{
			name:    "platform below every level",
			profile: func(p *pckProfile) { p.pceSVN = 4 },
			class:   attest.ErrTCB, field: "tcb_info.tcbLevels",
		},
		{
			name:   "qe below every level",
			editQE: func(o map[string]any) { level(o, "tcbLevels", 0)["tcb"] = map[string]any{"isvsvn": 7} },
			class:  attest.ErrTCB, field: "qe_identity.tcbLevels",
		},
		{
			name:  "tdx module not signed by Intel",
			editQ: func(q *quote.Quote) { q.Body.MRSignerSEAM[0] = 1 },
			class: attest.ErrCollateral, field: "tcb_info.tdxModuleIdentities[TDX_01].mrsigner",
		},
		{
			name:  "tdx module attributes",
			editQ: func(q *quote.Quote) { q.Body.SEAMAttributes[7] = 0x80 },
			class: attest.ErrCollateral, field: "tcb_info.tdxModuleIdentities[TDX_01].attributes",
		},
		{
			name:   "qe not Intel's",
			editQE: func(o map[string]any) { o["mrsigner"] = strings.Repeat("AB", 32) },
			class:  attest.ErrCollateral, field: "qe_report.mrsigner",
		},
		{
			name:   "qe product",
			editQE: func(o map[string]any) { o["isvprodid"] = 3 },
			class:  attest.ErrCollateral, field: "qe_report.isvprodid",
		},
		{
			name:   "qe attributes",
			editQE: func(o map[string]any) { o["attributes"] = "13000000000000000000000000000000" },
			class:  attest.ErrCollateral, field: "qe_report.attributes",
		},
		{
			name:    "tcb info for another platform",
			editTCB: func(o map[string]any) { o["fmspc"] = "50806F000000" },
			class:   attest.ErrCollateral, field: "tcb_info.fmspc",
		},
		{
			name:    "tcb info for another PCE",
			editTCB: func(o map[string]any) { o["pceId"] = "0100" },
			class:   attest.ErrCollateral, field: "tcb_info.pceId",
		},
		{
			name:    "tcb info nextUpdate before the pinned time",
			editTCB: func(o map[string]any) { o["nextUpdate"] = "2024-09-01T00:00:00Z" },
			class:   attest.ErrCollateral, field: "tcb_info.nextUpdate",
		},
		{
			name:   "qe identity nextUpdate before the pinned time",
			editQE: func(o map[string]any) { o["nextUpdate"] = "2024-09-01T00:00:00Z" },
			class:  attest.ErrCollateral, field: "qe_identity.nextUpdate",
		},
		{
			name:    "tcb info of SGX",
			editTCB: func(o map[string]any) { o["id"] = "SGX" },
			class:   attest.ErrCollateral, field: "tcb_info.id",
		},
		{
			name:    "tcb info version 2",
			editTCB: func(o map[string]any) { o["version"] = 2 },
			class:   attest.ErrCollateral, field: "tcb_info.version",
		},
		{
			name:    "tcb info without levels",
			editTCB: func(o map[string]any) { o["tcbLevels"] = []any{} },
			class:   attest.ErrCollateral, field: "tcb_info.tcbLevels",
		},
		{
			name: "tcb level with 15 components",
			editTCB: func(o map[string]any) {
				t := level(o, "tcbLevels", 0)["tcb"].(map[string]any)
				t["sgxtcbcomponents"] = t["sgxtcbcomponents"].([]any)[:15]
			},
			class: attest.ErrCollateral, field: "tcb_info.tcbLevels[0].tcb.sgxtcbcomponents",
		},
		{
			name:    "tcb level date",
			editTCB: func(o map[string]any) { level(o, "tcbLevels", 1)["tcbDate"] = "yesterday" },
			class:   attest.ErrCollateral, field: "tcb_info.tcbLevels[1].tcbDate",
		},
		{
			name:   "qe identity of the SGX QE",
			editQE: func(o map[string]any) { o["id"] = "QE" },
			class:  attest.ErrCollateral, field: "qe_identity.id",
		},
		{
			name: "collateral signed by the PCK CA",
			extra: func(s *setup) {
				s.items[collateral.KindTCBInfo] = signedJSON(t, realCol[collateral.KindTCBInfo], "tcbInfo", s.f.pckCA.key, nil)
				s.items[collateral.KindTCBSigningChain] = pemCert(s.f.pckCA.cert)
			},
			class: attest.ErrCollateral, field: "tcb_signing.subject.CN",
		},
		{
			name: "collateral signed by another key",
			extra: func(s *setup) {
				s.items[collateral.KindQEIdentity] = signedJSON(t, realCol[collateral.KindQEIdentity], "enclaveIdentity", s.f.pck.key, nil)
			},
			class: attest.ErrCollateral, field: "qe_identity.signature",
		},
		{
			name: "current CRLs, nothing revoked",
			extra: func(s *setup) {
				s.items[collateral.KindRootCRL] = crl(t, s.f.root, oasisTime.Add(-time.Hour), oasisTime.Add(time.Hour))
				s.items[collateral.KindPCKCRL] = crl(t, s.f.pckCA, oasisTime.Add(-time.Hour), oasisTime.Add(time.Hour))
			},
			check: func(t *testing.T, c *attest.Claims, _ *memSource) {
				if len(c.Warnings) != 0 {
					t.Errorf("Warnings = %q, want none", c.Warnings)
				}
			},
		},
		{
			name: "stale PCK CRL",
			extra: func(s *setup) {
				s.items[collateral.KindRootCRL] = crl(t, s.f.root, oasisTime.Add(-time.Hour), oasisTime.Add(time.Hour))
				s.items[collateral.KindPCKCRL] = crl(t, s.f.pckCA, oasisTime.Add(-48*time.Hour), oasisTime.Add(-24*time.Hour))
			},
			check: func(t *testing.T, c *attest.Claims, _ *memSource) {
				if len(c.Warnings) != 1 || !hasWarning(c, "pck_crl expired") {
					t.Errorf("Warnings = %q, want one stale PCK CRL warning", c.Warnings)
				}
			},
		},
		{
			name: "PCK certificate revoked",
			extra: func(s *setup) {
				s.items[collateral.KindPCKCRL] = crl(t, s.f.pckCA, oasisTime.Add(-time.Hour), oasisTime.Add(time.Hour), s.f.pck.cert)
			},
			class: attest.ErrCertificate, field: "pck.serialNumber",
		},
		{
			name: "PCK CA revoked",
			extra: func(s *setup) {
				s.items[collateral.KindRootCRL] = crl(t, s.f.root, oasisTime.Add(-time.Hour), oasisTime.Add(time.Hour), s.f.pckCA.cert)
			},
			class: attest.ErrCertificate, field: "pck_ca.serialNumber",
		},
		{
			name: "TCB signing certificate revoked",
			extra: func(s *setup) {
				s.items[collateral.KindRootCRL] = crl(t, s.f.root, oasisTime.Add(-time.Hour), oasisTime.Add(time.Hour), s.f.tcbSigner.cert)
			},
			class: attest.ErrCollateral, field: "tcb_signing.serialNumber",
		},
		{
			name: "PCK CRL signed by the root",
			extra: func(s *setup) {
				s.items[collateral.KindPCKCRL] = crl(t, s.f.root, oasisTime.Add(-time.Hour), oasisTime.Add(time.Hour))
			},
			class: attest.ErrCollateral, field: "pck_crl.issuer",
		},
		{
			name: "PCK CRL with a forged signature",
			extra: func(s *setup) {
				// Same issuer name, another key.
				other := newFakeIntel(t, s.profile)
				s.items[collateral.KindPCKCRL] = crl(t, other.pckCA, oasisTime.Add(-time.Hour), oasisTime.Add(time.Hour))
			},
			class: attest.ErrCollateral, field: "pck_crl.signature",
		},
		{
			name:    "processor CA",
			profile: func(p *pckProfile) { p.caCN = dcap.CNProcessorCA },
			check: func(t *testing.T, c *attest.Claims, src *memSource) {
				if c.Raw["pck_ca"] != "processor" {
					t.Errorf("pck_ca = %v", c.Raw["pck_ca"])
				}
				if !slices.ContainsFunc(src.reqs, func(r collateral.Request) bool { return r.Kind == collateral.KindPCKCRL && r.CA == "processor" }) {
					t.Errorf("requests = %+v, want the processor CA's PCK CRL", src.reqs)
				}
			},
		},
		{
			name:    "PCK certificate from an unknown CA",
			profile: func(p *pckProfile) { p.caCN = "Intel SGX PCK Other CA" },
			class:   attest.ErrCertificate, field: "pck_ca.subject.CN",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oasisProfile()
			if tt.profile != nil {
				tt.profile(&p)
			}
			f := newFakeIntel(t, p)
			s := &setup{f: f, profile: p, quote: f.quote(t, realQuote, tt.editQ), items: f.collateral(t, realCol, tt.editTCB, tt.editQE)}
			if tt.extra != nil {
				tt.extra(s)
			}
			now := tt.now
			if now.IsZero() {
				now = oasisTime
			}
			src := &memSource{items: s.items}
			c, err := NewVerifier(Config{Root: f.root.cert}).Verify(context.Background(), evidence(s.quote), attest.Options{Now: now, Collateral: src})
			if tt.class != nil {
				wantRefusal(t, err, tt.class, tt.field)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c, src)
			}
			// Claims must survive JSON, as tokens carry them.
			if _, err := json.Marshal(c); err != nil {
				t.Errorf("claims do not marshal: %v", err)
			}
		})
	}
}

// The fake quote must not verify under Intel's real root.
func TestFakePlatformRefusedUnderIntelRoot(t *testing.T) {
	realQuote, realCol := readOasis(t)
	f := newFakeIntel(t, oasisProfile())
	_, err := NewVerifier(Config{}).Verify(context.Background(), evidence(f.quote(t, realQuote, nil)), attest.Options{Now: oasisTime, Collateral: &memSource{items: realCol}})
	wantRefusal(t, err, attest.ErrCertificate, "root")
}

func hasWarning(c *attest.Claims, prefix string) bool {
	return slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.HasPrefix(w, prefix) })
}
