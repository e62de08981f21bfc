package sgx

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/tsm"
	"github.com/cofre-cc/cofre/attest/sgx/internal/quote"
)

// realReportData is the REPORTDATA of the recorded quote: a real quote's
// report data is fixed, so the producer is asked for exactly it and the
// fake Gramine directory holds the recorded quote.
func realReportData(t testing.TB) [64]byte {
	t.Helper()
	q, err := quote.Parse(realQuote(t))
	if err != nil {
		t.Fatal(err)
	}
	return q.Body.ReportData
}

// gramineDir makes a fake /dev/attestation: attestation_type, an empty
// user_report_data and the given quote. A nil field leaves its file out.
func gramineDir(t *testing.T, typ, q []byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range map[string][]byte{gramineType: typ, gramineReportData: {}, gramineQuote: q} {
		if b == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestProduceGramine(t *testing.T) {
	raw := realQuote(t)
	rd := realReportData(t)
	for _, typ := range []string{"dcap", "dcap\n"} {
		dir := gramineDir(t, []byte(typ), raw)
		p := &Producer{Dir: dir}
		ev, err := p.Produce(context.Background(), rd)
		if err != nil {
			t.Fatalf("Produce: %v", err)
		}
		if ev.Format != attest.FormatSGX || p.Format() != attest.FormatSGX {
			t.Errorf("format = %q, %q", ev.Format, p.Format())
		}
		if !bytes.Equal(ev.Payload, raw) {
			t.Error("payload is not Gramine's quote")
		}
		written, err := os.ReadFile(filepath.Join(dir, gramineReportData))
		if err != nil || !bytes.Equal(written, rd[:]) {
			t.Errorf("user_report_data = %x, %v; want exactly %x", written, err, rd)
		}
		c, err := NewVerifier().Verify(context.Background(), ev, attest.Options{Now: pinned, Collateral: collateral.Dir(realCollateral)})
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !bytes.Equal(c.ReportData, rd[:]) {
			t.Errorf("claims report data = %x", c.ReportData)
		}
	}
}

func TestProduceGramineRefuses(t *testing.T) {
	raw := realQuote(t)
	rd := realReportData(t)
	otherRD := rd
	otherRD[10] ^= 1
	is := func(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }
	for _, tc := range []struct {
		name  string
		dir   func(t *testing.T) string
		rd    [64]byte
		check func(error) bool
	}{
		{"no gramine", func(t *testing.T) string { return filepath.Join(t.TempDir(), "attestation") }, rd,
			func(err error) bool { return errors.Is(err, tsm.ErrUnavailable) && errors.Is(err, fs.ErrNotExist) }},
		{"no user_report_data", func(t *testing.T) string {
			d := gramineDir(t, []byte("dcap"), raw)
			if err := os.Remove(filepath.Join(d, gramineReportData)); err != nil {
				t.Fatal(err)
			}
			return d
		}, rd, is(tsm.ErrUnavailable)},
		{"no quote", func(t *testing.T) string { return gramineDir(t, []byte("dcap"), nil) }, rd, is(tsm.ErrUnavailable)},
		{"epid", func(t *testing.T) string { return gramineDir(t, []byte("epid"), raw) }, rd, func(err error) bool {
			var pe *tsm.ProviderError
			return errors.As(err, &pe) && pe.Got == "epid" && pe.Want == "dcap"
		}},
		{"attestation disabled", func(t *testing.T) string { return gramineDir(t, []byte("none\n"), raw) }, rd, func(err error) bool {
			var pe *tsm.ProviderError
			return errors.As(err, &pe) && pe.Got == "none"
		}},
		{"oversized attestation_type", func(t *testing.T) string { return gramineDir(t, bytes.Repeat([]byte("d"), 65), raw) }, rd, is(tsm.ErrOutput)},
		{"empty quote", func(t *testing.T) string { return gramineDir(t, []byte("dcap"), []byte{}) }, rd, is(tsm.ErrOutput)},
		{"truncated quote", func(t *testing.T) string { return gramineDir(t, []byte("dcap"), raw[:len(raw)-1]) }, rd, is(tsm.ErrOutput)},
		{"oversized quote", func(t *testing.T) string {
			return gramineDir(t, []byte("dcap"), append(bytes.Clone(raw), make([]byte, quote.MaxQuoteSize)...))
		}, rd, is(tsm.ErrOutput)},
		{"other report data", func(t *testing.T) string { return gramineDir(t, []byte("dcap"), raw) }, otherRD, is(tsm.ErrReportData)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := (&Producer{Dir: tc.dir(t)}).Produce(context.Background(), tc.rd)
			if !tc.check(err) {
				t.Fatalf("Produce: %v", err)
			}
		})
	}
}

func TestProduceGramineCanceled(t *testing.T) {
	dir := gramineDir(t, []byte("dcap"), realQuote(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Producer{Dir: dir}).Produce(ctx, realReportData(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Produce = %v, want context.Canceled", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, gramineReportData)); len(b) != 0 {
		t.Error("report data written after cancellation")
	}
}

func FuzzProducerOutput(f *testing.F) {
	raw := realQuote(f)
	f.Add(raw)
	f.Add(raw[:100])
	f.Add([]byte{})
	rd := realReportData(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkQuote(b, rd)
		if err != nil && !errors.Is(err, tsm.ErrOutput) && !errors.Is(err, tsm.ErrReportData) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}
