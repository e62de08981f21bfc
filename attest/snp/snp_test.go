package snp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	sevtest "github.com/google/go-sev-guest/testing"
	"github.com/google/go-sev-guest/verify/testdata"
	"github.com/google/go-sev-guest/verify/trust"
)

func TestTestdataMatchesModule(t *testing.T) {
	// testdata/milan is a copy of go-sev-guest's verify/testdata, so that
	// bundles and benchmarks can point collateral.Dir at it.
	if !bytes.Equal(milanReport(t), testdata.AttestationBytes) {
		t.Error("testdata/milan/report.bin differs from go-sev-guest's attestation.bin")
	}
	if !bytes.Equal(milanVCEK(t), testdata.VcekBytes) {
		t.Error("testdata/milan/collateral/vcek.der differs from go-sev-guest's vcek.testcer")
	}
}

func TestVerifyMilan(t *testing.T) {
	v := NewVerifier(Config{})
	ev := attest.Evidence{Format: attest.FormatSEVSNP, Payload: milanReport(t)}
	c, err := v.Verify(context.Background(), ev, attest.Options{Now: milanNow, Collateral: milanCollateral})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	chipID := "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d"
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"format", c.Format, attest.FormatSEVSNP},
		{"tee", c.TEE, attest.TEESEVSNP},
		{"measurement", c.Measurement.String(), "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"},
		{"signer", c.Signer.String(), strings.Repeat("00", 48)},
		{"product", c.ProductID, "Milan"},
		{"svn", c.SVN, uint64(0)},
		{"debug", c.Debug, true},
		{"report data", c.ReportData.String(), "0102030405" + strings.Repeat("00", 59)},
		{"platform id", c.PlatformID.String(), chipID},
		{"tcb status", c.TCBStatus, attest.TCBUnevaluated},
		{"tcb bootloader", c.TCB["bootloader"], uint64(2)},
		{"tcb tee", c.TCB["tee"], uint64(0)},
		{"tcb snp", c.TCB["snp"], uint64(5)},
		{"tcb microcode", c.TCB["microcode"], uint64(0x44)},
		{"tcb size", len(c.TCB), 4},
		{"raw policy", c.Raw["policy"], uint64(0xb0000)},
		{"raw vmpl", c.Raw["vmpl"], uint64(0)},
		{"raw version", c.Raw["version"], uint64(2)},
		{"raw signing key", c.Raw["signing_key"], "VCEK"},
		{"raw host data", c.Raw["host_data"].(attest.Hex).String(), strings.Repeat("00", 32)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	for _, k := range []string{"host_data", "id_key_digest", "author_key_digest", "family_id", "image_id", "vmpl", "policy", "platform_info",
		"current_tcb", "committed_tcb", "launch_tcb", "report_id", "measurement"} {
		if _, ok := c.Raw[k]; !ok {
			t.Errorf("Raw lacks %q", k)
		}
	}
	wantWarnings := []string{"guest policy allows debugging", "revocation not checked: AMD Milan CRL not available"}
	if len(c.Warnings) != len(wantWarnings) {
		t.Errorf("warnings = %q, want %d", c.Warnings, len(wantWarnings))
	}
	for _, w := range wantWarnings {
		if !containsPrefix(c.Warnings, w) {
			t.Errorf("warnings %q lack %q", c.Warnings, w)
		}
	}
	// A registry accepts the claims as SEV-SNP's.
	if _, err := attest.NewRegistry(v).Verify(context.Background(), ev, attest.Options{Now: milanNow, Collateral: milanCollateral}); err != nil {
		t.Errorf("Registry.Verify: %v", err)
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestVerifyMilanRequestsCollateral(t *testing.T) {
	src := &source{items: map[collateral.Kind][]byte{collateral.KindVCEK: milanVCEK(t)}}
	if _, err := NewVerifier(Config{}).Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: milanReport(t)},
		attest.Options{Now: milanNow, Collateral: src}); err != nil {
		t.Fatal(err)
	}
	var kinds []collateral.Kind
	for _, r := range src.reqs {
		kinds = append(kinds, r.Kind)
	}
	want := []collateral.Kind{collateral.KindVCEK, collateral.KindASKARK, collateral.KindAMDCRL}
	if len(kinds) != len(want) {
		t.Fatalf("requested %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("requested %v, want %v", kinds, want)
		}
		if src.reqs[i].Product != "Milan" {
			t.Errorf("request %d product = %q, want Milan", i, src.reqs[i].Product)
		}
	}
	vcek := src.reqs[0]
	if vcek.ReportedTCB != 0x4405000000000002 {
		t.Errorf("VCEK request TCB = %#x", vcek.ReportedTCB)
	}
	if hex.EncodeToString(vcek.ChipID)[:8] != "3ac3fe21" {
		t.Errorf("VCEK request chip id = %x", vcek.ChipID)
	}
}

