package tdx

import (
	"context"
	"errors"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	gotdx "github.com/google/go-tdx-guest/testing/testdata"
)

// The committed corpus in testdata/fuzz holds the real quotes; the f.Add
// seeds repeat them so that the fuzzer starts from real inputs even if the
// corpus directory is emptied. The fuzzers of the collateral parsers, which
// SGX and TDX verification share, are in attest/internal/dcap.

// FuzzVerify checks that Verify never panics and that every refusal
// belongs to exactly one class.
func FuzzVerify(f *testing.F) {
	raw, items := readOasis(f)
	f.Add(raw)
	f.Add(gotdx.RawQuote)
	v := NewVerifier(Config{})
	src := &memSource{items: items}
	classes := []error{attest.ErrMalformed, attest.ErrSignature, attest.ErrCertificate, attest.ErrCollateral, attest.ErrTCB, attest.ErrBinding}
	f.Fuzz(func(t *testing.T, b []byte) {
		src.reqs = nil
		c, err := v.Verify(context.Background(), evidence(b), attest.Options{Now: oasisTime, Collateral: src})
		if err == nil {
			if c == nil || c.Format != attest.FormatTDX {
				t.Fatalf("accepted with claims %+v", c)
			}
			return
		}
		n := 0
		for _, class := range classes {
			if errors.Is(err, class) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("refusal %v belongs to %d classes", err, n)
		}
	})
}
