package tdx

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
	"github.com/google/go-tdx-guest/pcs"
	tdxtesting "github.com/google/go-tdx-guest/testing"
	gotdx "github.com/google/go-tdx-guest/testing/testdata"
	tdxverify "github.com/google/go-tdx-guest/verify"
)

// goTDXTime is when go-tdx-guest's own vector and cached collateral are
// valid, as its verify tests pin it.
var goTDXTime = time.Date(2023, time.July, 1, 1, 0, 0, 0, time.UTC)

// goTDXSource serves go-tdx-guest's cached Intel PCS responses for its
// Sapphire Rapids quote (FMSPC 50806f000000). The TCB signing chain is the
// TCB-Info-Issuer-Chain header its mock PCS returns.
func goTDXSource(t testing.TB) *memSource {
	t.Helper()
	chain, err := url.QueryUnescape(tdxtesting.TcbInfoHeader[pcs.TcbInfoIssuerChainPhrase][0])
	if err != nil {
		t.Fatal(err)
	}
	return &memSource{items: map[collateral.Kind][]byte{
		collateral.KindTCBInfo:         gotdx.TcbInfoBody,
		collateral.KindQEIdentity:      gotdx.QeIdentityBody,
		collateral.KindTCBSigningChain: []byte(chain),
		collateral.KindPCKCRL:          gotdx.PckCrlBody,
		collateral.KindRootCRL:         gotdx.RootCrlBody,
	}}
}

func evidence(b []byte) attest.Evidence { return attest.Evidence{Format: attest.FormatTDX, Payload: b} }