func TestVerifyMilanCertTable(t *testing.T) {
	ask, ark := milanASKARK(t)
	for _, tc := range []struct {
		name  string
		table certTable
		opts  attest.Options
	}{
		{"vcek only, no collateral", certTable{vcek: milanVCEK(t)}, attest.Options{Now: milanNow}},
		{"vcek ask ark, no collateral", certTable{vcek: milanVCEK(t), ask: ask, ark: ark}, attest.Options{Now: milanNow}},
		{"vcek ask ark, collateral", certTable{vcek: milanVCEK(t), ask: ask, ark: ark}, attest.Options{Now: milanNow, Collateral: milanCollateral}},
		{"extra unknown entry", certTable{vcek: milanVCEK(t), extraPlatformInfo: []byte{8, 0, 0, 0, 0x10, 0x0f, 0xa0, 0}}, attest.Options{Now: milanNow}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := attest.Evidence{Format: attest.FormatSEVSNP, Payload: withTable(milanReport(t), tc.table)}
			c, err := NewVerifier(Config{}).Verify(context.Background(), ev, tc.opts)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.ProductID != "Milan" {
				t.Errorf("product = %q", c.ProductID)
			}
			if tc.opts.Collateral == nil && !containsPrefix(c.Warnings, "revocation not checked: no collateral source") {
				t.Errorf("warnings %q lack the missing-CRL warning", c.Warnings)
			}
		})
	}
}

