package formats

import (
	"slices"
	"testing"

	"github.com/cofre-cc/cofre/attest"
)

func TestEveryFormatRegistered(t *testing.T) {
	reg, err := NewRegistry(Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{attest.FormatMAA, attest.FormatNVGPU, attest.FormatSEVSNP, attest.FormatSGX, attest.FormatSim, attest.FormatTDX, attest.FormatTPM}
	slices.Sort(want)
	if got := reg.Formats(); !slices.Equal(got, want) {
		t.Fatalf("Formats() = %v, want %v", got, want)
	}
	for _, f := range want {
		v, _ := reg.Verifier(f)
		if v.Format() != f {
			t.Errorf("verifier registered for %s says it verifies %s", f, v.Format())
		}
	}
}

func TestBadMAAIssuerRefused(t *testing.T) {
	if _, err := NewRegistry(Config{MAAIssuers: []string{"http://insecure.example"}}); err == nil {
		t.Fatal("a plain-http MAA issuer was accepted")
	}
}
