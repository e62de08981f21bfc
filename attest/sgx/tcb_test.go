package sgx

import (
	"testing"

	"github.com/cofre-cc/cofre/attest"
)

func TestConvergeStatus(t *testing.T) {
	const (
		up   = attest.TCBUpToDate
		swh  = attest.TCBSWHardeningNeeded
		cfg  = attest.TCBConfigurationNeeded
		cfgS = attest.TCBConfigurationAndSWHardeningNeeded
		ood  = attest.TCBOutOfDate
		oodC = attest.TCBOutOfDateConfigurationNeeded
		rev  = attest.TCBRevoked
	)
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
		if got := convergeStatus(tt.platform, tt.qe); got != tt.want {
			t.Errorf("convergeStatus(%v, %v) = %v, want %v", tt.platform, tt.qe, got, tt.want)
		}
	}
}

func TestMergeAdvisories(t *testing.T) {
	got := mergeAdvisories([]string{"A", "B"}, []string{"B", "C", "A"})
	if len(got) != 3 || got[0] != "A" || got[1] != "B" || got[2] != "C" {
		t.Errorf("merge = %v", got)
	}
	if got := mergeAdvisories(nil, nil); got != nil {
		t.Errorf("merge of nothing = %v", got)
	}
}