// TestVerifyMilanRefusals tampers with the real vector and its collateral.
func TestVerifyMilanRefusals(t *testing.T) {
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 0x01; return b }
	}
	vcek := milanVCEK(t)
	ask, ark := milanASKARK(t)
	genoaASK, genoaARK, err := parseASKARK(trust.AskArkGenoaVcekBytes)
	if err != nil {
		t.Fatal(err)
	}
	fk := newFake(t, "Milan-B0", 0x4405000000000002)
	wrongCRL := signCRL(t, fk.signer.Ark, fk.signer.Keys.Ark, fakeEpoch, fakeEpoch.Add(24*time.Hour))
	dirWith := func(items map[collateral.Kind][]byte) collateral.Source {
		return &source{items: items}
	}
	const (
		offReportData  = 0x50
		offMeasurement = 0x90
		offReportedTCB = 0x180
		offChipID      = 0x1A0
		offSignature   = 0x2A0
	)
	for _, tc := range []struct {
		name    string
		payload func([]byte) []byte
		opts    attest.Options // zero Now: milanNow; nil Collateral: milanCollateral
		want    error
		field   string
	}{
		{name: "measurement", payload: flip(offMeasurement), want: attest.ErrSignature, field: "signature"},
		{name: "report data", payload: flip(offReportData), want: attest.ErrSignature, field: "signature"},
		{name: "signature r", payload: flip(offSignature), want: attest.ErrSignature, field: "signature"},
		{name: "signature s", payload: flip(offSignature + 0x48), want: attest.ErrSignature, field: "signature"},
		{name: "guest svn", payload: flip(0x04), want: attest.ErrSignature},
		{name: "policy debug bit", payload: flip(0x0A), want: attest.ErrSignature},
		{name: "host data", payload: flip(0xC0), want: attest.ErrSignature},
		{name: "chip id", payload: flip(offChipID), want: attest.ErrCertificate, field: "VCEK.hwid"},
		{name: "reported tcb", payload: flip(offReportedTCB), want: attest.ErrCertificate, field: "VCEK.tcb"},
		{name: "reserved byte", payload: flip(0x4C), want: attest.ErrMalformed},
		{name: "signature padding", payload: flip(offSignature + 0x90), want: attest.ErrMalformed},
		{name: "version", payload: func(b []byte) []byte { b[0] = 9; return b }, want: attest.ErrMalformed},
		{name: "signature algorithm", payload: func(b []byte) []byte { b[0x34] = 2; return b }, want: attest.ErrMalformed},
		{name: "unsigned", payload: func(b []byte) []byte { b[0x48] = 7 << 2; return b }, want: attest.ErrSignature, field: "signer_info.signing_key"},
		{name: "policy reserved bit", payload: func(b []byte) []byte { b[0x0A] &^= 0x02; return b }, want: attest.ErrMalformed},
		{name: "after VCEK expiry", opts: attest.Options{Now: time.Date(2029, 9, 24, 1, 0, 0, 0, time.UTC)}, want: attest.ErrCertificate, field: "SEV-VCEK.validity"},
		{name: "before VCEK issue", opts: attest.Options{Now: time.Date(2022, 9, 23, 0, 0, 0, 0, time.UTC)}, want: attest.ErrCertificate, field: "SEV-VCEK.validity"},
		{name: "nil collateral", want: attest.ErrCollateral, field: "collateral"},
		{name: "vcek not found", opts: attest.Options{Now: milanNow, Collateral: dirWith(nil)}, want: attest.ErrCollateral, field: "collateral.vcek"},
		{name: "vcek truncated", opts: attest.Options{Now: milanNow, Collateral: dirWith(map[collateral.Kind][]byte{collateral.KindVCEK: vcek[:100]})}, want: attest.ErrCollateral, field: "collateral.vcek"},
		{name: "vcek signature tampered", opts: attest.Options{Now: milanNow, Collateral: dirWith(map[collateral.Kind][]byte{collateral.KindVCEK: flip(len(vcek) - 10)(bytes.Clone(vcek))})}, want: attest.ErrCertificate, field: "VCEK.issuer"},
		{name: "wrong vcek: fake chain", opts: attest.Options{Now: milanNow, Collateral: dirWith(map[collateral.Kind][]byte{collateral.KindVCEK: fakeVCEKFor(t)})}, want: attest.ErrCertificate, field: "VCEK.issuer"},
		{name: "wrong vcek: an ASK", opts: attest.Options{Now: milanNow, Collateral: dirWith(map[collateral.Kind][]byte{collateral.KindVCEK: ask})}, want: attest.ErrCertificate, field: "VCEK.extensions"},
		{name: "ask_ark collateral of Genoa", opts: attest.Options{Now: milanNow, Collateral: dirWith(map[collateral.Kind][]byte{collateral.KindVCEK: vcek, collateral.KindASKARK: trust.AskArkGenoaVcekBytes})}, want: attest.ErrCertificate, field: "collateral.ask_ark"},
		{name: "ask_ark collateral garbage", opts: attest.Options{Now: milanNow, Collateral: dirWith(map[collateral.Kind][]byte{collateral.KindVCEK: vcek, collateral.KindASKARK: []byte("garbage")})}, want: attest.ErrCollateral, field: "collateral.ask_ark"},
		{name: "crl garbage", opts: attest.Options{Now: milanNow, Collateral: dirWith(map[collateral.Kind][]byte{collateral.KindVCEK: vcek, collateral.KindAMDCRL: []byte("garbage")})}, want: attest.ErrCollateral, field: "collateral.amd_crl"},
		{name: "crl not signed by ARK", opts: attest.Options{Now: milanNow, Collateral: dirWith(map[collateral.Kind][]byte{collateral.KindVCEK: vcek, collateral.KindAMDCRL: wrongCRL})}, want: attest.ErrCollateral, field: "collateral.amd_crl.signature"},
		{name: "table ARK of Genoa", payload: func(b []byte) []byte { return withTable(b, certTable{vcek: vcek, ask: ask, ark: genoaARK.Raw}) }, want: attest.ErrCertificate, field: "certificate_table.ark"},
		{name: "table ASK of Genoa", payload: func(b []byte) []byte { return withTable(b, certTable{vcek: vcek, ask: genoaASK.Raw, ark: ark}) }, want: attest.ErrCertificate},
		{name: "table VCEK garbage", payload: func(b []byte) []byte { return withTable(b, certTable{vcek: []byte("garbage")}) }, want: attest.ErrMalformed},
		{name: "table VCEK tampered", payload: func(b []byte) []byte { return withTable(b, certTable{vcek: flip(len(vcek) - 10)(bytes.Clone(vcek))}) }, want: attest.ErrCertificate},
		{name: "trailing garbage", payload: func(b []byte) []byte { return append(b, 1, 2, 3) }, want: attest.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := milanReport(t)
			if tc.payload != nil {
				payload = tc.payload(payload)
			}
			opts := tc.opts
			if opts.Now.IsZero() {
				opts.Now = milanNow
			}
			if opts.Collateral == nil && tc.name != "nil collateral" {
				opts.Collateral = milanCollateral
			}
			c, err := NewVerifier(Config{}).Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: payload}, opts)
			assertRefusal(t, c, err, tc.want, tc.field)
		})
	}
}