// fields lists the Field of every CheckError in err's tree.
func fields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if ce, ok := e.(*attest.CheckError); ok {
			out = append(out, ce.Field)
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// wantRefusal fails unless err belongs to class (and to no other class), and,
// if field is not empty, names it.
func wantRefusal(t *testing.T, err, class error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want refusal %v", class)
	}
	if !errors.Is(err, class) {
		t.Fatalf("err = %v, want class %v", err, class)
	}
	for _, other := range []error{attest.ErrMalformed, attest.ErrSignature, attest.ErrCertificate, attest.ErrCollateral, attest.ErrTCB, attest.ErrBinding} {
		if other != class && errors.Is(err, other) {
			t.Fatalf("err = %v belongs to %v as well as %v", err, other, class)
		}
	}
	if field != "" && !slices.Contains(fields(err), field) {
		t.Fatalf("err = %v names fields %q, want %q", err, fields(err), field)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestVerifyRealOasisQuote(t *testing.T) {
	raw, err := os.ReadFile(oasisQuote)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(Config{})
	c, err := v.Verify(context.Background(), evidence(raw), attest.Options{Now: oasisTime, Collateral: collateral.Dir(oasisDir)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != attest.FormatTDX || c.TEE != attest.TEETDX {
		t.Errorf("format, tee = %q, %v", c.Format, c.TEE)
	}
	if want := mustHex("91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"); !bytes.Equal(c.Measurement, want) {
		t.Errorf("Measurement = %s, want MRTD %x", c.Measurement, want)
	}
	if want := mustHex("c0806f000000"); !bytes.Equal(c.PlatformID, want) {
		t.Errorf("PlatformID = %s, want FMSPC %x", c.PlatformID, want)
	}
	if len(c.ReportData) != 64 {
		t.Errorf("ReportData is %d bytes", len(c.ReportData))
	}
	if c.Signer != nil || c.ProductID != "" || c.SVN != 0 {
		t.Errorf("Signer, ProductID, SVN = %s, %q, %d; TDX has none", c.Signer, c.ProductID, c.SVN)
	}
	if c.Debug {
		t.Error("Debug = true")
	}
	if c.TCBStatus != attest.TCBUpToDate {
		t.Errorf("TCBStatus = %v", c.TCBStatus)
	}
	if want := time.Date(2024, 3, 13, 0, 0, 0, 0, time.UTC); !c.TCBDate.Equal(want) {
		t.Errorf("TCBDate = %v, want %v", c.TCBDate, want)
	}
	if len(c.Advisories) != 0 {
		t.Errorf("Advisories = %v", c.Advisories)
	}
	wantTCB := map[string]uint64{"tdx_module_svn": 5, "tdx_module_major": 1, "tdx_late_microcode": 7, "pcesvn": 11, "qesvn": 6}
	for k, want := range wantTCB {
		if c.TCB[k] != want {
			t.Errorf("TCB[%q] = %d, want %d", k, c.TCB[k], want)
		}
	}
	if len(c.TCB) != len(wantTCB) {
		t.Errorf("TCB = %v", c.TCB)
	}
	if got := c.Raw["tdx_module_identity"]; got != "TDX_01" {
		t.Errorf("Raw[tdx_module_identity] = %v", got)
	}
	if got := c.Raw["td_attributes_flags"]; !slices.Equal(got.([]string), []string{"SEPT_VE_DISABLE"}) {
		t.Errorf("Raw[td_attributes_flags] = %v", got)
	}
	for _, k := range []string{"mr_seam", "mr_signer_seam", "seam_attributes", "td_attributes", "xfam", "mr_config_id", "mr_owner", "mr_owner_config", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "tee_tcb_svn"} {
		if _, ok := c.Raw[k].(attest.Hex); !ok {
			t.Errorf("Raw[%q] = %T, want attest.Hex", k, c.Raw[k])
		}
	}
	// The bundle has no CRLs: two warnings, and no others.
	if len(c.Warnings) != 2 || !strings.Contains(c.Warnings[0], "CRL not available") || !strings.Contains(c.Warnings[1], "CRL not available") {
		t.Errorf("Warnings = %q, want two 'CRL not available'", c.Warnings)
	}
}

func TestVerifyRequestsCollateralForThePlatform(t *testing.T) {
	raw, items := readOasis(t)
	src := &memSource{items: items}
	if _, err := NewVerifier(Config{}).Verify(context.Background(), evidence(raw), attest.Options{Now: oasisTime, Collateral: src}); err != nil {
		t.Fatal(err)
	}
	want := map[collateral.Kind]collateral.Request{
		collateral.KindTCBSigningChain: {Kind: collateral.KindTCBSigningChain, TEE: "tdx"},
		collateral.KindTCBInfo:         {Kind: collateral.KindTCBInfo, TEE: "tdx", FMSPC: "C0806F000000"},
		collateral.KindQEIdentity:      {Kind: collateral.KindQEIdentity, TEE: "tdx"},
		collateral.KindRootCRL:         {Kind: collateral.KindRootCRL, TEE: "tdx"},
		collateral.KindPCKCRL:          {Kind: collateral.KindPCKCRL, TEE: "tdx", CA: "platform"},
	}
	if len(src.reqs) != len(want) {
		t.Fatalf("requests = %+v", src.reqs)
	}
	for _, r := range src.reqs {
		w, ok := want[r.Kind]
		if !ok || r.Kind != w.Kind || r.TEE != w.TEE || r.FMSPC != w.FMSPC || r.CA != w.CA {
			t.Errorf("request %+v, want %+v", r, w)
		}
	}
}

// go-tdx-guest's real Sapphire Rapids quote is genuine, but its platform
// (CPUSVN 03 03 02 02 02 01 00 02) is below every TCB level of the cached
// TCB info (05 05 02 02 03 01 00 03 and up): Intel does not recognize the
// TCB. Every earlier check, CRLs included, passes; go-tdx-guest's own test
// (TestNegativeRawQuoteVerifyWithCollateral) expects the same outcome.
func TestVerifyRealGoTDXGuestQuote(t *testing.T) {
	src := goTDXSource(t)
	_, err := NewVerifier(Config{}).Verify(context.Background(), evidence(gotdx.RawQuote), attest.Options{Now: goTDXTime, Collateral: src})
	wantRefusal(t, err, attest.ErrTCB, "tcb_info.tcbLevels")
	for _, k := range []collateral.Kind{collateral.KindRootCRL, collateral.KindPCKCRL} {
		if !slices.ContainsFunc(src.reqs, func(r collateral.Request) bool { return r.Kind == k }) {
			t.Errorf("%v was not consulted before the TCB verdict", k)
		}
	}

	// The vector carries 39 bytes after the quote, outside every
	// signature; they are ignored.
	q, err := quote.Parse(gotdx.RawQuote)
	if err != nil {
		t.Fatal(err)
	}
	if q.Trailing != 39 {
		t.Errorf("Trailing = %d, want go-tdx-guest's 39 test bytes", q.Trailing)
	}
}

func TestVerifyRealQuotesAtOtherTimes(t *testing.T) {
	raw, _ := readOasis(t)
	tests := []struct {
		name  string
		now   time.Time
		class error
		field string
	}{
		// Before the PCK certificate's notBefore (2024-09-02T07:15:54Z).
		{"before PCK certificate", time.Date(2024, 9, 2, 7, 0, 0, 0, time.UTC), attest.ErrCertificate, "pck.notBefore"},
		// After the TCB info's and QE identity's nextUpdate (2024-10-02).
		{"after tcb info nextUpdate", time.Date(2024, 10, 3, 0, 0, 0, 0, time.UTC), attest.ErrCollateral, "tcb_info.nextUpdate"},
		{"after qe identity nextUpdate", time.Date(2024, 10, 3, 0, 0, 0, 0, time.UTC), attest.ErrCollateral, "qe_identity.nextUpdate"},
		// After the TCB signing certificate (2025-05-21).
		{"after tcb signing certificate", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), attest.ErrCollateral, "tcb_signing.notAfter"},
		// After the PCK certificate (2031-09-02).
		{"after PCK certificate", time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC), attest.ErrCertificate, "pck.notAfter"},
	}
	v := NewVerifier(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), evidence(raw), attest.Options{Now: tt.now, Collateral: collateral.Dir(oasisDir)})
			wantRefusal(t, err, tt.class, tt.field)
		})
	}
}

