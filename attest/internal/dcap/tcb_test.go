package dcap

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
)

const (
	up   = attest.TCBUpToDate
	swh  = attest.TCBSWHardeningNeeded
	cfg  = attest.TCBConfigurationNeeded
	cfgS = attest.TCBConfigurationAndSWHardeningNeeded
	ood  = attest.TCBOutOfDate
	oodC = attest.TCBOutOfDateConfigurationNeeded
	rev  = attest.TCBRevoked
)

// TestCombineStatusPlatformAndQE is Intel's QVL rule for a platform and
// its QE (convergeTcbStatusWithQeTcbStatus), which the union of facets
// reproduces wherever Intel's rule says anything.
func TestCombineStatusPlatformAndQE(t *testing.T) {
	tests := []struct{ platform, qe, want attest.TCBStatus }{
		{up, up, up},
		{swh, up, swh},
		{cfg, up, cfg},
		{cfgS, up, cfgS},
		{ood, up, ood},
		{oodC, up, oodC},
		{up, ood, ood},
		{swh, ood, ood},
		{cfg, ood, oodC},
		{cfgS, ood, oodC},
		{ood, ood, ood},
		{oodC, ood, oodC},
		{up, rev, rev},
		{cfg, rev, rev},
	}
	for _, tt := range tests {
		if got := combineStatus(tt.platform, tt.qe); got != tt.want {
			t.Errorf("combineStatus(%v, %v) = %v, want %v", tt.platform, tt.qe, got, tt.want)
		}
	}
}