// assertRefusal checks that err is of class want (and of no other class),
// and names field when field is not empty.
func assertRefusal(t *testing.T, c *attest.Claims, err error, want error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted (claims %+v), want %v", c, want)
	}
	if c != nil {
		t.Errorf("claims returned with error %v", err)
	}
	if !errors.Is(err, want) || attest.Class(err) != want {
		t.Fatalf("err = %v, want class %v (got %v)", err, want, attest.Class(err))
	}
	if field != "" {
		var ce *attest.CheckError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want a *CheckError on %s", err, field)
		}
		if ce.Field != field {
			t.Errorf("field = %q, want %q (err %v)", ce.Field, field, err)
		}
	}
}

// fakeVCEKFor returns a VCEK of the fake chain with the Milan vector's
// CHIP_ID and TCB: right binding, wrong issuer.
func fakeVCEKFor(t *testing.T) []byte {
	t.Helper()
	r, err := abi.ReportToProto(milanReport(t))
	if err != nil {
		t.Fatal(err)
	}
	return newFakeChip(t, "Milan-B0", r.GetReportedTcb(), r.GetChipId()).signer.Vcek.Raw
}

func TestVerifyTruncated(t *testing.T) {
	report := milanReport(t)
	withTbl := withTable(report, certTable{vcek: milanVCEK(t)})
	v := NewVerifier(Config{})
	for _, n := range []int{0, 1, 0x4C, abi.ReportSize - 1} {
		_, err := v.Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: report[:n]}, attest.Options{Now: milanNow, Collateral: milanCollateral})
		if !errors.Is(err, attest.ErrMalformed) {
			t.Errorf("%d bytes: err = %v, want ErrMalformed", n, err)
		}
	}
	// A table cut short anywhere is malformed, never a panic.
	for n := abi.ReportSize + 1; n < len(withTbl); n += 7 {
		_, err := v.Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: withTbl[:n]}, attest.Options{Now: milanNow, Collateral: milanCollateral})
		if err == nil {
			t.Errorf("%d bytes: accepted", n)
		}
	}
}

func TestVerifyWrongFormat(t *testing.T) {
	_, err := NewVerifier(Config{}).Verify(context.Background(), attest.Evidence{Format: attest.FormatTDX, Payload: milanReport(t)}, attest.Options{Now: milanNow, Collateral: milanCollateral})
	if !errors.Is(err, attest.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

func TestVerifyUnknownProductRoot(t *testing.T) {
	// A verifier that trusts only Genoa refuses the Milan vector.
	roots := DefaultRoots()
	delete(roots, "Milan")
	_, err := NewVerifier(Config{Roots: roots}).Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: milanReport(t)},
		attest.Options{Now: milanNow, Collateral: milanCollateral})
	assertRefusal(t, nil, err, attest.ErrCertificate, "product_line")
}