// TestTamperedQuote flips security-relevant bytes of the real quote.
// go-tdx-guest's verifier (quote checks only, no collateral) must refuse
// every signature tamper too: a differential check of the signature links.
func TestTamperedQuote(t *testing.T) {
	raw, _ := readOasis(t)
	orig, err := quote.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(q *quote.Quote)) []byte {
		q, err := quote.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		f(q)
		return q.Marshal()
	}
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	// rechain replaces the quote's PCK chain with the PEM of ders.
	rechain := func(ders ...[]byte) func(q *quote.Quote) {
		return func(q *quote.Quote) {
			var out []byte
			for _, d := range ders {
				out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
			}
			q.PCKChain = out
		}
	}
	leaf, inter, root, err := quote.SplitPCKChain(orig.PCKChain)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		payload []byte
		class   error
		field   string
		library bool // go-tdx-guest must refuse it too
	}{
		{"quote signature", edit(func(q *quote.Quote) { q.Signature[7] ^= 1 }), attest.ErrSignature, "quote_signature", true},
		{"mrtd", edit(func(q *quote.Quote) { q.Body.MRTD[0] ^= 1 }), attest.ErrSignature, "quote_signature", true},
		{"report data", edit(func(q *quote.Quote) { q.Body.ReportData[63] ^= 1 }), attest.ErrSignature, "quote_signature", true},
		{"rtmr3", edit(func(q *quote.Quote) { q.Body.RTMR[3][5] ^= 1 }), attest.ErrSignature, "quote_signature", true},
		{"td attributes debug", edit(func(q *quote.Quote) { q.Body.TDAttributes[0] |= 1 }), attest.ErrSignature, "quote_signature", true},
		{"tee tcb svn", edit(func(q *quote.Quote) { q.Body.TEETCBSVN[0]++ }), attest.ErrSignature, "quote_signature", true},
		{"header user data", edit(func(q *quote.Quote) { q.Header.UserData[0] ^= 1 }), attest.ErrSignature, "quote_signature", true},
		{"qe report signature", edit(func(q *quote.Quote) { q.QEReportSignature[40] ^= 1 }), attest.ErrSignature, "qe_report_signature", true},
		{"qe report isvsvn", edit(func(q *quote.Quote) { q.QEReport.ISVSVN++ }), attest.ErrSignature, "qe_report_signature", true},
		{"qe report mrsigner", edit(func(q *quote.Quote) { q.QEReport.MRSigner[0] ^= 1 }), attest.ErrSignature, "qe_report_signature", true},
		{"qe auth data", edit(func(q *quote.Quote) { q.QEAuthData[0] ^= 1 }), attest.ErrSignature, "qe_report.report_data", true},
		{"attestation key", edit(func(q *quote.Quote) { q.AttestationKey[63] ^= 1 }), attest.ErrSignature, "qe_report.report_data", true},
		{"pck leaf signature", edit(rechain(flip(leaf, len(leaf)-3), inter, root)), attest.ErrCertificate, "pck.signature", true},
		{"pck leaf as intermediate", edit(rechain(leaf, leaf, root)), attest.ErrCertificate, "pck_ca.subject.CN", true},
		{"pck chain root not Intel's", edit(rechain(leaf, inter, inter)), attest.ErrCertificate, "root", true},
		{"pck chain without root", edit(rechain(leaf, inter)), attest.ErrMalformed, "", true},
		{"pck chain garbage certificate", edit(rechain(leaf, inter, []byte("not DER"))), attest.ErrMalformed, "", true},
		{"header version", edit(func(q *quote.Quote) { q.Header.Version = 3 }), attest.ErrMalformed, "", true},
		{"header tee type", edit(func(q *quote.Quote) { q.Header.TEEType = 0 }), attest.ErrMalformed, "", true},
		{"qe vendor", edit(func(q *quote.Quote) { q.Header.QEVendorID[0] ^= 1 }), attest.ErrCollateral, "header.qe_vendor_id", false},
		{"qe report reserved", flip(raw, quote.SignedSize+4+64+64+6+100), attest.ErrMalformed, "", false},
		{"signature data length", flip(raw, quote.SignedSize), attest.ErrMalformed, "", true},
		{"empty", nil, attest.ErrMalformed, "", true},
		{"oversized", make([]byte, maxPayloadSize+1), attest.ErrMalformed, "", true},
	}
	v := NewVerifier(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), evidence(tt.payload), attest.Options{Now: oasisTime, Collateral: collateral.Dir(oasisDir)})
			wantRefusal(t, err, tt.class, tt.field)
			if tt.library && len(tt.payload) >= quote.MinSize && len(tt.payload) <= len(raw)+64 {
				opts := &tdxverify.Options{Now: &tdxverify.TimeSet{PckCertChain: oasisTime, TcbInfo: oasisTime, QeIdentity: oasisTime, PckCrl: oasisTime, RootCaCrl: oasisTime}}
				if err := tdxverify.RawTdxQuote(tt.payload, opts); err == nil {
					t.Errorf("go-tdx-guest accepts the tampered quote")
				}
			}
		})
	}
}

