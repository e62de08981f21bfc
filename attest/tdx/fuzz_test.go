package tdx

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/google/go-tdx-guest/pcs"
	tdxtesting "github.com/google/go-tdx-guest/testing"
	gotdx "github.com/google/go-tdx-guest/testing/testdata"
)

// The committed corpora in testdata/fuzz hold the real quotes and
// collateral; the f.Add seeds repeat them so that the fuzzers start from
// real inputs even if the corpus directory is emptied.

func FuzzParseTCBInfo(f *testing.F) {
	_, items := readOasis(f)
	f.Add(items[collateral.KindTCBInfo])
	f.Add(gotdx.TcbInfoBody)
	f.Fuzz(func(t *testing.T, b []byte) {
		ti, err := parseTCBInfo(b)
		if err == nil && len(ti.body) == 0 {
			t.Fatal("parsed without a body")
		}
		if err == nil {
			// Whatever parses must go through the checks without panicking.
			_ = checkTCBInfo(&ti.info, oasisTime)
		}
	})
}

func FuzzParseQEIdentity(f *testing.F) {
	_, items := readOasis(f)
	f.Add(items[collateral.KindQEIdentity])
	f.Add(gotdx.QeIdentityBody)
	f.Fuzz(func(t *testing.T, b []byte) {
		qe, err := parseQEIdentity(b)
		if err == nil && len(qe.body) == 0 {
			t.Fatal("parsed without a body")
		}
		if err == nil {
			_ = checkQEIdentity(&qe.id, oasisTime)
		}
	})
}

func FuzzParseSigningChain(f *testing.F) {
	_, items := readOasis(f)
	f.Add(items[collateral.KindTCBSigningChain])
	if chain, err := url.QueryUnescape(tdxtesting.TcbInfoHeader[pcs.TcbInfoIssuerChainPhrase][0]); err == nil {
		f.Add([]byte(chain))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseSigningChain(b)
		if err == nil && c == nil {
			t.Fatal("nil certificate without error")
		}
	})
}

func FuzzParseCRL(f *testing.F) {
	f.Add(gotdx.PckCrlBody)
	f.Add(gotdx.RootCrlBody)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCRL(b)
		if err == nil && c == nil {
			t.Fatal("nil CRL without error")
		}
	})
}

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
