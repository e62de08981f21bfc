package snp

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/google/go-sev-guest/abi"
)

// The seed corpora live in testdata/fuzz/<FuzzName>: the real Milan report,
// the report with a certificate table, truncations and a wrapping table
// entry. f.Add adds the same from code, so the seeds run even if the corpus
// directory is lost.

// FuzzParsePayload checks that parsing never panics, that what it accepts
// re-encodes to the same report bytes (no field is dropped or invented),
// and that every table entry it keeps lies within the payload.
func FuzzParsePayload(f *testing.F) {
	report := milanReport(f)
	f.Add(report)
	f.Add(withTable(report, certTable{vcek: milanVCEK(f)}))
	f.Add(report[:abi.ReportSize-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePayload(b)
		if err != nil {
			if !errors.Is(err, attest.ErrMalformed) {
				t.Fatalf("parse error %v is not ErrMalformed", err)
			}
			return
		}
		again, err := abi.ReportToAbiBytes(p.report)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(again, p.raw) || !bytes.Equal(p.raw, b[:abi.ReportSize]) {
			t.Fatalf("report does not round-trip")
		}
		for _, e := range [][]byte{p.certs.vcek, p.certs.vlek, p.certs.ask, p.certs.ark, p.certs.extraPlatformInfo} {
			if len(e) > maxCertSize || (e != nil && !bytes.Contains(b[abi.ReportSize:], e)) {
				t.Fatalf("entry of %d bytes not from the table", len(e))
			}
		}
	})
}

// FuzzVerify runs whole verifications of arbitrary payloads against the
// real Milan collateral: they must end in a classified refusal or in
// claims, never in a panic.
func FuzzVerify(f *testing.F) {
	report := milanReport(f)
	f.Add(report)
	f.Add(withTable(report, certTable{vcek: milanVCEK(f)}))
	v := NewVerifier(Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := v.Verify(context.Background(), attest.Evidence{Format: attest.FormatSEVSNP, Payload: b},
			attest.Options{Now: milanNow, Collateral: milanCollateral})
		if err != nil {
			if attest.Class(err) == nil {
				t.Fatalf("unclassified refusal: %v", err)
			}
			return
		}
		if c.Format != attest.FormatSEVSNP || len(c.ReportData) != abi.ReportDataSize {
			t.Fatalf("bad claims %+v", c)
		}
	})
}