// The untampered quotes must pass go-tdx-guest's checks as well, or the
// differential test above would prove nothing.
func TestGoTDXGuestAcceptsRealQuotes(t *testing.T) {
	raw, _ := readOasis(t)
	for name, tc := range map[string]struct {
		raw []byte
		now time.Time
	}{"oasis": {raw, oasisTime}, "go-tdx-guest": {gotdx.RawQuote, goTDXTime}} {
		opts := &tdxverify.Options{Now: &tdxverify.TimeSet{PckCertChain: tc.now, TcbInfo: tc.now, QeIdentity: tc.now, PckCrl: tc.now, RootCaCrl: tc.now}}
		if err := tdxverify.RawTdxQuote(tc.raw, opts); err != nil {
			t.Errorf("%s: go-tdx-guest: %v", name, err)
		}
	}
}

func TestTruncatedQuote(t *testing.T) {
	raw, _ := readOasis(t)
	v := NewVerifier(Config{})
	for n := 0; n < len(raw); n++ {
		_, err := v.Verify(context.Background(), evidence(raw[:n]), attest.Options{Now: oasisTime, Collateral: collateral.Dir(oasisDir)})
		if !errors.Is(err, attest.ErrMalformed) {
			t.Fatalf("quote truncated to %d bytes: err = %v, want ErrMalformed", n, err)
		}
	}
}