func TestDefaultRoots(t *testing.T) {
	roots := DefaultRoots()
	for _, p := range []string{"Milan", "Genoa", "Turin"} {
		r, ok := roots[p]
		if !ok {
			t.Fatalf("no %s root", p)
		}
		for name, c := range map[string]string{"ARK": r.ARK.Subject.CommonName, "ASK": r.ASK.Subject.CommonName, "ASVK": r.ASVK.Subject.CommonName} {
			want := map[string]string{"ARK": "ARK-" + p, "ASK": "SEV-" + p, "ASVK": "SEV-VLEK-" + p}[name]
			if c != want {
				t.Errorf("%s %s CN = %q, want %q", p, name, c, want)
			}
		}
		if err := r.ASK.CheckSignatureFrom(r.ARK); err != nil {
			t.Errorf("%s ASK not signed by ARK: %v", p, err)
		}
	}
	// The returned map is the caller's.
	delete(roots, "Milan")
	if _, ok := DefaultRoots()["Milan"]; !ok {
		t.Error("DefaultRoots shares its map")
	}
}

// Fake-signer cases: what real hardware does not hand us on demand.

func TestVerifyFake(t *testing.T) {
	const tcb = 0x1800000000000a03 // microcode 0x18, snp 0, tee 0x0a, bootloader 3
	genoa := newFake(t, "Genoa-B1", tcb)
	turin := newFake(t, "Turin-B0", tcb)
	vlekReport := func(r *spb.Report) {
		r.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: abi.VlekReportSigner})
	}
	for _, tc := range []struct {
		name     string
		f        *fake
		mod      func(*spb.Report)
		table    func(*fake) certTable
		src      func(*fake) *source
		check    func(*testing.T, *attest.Claims)
		warnings []string
	}{
		{
			name:  "genoa vcek in table",
			f:     genoa,
			table: func(f *fake) certTable { return f.table(false) },
			check: func(t *testing.T, c *attest.Claims) {
				if c.ProductID != "Genoa" || c.Debug || c.SVN != 7 {
					t.Errorf("claims %+v", c)
				}
				if got := c.TCB; got["bootloader"] != 3 || got["tee"] != 0x0a || got["snp"] != 0 || got["microcode"] != 0x18 || len(got) != 4 {
					t.Errorf("tcb = %v", got)
				}
				if c.Signer.String() != strings.Repeat("1d", 48) {
					t.Errorf("signer = %v, want the ID key digest", c.Signer)
				}
			},
			warnings: []string{"revocation not checked: no collateral source"},
		},
		{
			name: "genoa vcek from collateral, CRL clean",
			f:    genoa,
			src: func(f *fake) *source {
				return &source{items: map[collateral.Kind][]byte{
					collateral.KindVCEK:   f.signer.Vcek.Raw,
					collateral.KindAMDCRL: f.crl(t, fakeEpoch, fakeNow.Add(24*time.Hour), big.NewInt(12345)),
				}}
			},
		},
		{
			name: "stale CRL is a warning",
			f:    genoa,
			src: func(f *fake) *source {
				return &source{items: map[collateral.Kind][]byte{
					collateral.KindVCEK:   f.signer.Vcek.Raw,
					collateral.KindAMDCRL: f.crl(t, fakeEpoch, fakeEpoch.Add(24*time.Hour)),
				}}
			},
			warnings: []string{"AMD Genoa CRL is not current"},
		},
		{
			name: "CRL source error is a warning",
			f:    genoa,
			src: func(f *fake) *source {
				return &source{items: map[collateral.Kind][]byte{collateral.KindVCEK: f.signer.Vcek.Raw},
					errs: map[collateral.Kind]error{collateral.KindAMDCRL: errors.New("connection refused")}}
			},
			warnings: []string{"revocation not checked: AMD Genoa CRL not available: connection refused"},
		},
		{
			name: "ASK from collateral",
			f:    genoa,
			src: func(f *fake) *source {
				return &source{items: map[collateral.Kind][]byte{
					collateral.KindVCEK:   f.signer.Vcek.Raw,
					collateral.KindASKARK: pemChain(f.signer.Ask.Raw, f.signer.Ark.Raw),
				}}
			},
			warnings: []string{"revocation not checked"},
		},
		{
			name: "author key",
			f:    genoa,
			mod: func(r *spb.Report) {
				r.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{AuthorKeyEn: true})
			},
			table: func(f *fake) certTable { return f.table(false) },
			check: func(t *testing.T, c *attest.Claims) {
				if c.Signer.String() != strings.Repeat("a0", 48) {
					t.Errorf("signer = %v, want the author key digest", c.Signer)
				}
			},
			warnings: []string{"revocation not checked"},
		},
		{
			name:     "debug and provisional firmware",
			f:        genoa,
			mod:      func(r *spb.Report) { r.Policy |= 1 << 19; r.CommittedTcb = tcb - 1 },
			table:    func(f *fake) certTable { return f.table(false) },
			check:    func(t *testing.T, c *attest.Claims) { assertTrue(t, c.Debug, "debug") },
			warnings: []string{"guest policy allows debugging", "firmware is provisional", "revocation not checked"},
		},
		{
			name: "masked chip id with VCEK in table",
			f:    genoa,
			mod: func(r *spb.Report) {
				r.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{MaskChipKey: true})
				r.ChipId = make([]byte, abi.ChipIDSize)
			},
			table:    func(f *fake) certTable { return f.table(false) },
			warnings: []string{"CHIP_ID is masked", "revocation not checked"},
		},
		{
			name:     "vlek",
			f:        genoa,
			mod:      vlekReport,
			table:    func(f *fake) certTable { return f.table(true) },
			warnings: []string{"revocation not checked: the CRL of VLEK chains is not fetched"},
			check: func(t *testing.T, c *attest.Claims) {
				if c.Raw["signing_key"] != "VLEK" {
					t.Errorf("signing key = %v", c.Raw["signing_key"])
				}
			},
		},
		{
			name:     "vlek with the anchor's ASVK",
			f:        genoa,
			mod:      vlekReport,
			table:    func(f *fake) certTable { return certTable{vlek: f.signer.Vlek.Raw} },
			warnings: []string{"revocation not checked"},
		},
		{
			// The fake Turin VCEK lacks the fmcSPL extension that real
			// ones carry (see TestTurinFMCExtensionRefused).
			name:  "turin",
			f:     turin,
			table: func(f *fake) certTable { return f.table(false) },
			check: func(t *testing.T, c *attest.Claims) {
				// The same TCB_VERSION reads differently on family 1Ah.
				if got := c.TCB; got["fmc"] != 3 || got["bootloader"] != 0x0a || got["tee"] != 0 || got["snp"] != 0 || got["microcode"] != 0x18 || len(got) != 5 {
					t.Errorf("tcb = %v", got)
				}
				if c.ProductID != "Turin" {
					t.Errorf("product = %q", c.ProductID)
				}
			},
			warnings: []string{"revocation not checked"},
		},
		{
			name: "version 5 report",
			f:    genoa,
			mod:  func(r *spb.Report) { r.Version = 5; r.LaunchMitVector = 3; r.CurrentMitVector = 1 },
			table: func(f *fake) certTable {
				return f.table(false)
			},
			check: func(t *testing.T, c *attest.Claims) {
				if c.Raw["launch_mit_vector"] != uint64(3) {
					t.Errorf("raw = %v", c.Raw)
				}
			},
			warnings: []string{"revocation not checked"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := tc.f.report(t, tc.mod)
			if tc.table != nil {
				payload = withTable(payload, tc.table(tc.f))
			}
			opts := attest.Options{Now: fakeNow}
			if tc.src != nil {
				opts.Collateral = tc.src(tc.f)
			}
			c, err := tc.f.verifier().Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: payload}, opts)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
			if len(c.Warnings) != len(tc.warnings) {
				t.Errorf("warnings = %q, want %q", c.Warnings, tc.warnings)
			}
			for _, w := range tc.warnings {
				if !containsPrefix(c.Warnings, w) {
					t.Errorf("warnings %q lack %q", c.Warnings, w)
				}
			}
		})
	}
}