// TestCombineStatus covers what Intel's rule leaves out: more than two
// parts (a TDX module), and parts other than the platform whose status is
// neither UpToDate nor OutOfDate.
func TestCombineStatus(t *testing.T) {
	tests := []struct {
		in   []attest.TCBStatus
		want attest.TCBStatus
	}{
		{[]attest.TCBStatus{up, up, up}, up},
		{[]attest.TCBStatus{swh, up}, swh},
		{[]attest.TCBStatus{up, ood}, ood},
		{[]attest.TCBStatus{swh, ood}, ood},
		{[]attest.TCBStatus{cfg, ood}, oodC},
		{[]attest.TCBStatus{cfgS, ood}, oodC},
		{[]attest.TCBStatus{cfg, swh}, cfgS},
		{[]attest.TCBStatus{up, cfg}, cfg},
		{[]attest.TCBStatus{oodC, up}, oodC},
		{[]attest.TCBStatus{up, rev, ood}, rev},
		{[]attest.TCBStatus{up, up, ood}, ood},
	}
	for _, tt := range tests {
		if got := combineStatus(tt.in...); got != tt.want {
			t.Errorf("combineStatus(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func level(status attest.TCBStatus, date string, adv ...string) *pcs.Level {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		panic(err)
	}
	return &pcs.Level{Date: d, Status: status, Advisories: adv}
}

func TestCombine(t *testing.T) {
	v, err := Combine(
		Part{"platform", level(swh, "2023-01-01", "A", "B")},
		Part{"tdx module", level(up, "2024-01-01")},
		Part{"qe", level(ood, "2022-06-01", "B", "C", "A")},
	)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != ood || !v.Date.Equal(time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)) || !slices.Equal(v.Advisories, []string{"A", "B", "C"}) {
		t.Errorf("verdict %+v", v)
	}
	if v, err := Combine(Part{"platform", level(up, "2023-01-01")}); err != nil || v.Advisories != nil {
		t.Errorf("one part without advisories: %+v, %v", v, err)
	}
	_, err = Combine(Part{"platform", level(up, "2023-01-01")}, Part{"qe", level(rev, "2023-01-01")})
	var ce *attest.CheckError
	if !errors.Is(err, attest.ErrTCB) || !errors.As(err, &ce) || ce.Field != "tcb_status" || ce.Actual != "Revoked (platform UpToDate, qe Revoked)" {
		t.Errorf("revoked part: %v", err)
	}
}

func TestMatchPlatform(t *testing.T) {
	lv := func(sgx uint8, pcesvn uint16, tdx uint8, status attest.TCBStatus) pcs.TCBLevel {
		var l pcs.TCBLevel
		for i := range l.SGXComponents {
			l.SGXComponents[i], l.TDXComponents[i] = sgx, tdx
		}
		l.PCESVN, l.Status = pcesvn, status
		return l
	}
	sgx := &pcs.TCBInfo{ID: pcs.TCBInfoIDSGX, Levels: []pcs.TCBLevel{lv(6, 12, 0, up), lv(5, 11, 0, swh), lv(4, 10, 0, rev)}}
	tdx := &pcs.TCBInfo{ID: pcs.TCBInfoIDTDX, Levels: []pcs.TCBLevel{lv(6, 12, 6, up), lv(5, 11, 5, ood)}}
	all := func(n uint8) (a [16]uint8) {
		for i := range a {
			a[i] = n
		}
		return a
	}
	low := all(5)
	low[0], low[1] = 1, 1 // the TDX module's SVN and major version
	tests := []struct {
		name string
		ti   *pcs.TCBInfo
		p    PlatformTCB
		want int // index of the level, -1: refused
	}{
		{"sgx top", sgx, PlatformTCB{SGX: all(7), PCESVN: 12}, 0},
		{"sgx pcesvn", sgx, PlatformTCB{SGX: all(7), PCESVN: 11}, 1},
		{"sgx one component", sgx, PlatformTCB{SGX: func() [16]uint8 { a := all(6); a[15] = 5; return a }(), PCESVN: 12}, 1},
		{"sgx revoked level is returned", sgx, PlatformTCB{SGX: all(4), PCESVN: 10}, 2},
		{"sgx below every level", sgx, PlatformTCB{SGX: all(3), PCESVN: 12}, -1},
		{"tdx top", tdx, PlatformTCB{SGX: all(6), PCESVN: 12, TDX: ptr(all(6))}, 0},
		{"tdx components", tdx, PlatformTCB{SGX: all(6), PCESVN: 12, TDX: ptr(all(5))}, 1},
		{"tdx components from index 2", tdx, PlatformTCB{SGX: all(6), PCESVN: 12, TDX: ptr(low), TDXFrom: 2}, 1},
		{"tdx components from index 0", tdx, PlatformTCB{SGX: all(6), PCESVN: 12, TDX: ptr(low)}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := MatchPlatform(tt.ti, tt.p)
			if tt.want < 0 {
				var ce *attest.CheckError
				if !errors.Is(err, attest.ErrTCB) || !errors.As(err, &ce) || ce.Field != "tcb_info.tcbLevels" {
					t.Fatalf("err = %v, want ErrTCB on tcb_info.tcbLevels", err)
				}
				return
			}
			if err != nil || l != &tt.ti.Levels[tt.want] {
				t.Fatalf("level %+v, %v; want level %d", l, err, tt.want)
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("MatchPlatform matched TDX TCB info without TDX components")
		}
	}()
	_, _ = MatchPlatform(tdx, PlatformTCB{SGX: all(6), PCESVN: 12})
}

func ptr[T any](v T) *T { return &v }

func TestMatchISVSVN(t *testing.T) {
	levels := []pcs.EnclaveLevel{{ISVSVN: 8, Level: pcs.Level{Status: up}}, {ISVSVN: 6, Level: pcs.Level{Status: ood}}}
	for svn, want := range map[uint16]int{9: 0, 8: 0, 7: 1, 6: 1, 5: -1} {
		l, err := MatchISVSVN("qe_identity.tcbLevels", levels, svn)
		if want < 0 {
			var ce *attest.CheckError
			if !errors.Is(err, attest.ErrTCB) || !errors.As(err, &ce) || ce.Field != "qe_identity.tcbLevels" {
				t.Errorf("isvsvn %d: %v, want ErrTCB on qe_identity.tcbLevels", svn, err)
			}
			continue
		}
		if err != nil || l != &levels[want] {
			t.Errorf("isvsvn %d: level %+v, %v; want level %d", svn, l, err, want)
		}
	}
}