// TestTamperedCollateral changes the real collateral bundle, one file at a
// time.
func TestTamperedCollateral(t *testing.T) {
	raw, items := readOasis(t)
	// brokenChain flips a byte in the TCB signing certificate's signature.
	brokenChain := func() []byte {
		blk, rest := pem.Decode(items[collateral.KindTCBSigningChain])
		der := bytes.Clone(blk.Bytes)
		der[len(der)-5] ^= 1
		return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), rest...)
	}
	// rootOnly is a chain whose first certificate is the root, not the
	// TCB signing certificate.
	_, rootOnly := pem.Decode(items[collateral.KindTCBSigningChain])
	replace := func(k collateral.Kind, old, new string) []byte {
		b := items[k]
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%v has no %q", k, old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name  string
		kind  collateral.Kind
		data  []byte // nil removes the item
		class error
		field string
	}{
		{"tcb info status", collateral.KindTCBInfo, replace(collateral.KindTCBInfo, `"tcbStatus":"OutOfDate"`, `"tcbStatus":"UpToDate"`), attest.ErrCollateral, "tcb_info.signature"},
		{"tcb info nextUpdate", collateral.KindTCBInfo, replace(collateral.KindTCBInfo, `"nextUpdate":"2024-10-02`, `"nextUpdate":"2034-10-02`), attest.ErrCollateral, "tcb_info.signature"},
		{"tcb info signature", collateral.KindTCBInfo, replace(collateral.KindTCBInfo, `"signature":"b0`, `"signature":"b1`), attest.ErrCollateral, "tcb_info.signature"},
		{"tcb info not json", collateral.KindTCBInfo, []byte("{"), attest.ErrCollateral, "tcb_info.json"},
		{"tcb info missing", collateral.KindTCBInfo, nil, attest.ErrCollateral, "tcb_info.json"},
		{"qe identity mrsigner", collateral.KindQEIdentity, replace(collateral.KindQEIdentity, `"mrsigner":"DC`, `"mrsigner":"DD`), attest.ErrCollateral, "qe_identity.signature"},
		{"qe identity missing", collateral.KindQEIdentity, nil, attest.ErrCollateral, "qe_identity.json"},
		{"tcb signing chain broken", collateral.KindTCBSigningChain, brokenChain(), attest.ErrCollateral, "tcb_signing.signature"},
		{"tcb signing chain is the root", collateral.KindTCBSigningChain, rootOnly, attest.ErrCollateral, "tcb_signing.subject.CN"},
		{"tcb signing chain missing", collateral.KindTCBSigningChain, nil, attest.ErrCollateral, "tcb_signing_chain.pem"},
		{"pck crl garbage", collateral.KindPCKCRL, []byte("not a CRL"), attest.ErrCollateral, "pck_crl.der"},
		{"root crl garbage", collateral.KindRootCRL, []byte("not a CRL"), attest.ErrCollateral, "root_crl.der"},
		// go-tdx-guest's root CRL is genuine but a year old by then: a
		// stale CRL is used, with a warning; a PCK CRL from another CA is
		// refused.
		{"pck crl of another issuer", collateral.KindPCKCRL, gotdx.RootCrlBody, attest.ErrCollateral, "pck_crl.issuer"},
	}
	v := NewVerifier(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[collateral.Kind][]byte{}
			for k, b := range items {
				files[k] = b
			}
			if tt.data == nil {
				delete(files, tt.kind)
			} else {
				files[tt.kind] = tt.data
			}
			for k, b := range files {
				if err := os.WriteFile(filepath.Join(dir, k.FileName()), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := v.Verify(context.Background(), evidence(raw), attest.Options{Now: oasisTime, Collateral: collateral.Dir(dir)})
			wantRefusal(t, err, tt.class, tt.field)
		})
	}
}