func assertTrue(t *testing.T, b bool, what string) {
	t.Helper()
	if !b {
		t.Errorf("%s is false", what)
	}
}

func pemChain(ders ...[]byte) []byte {
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	return b
}

func sha384(b []byte) []byte {
	h := sha512.Sum384(b)
	return h[:]
}

func TestVerifyFakeRefusals(t *testing.T) {
	const tcb = 0x1800000000000a03
	genoa := newFake(t, "Genoa-B1", tcb)
	other := newFakeKeys(t, "Genoa-B1", tcb, genoa.chipID, freshKeys(t))
	otherKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	vlek := func(r *spb.Report) {
		r.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{SigningKey: abi.VlekReportSigner})
	}
	withVCEK := func(extra map[collateral.Kind][]byte) *source {
		items := map[collateral.Kind][]byte{collateral.KindVCEK: genoa.signer.Vcek.Raw}
		for k, v := range extra {
			items[k] = v
		}
		return &source{items: items}
	}
	for _, tc := range []struct {
		name    string
		mod     func(*spb.Report)
		table   *certTable
		src     *source
		now     time.Time
		roots   map[string]Root
		want    error
		field   string
		payload func([]byte) []byte
	}{
		{name: "reported tcb above current", mod: func(r *spb.Report) { r.CurrentTcb = tcb - 1 }, table: ptr(genoa.table(false)), want: attest.ErrTCB, field: "reported_tcb"},
		{name: "ASK revoked", src: withVCEK(map[collateral.Kind][]byte{collateral.KindAMDCRL: genoa.crl(t, fakeEpoch, fakeNow.Add(time.Hour), genoa.signer.Ask.SerialNumber)}), want: attest.ErrCertificate, field: "SEV-Genoa.serial"},
		{name: "CRL signed by another ARK", src: withVCEK(map[collateral.Kind][]byte{collateral.KindAMDCRL: other.crl(t, fakeEpoch, fakeNow.Add(time.Hour))}), roots: map[string]Root{"Genoa": {ARK: genoa.signer.Ark, ASK: genoa.signer.Ask}}, want: attest.ErrCollateral, field: "collateral.amd_crl.signature"},
		{name: "vlek not in table", mod: vlek, src: withVCEK(nil), want: attest.ErrCollateral, field: "certificate_table.vlek"},
		{name: "vlek without ASVK", mod: vlek, table: &certTable{vlek: genoa.signer.Vlek.Raw}, roots: map[string]Root{"Genoa": {ARK: genoa.signer.Ark, ASK: genoa.signer.Ask}}, want: attest.ErrCertificate, field: "asvk"},
		{name: "vcek in vlek slot", mod: vlek, table: &certTable{vlek: genoa.signer.Vcek.Raw}, want: attest.ErrCertificate, field: "VLEK.extensions"},
		{name: "masked chip id, no table", mod: func(r *spb.Report) {
			r.SignerInfo = abi.ComposeSignerInfo(abi.SignerInfo{MaskChipKey: true})
			r.ChipId = make([]byte, abi.ChipIDSize)
		}, src: withVCEK(nil), want: attest.ErrCollateral, field: "chip_id"},
		{name: "no ASK anywhere", src: withVCEK(nil), roots: map[string]Root{"Genoa": {ARK: genoa.signer.Ark}}, want: attest.ErrCertificate, field: "ask"},
		{name: "other chain's VCEK", table: &certTable{vcek: other.signer.Vcek.Raw}, want: attest.ErrCertificate},
		{name: "signed by another key", table: ptr(genoa.table(false)), payload: func(b []byte) []byte {
			// A valid signature, by a key the VCEK does not certify.
			R, S, err := ecdsa.Sign(rand.Reader, otherKey, sha384(abi.SignedComponent(b[:abi.ReportSize])))
			if err != nil {
				t.Fatal(err)
			}
			if err := abi.SetSignature(R, S, b[:abi.ReportSize]); err != nil {
				t.Fatal(err)
			}
			return b
		}, want: attest.ErrSignature, field: "signature"},
		{name: "ARK expired", table: ptr(genoa.table(false)), now: fakeEpoch.Add(30 * 365 * 24 * time.Hour), want: attest.ErrCertificate},
		{name: "duplicate VCEK entry", table: ptr(genoa.table(false)), payload: func(b []byte) []byte {
			ct := abi.CertTable{Entries: []abi.CertTableEntry{{GUID: guidVCEK, RawCert: genoa.signer.Vcek.Raw}, {GUID: guidVCEK, RawCert: other.signer.Vcek.Raw}}}
			return append(b[:abi.ReportSize], ct.Marshal()...)
		}, want: attest.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := genoa.report(t, tc.mod)
			if tc.table != nil {
				payload = withTable(payload, *tc.table)
			}
			if tc.payload != nil {
				payload = tc.payload(payload)
			}
			opts := attest.Options{Now: fakeNow}
			if !tc.now.IsZero() {
				opts.Now = tc.now
			}
			if tc.src != nil {
				opts.Collateral = tc.src
			}
			roots := tc.roots
			if roots == nil {
				roots = genoa.roots()
			}
			c, err := NewVerifier(Config{Roots: roots}).Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: payload}, opts)
			assertRefusal(t, c, err, tc.want, tc.field)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestParseCertTableBounds(t *testing.T) {
	entry := func(guid [16]byte, off, n uint32) []byte {
		b := make([]byte, abi.CertTableEntrySize)
		copy(b, guid[:])
		binary.LittleEndian.PutUint32(b[16:], off)
		binary.LittleEndian.PutUint32(b[20:], n)
		return b
	}
	term := make([]byte, abi.CertTableEntrySize)
	for _, tc := range []struct {
		name  string
		table []byte
	}{
		// offset+length wraps around 2^32: abi.CertTable.Unmarshal
		// panics on this; parseCertTable must refuse it.
		{"wrapping range", append(entry(guidVCEK, 0xFFFFFFF0, 0x20), term...)},
		{"past the end", append(entry(guidVCEK, 48, 1000), term...)},
		{"offset into header", append(entry(guidVCEK, 10, 4), term...)},
		{"no terminator", entry(guidVCEK, 48, 0)},
		{"empty entry", append(append(entry(guidVCEK, 48, 0), term...), 0)},
		{"too many entries", func() []byte {
			var b []byte
			for i := range maxCertEntries + 1 {
				b = append(b, entry([16]byte{byte(i + 1)}, 0x1000, 1)...)
			}
			b = append(b, term...)
			return append(b, make([]byte, 0x1000)...)
		}()},
		{"oversized", make([]byte, maxCertTableSize+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCertTable(tc.table)
			if !errors.Is(err, attest.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	// Zero padding alone is an empty table, as the kernel returns for a
	// host without certificates.
	if tbl, err := parseCertTable(make([]byte, 4096)); err != nil || tbl.vcek != nil {
		t.Errorf("zero page: %v, %v", tbl, err)
	}
}

// TestTurinFMCExtensionRefused pins a go-sev-guest v0.15.0 limitation: real
// Turin VCEKs carry an fmcSPL extension (1.3.6.1.4.1.3704.1.3.9) that its kds
// package does not know, so their chains are refused. When a newer
// go-sev-guest accepts them this test fails, and the Turin support in
// doc.go can be updated.
func TestTurinFMCExtensionRefused(t *testing.T) {
	const tcb = 0x1800000000000a03
	fmc, err := asn1.Marshal(3)
	if err != nil {
		t.Fatal(err)
	}
	turin := newFakeKeys(t, "Turin-B0", tcb, bytes.Repeat([]byte{0xc1}, abi.ChipIDSize), sevtest.DefaultAmdKeys(),
		pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3, 9}, Value: fmc})
	payload := withTable(turin.report(t, nil), turin.table(false))
	c, err := turin.verifier().Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: payload}, attest.Options{Now: fakeNow})
	assertRefusal(t, c, err, attest.ErrCertificate, "VCEK.extensions")
}