func TestStaleRootCRLIsUsedWithWarning(t *testing.T) {
	raw, items := readOasis(t)
	items[collateral.KindRootCRL] = gotdx.RootCrlBody // Intel's, nextUpdate 2024-04-02
	c, err := NewVerifier(Config{}).Verify(context.Background(), evidence(raw), attest.Options{Now: oasisTime, Collateral: &memSource{items: items}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.HasPrefix(w, "root_crl expired") }) {
		t.Errorf("Warnings = %q, want a stale root CRL warning", c.Warnings)
	}
}

func TestVerifyNeedsCollateral(t *testing.T) {
	raw, _ := readOasis(t)
	_, err := NewVerifier(Config{}).Verify(context.Background(), evidence(raw), attest.Options{Now: oasisTime})
	wantRefusal(t, err, attest.ErrCollateral, "opts.Collateral")
}

func TestVerifyWrongFormat(t *testing.T) {
	raw, _ := readOasis(t)
	_, err := NewVerifier(Config{}).Verify(context.Background(), attest.Evidence{Format: attest.FormatSGX, Payload: raw}, attest.Options{Now: oasisTime, Collateral: collateral.Dir(oasisDir)})
	wantRefusal(t, err, attest.ErrMalformed, "format")
}

func TestVerifyDoesNotModifyEvidence(t *testing.T) {
	raw, _ := readOasis(t)
	ev := evidence(bytes.Clone(raw))
	c, err := NewVerifier(Config{}).Verify(context.Background(), ev, attest.Options{Now: oasisTime, Collateral: collateral.Dir(oasisDir)})
	if err != nil {
		t.Fatal(err)
	}
	c.Measurement[0] ^= 1
	c.ReportData[0] ^= 1
	if !bytes.Equal(ev.Payload, raw) {
		t.Error("Verify or its claims alias the payload")
	}
}

func TestRegistry(t *testing.T) {
	raw, _ := readOasis(t)
	r := attest.NewRegistry(NewVerifier(Config{}))
	if _, err := r.Verify(context.Background(), evidence(raw), attest.Options{Now: oasisTime, Collateral: collateral.Dir(oasisDir)}); err != nil {
		t.Fatal(err)
	}
}

func ExampleVerifier_Verify() {
	payload, _ := os.ReadFile("testdata/quote_v4_tdx_ecdsa_p256.bin")
	v := NewVerifier(Config{}) // Intel's root, embedded
	claims, err := v.Verify(context.Background(),
		attest.Evidence{Format: attest.FormatTDX, Payload: payload},
		attest.Options{
			Now:        time.Unix(1725263032, 0), // the vector's pinned time
			Collateral: collateral.Dir("testdata/collateral"),
		})
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.TCBStatus, claims.PlatformID, claims.Measurement.String()[:16])
	// Output: UpToDate c0806f000000 91eb2b44d141d4ec
}

func BenchmarkVerify(b *testing.B) {
	raw, items := readOasis(b)
	v := NewVerifier(Config{})
	opts := attest.Options{Now: oasisTime, Collateral: &memSource{items: items}}
	ev := evidence(raw)
	for b.Loop() {
		opts.Collateral.(*memSource).reqs = nil
		if _, err := v.Verify(context.Background(), ev, opts); err != nil {
			b.Fatal(err)
		}
	}
}
