package tdx

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/tsm"
	"github.com/cofre-cc/cofre/attest/internal/tsm/tsmtest"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
	"github.com/google/go-tdx-guest/client"
	labi "github.com/google/go-tdx-guest/client/linuxabi"
)

// recordedQuote returns the real oasis quote and its report data: a real
// quote's report data is fixed, so the producer is asked for exactly it and
// the fakes echo the recorded bytes.
func recordedQuote(t testing.TB) ([]byte, [64]byte) {
	t.Helper()
	raw, err := os.ReadFile(oasisQuote)
	if err != nil {
		t.Fatal(err)
	}
	q, err := quote.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, q.Body.ReportData
}

func verifyRecorded(t *testing.T, ev attest.Evidence) *attest.Claims {
	t.Helper()
	c, err := NewVerifier(Config{}).Verify(context.Background(), ev, attest.Options{Now: oasisTime, Collateral: collateral.Dir(oasisDir)})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return c
}

func TestProduceConfigfs(t *testing.T) {
	raw, rd := recordedQuote(t)
	fake := &tsmtest.Fake{Provider: tsm.ProviderTDX, OutBlob: raw, AuxBlob: []byte("not asked for")}
	p := &Producer{TSM: fake.Client()}
	ev, err := p.Produce(context.Background(), rd)
	if err != nil {
		t.Fatalf("Produce: %v", err)
	}
	if ev.Format != attest.FormatTDX || p.Format() != attest.FormatTDX {
		t.Errorf("format = %q, %q", ev.Format, p.Format())
	}
	if !bytes.Equal(ev.Payload, raw) {
		t.Error("payload is not the outblob")
	}
	if in := fake.InBlobs(); len(in) != 1 || !bytes.Equal(in[0], rd[:]) {
		t.Errorf("inblob = %x, want exactly %x", in, rd)
	}
	if c := verifyRecorded(t, ev); !bytes.Equal(c.ReportData, rd[:]) {
		t.Errorf("claims report data = %x", c.ReportData)
	}
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

func TestProduceConfigfsRefuses(t *testing.T) {
	raw, rd := recordedQuote(t)
	otherRD := rd
	otherRD[0] ^= 1
	for _, tc := range []struct {
		name  string
		fake  *tsmtest.Fake
		rd    [64]byte
		check func(error) bool
	}{
		{"wrong provider", &tsmtest.Fake{Provider: tsm.ProviderSEV, OutBlob: raw}, rd, func(err error) bool {
			var pe *tsm.ProviderError
			return errors.As(err, &pe) && pe.Got == tsm.ProviderSEV && pe.Want == tsm.ProviderTDX
		}},
		{"empty outblob", &tsmtest.Fake{Provider: tsm.ProviderTDX}, rd, is(tsm.ErrOutput)},
		{"short outblob", &tsmtest.Fake{Provider: tsm.ProviderTDX, OutBlob: raw[:len(raw)/2]}, rd, is(tsm.ErrOutput)},
		{"header only", &tsmtest.Fake{Provider: tsm.ProviderTDX, OutBlob: raw[:48]}, rd, is(tsm.ErrOutput)},
		{"oversized outblob", &tsmtest.Fake{Provider: tsm.ProviderTDX, OutBlob: append(bytes.Clone(raw), make([]byte, quote.MaxSize)...)}, rd, is(tsm.ErrOutput)},
		{"other report data", &tsmtest.Fake{Provider: tsm.ProviderTDX, OutBlob: raw}, otherRD, is(tsm.ErrReportData)},
		{"generation mismatch", &tsmtest.Fake{Provider: tsm.ProviderTDX, OutBlob: raw, Race: true}, rd, is(tsm.ErrGeneration)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := (&Producer{TSM: tc.fake.Client()}).Produce(context.Background(), tc.rd)
			if !tc.check(err) {
				t.Fatalf("Produce: %v", err)
			}
		})
	}
}

// fakeDevice is a tdx-guest device whose quotes are recorded bytes.
type fakeDevice struct {
	quote    []byte
	status   uint64 // the host's GetQuote status
	asked    [][64]byte
	tdreport [labi.TdReportSize]byte
	closed   bool
}

func (d *fakeDevice) Open(string) error { return nil }
func (d *fakeDevice) Close() error      { d.closed = true; return nil }

func (d *fakeDevice) Ioctl(cmd uintptr, arg any) (uintptr, error) {
	switch req := arg.(type) {
	case *labi.TdxReportReq:
		if cmd != labi.IocTdxGetReport {
			return 0, syscall.ENOTTY
		}
		d.asked = append(d.asked, req.ReportData)
		for i := range d.tdreport {
			d.tdreport[i] = req.ReportData[i%64] ^ 0x5a
		}
		req.TdReport = d.tdreport
	case *labi.TdxQuoteReq:
		if cmd != labi.IocTdxGetQuote {
			return 0, syscall.ENOTTY
		}
		hdr := req.Buffer.(*labi.TdxQuoteHdr)
		if !bytes.Equal(hdr.Data[:labi.TdReportSize], d.tdreport[:]) || hdr.InLen != labi.TdReportSize {
			return 0, syscall.EINVAL // the quote request must carry the TDREPORT just made
		}
		hdr.Status = d.status
		if d.status == 0 {
			hdr.OutLen = uint32(copy(hdr.Data[:], d.quote))
		}
	default:
		return 0, syscall.ENOTTY
	}
	return labi.TdxAttestSuccess, nil
}

func TestProduceIoctl(t *testing.T) {
	raw, rd := recordedQuote(t)
	dir := t.TempDir()
	dev := filepath.Join(dir, "tdx_guest")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fd := &fakeDevice{quote: raw}
	var opened string
	p := &Producer{
		TSM:        tsm.Dir(filepath.Join(dir, "no-configfs")),
		DevicePath: dev,
		open:       func(path string) (client.Device, error) { opened = path; return fd, nil },
	}
	ev, err := p.Produce(context.Background(), rd)
	if err != nil {
		t.Fatalf("Produce: %v", err)
	}
	if opened != dev || !fd.closed {
		t.Errorf("device %q opened, closed %v", opened, fd.closed)
	}
	if len(fd.asked) != 1 || fd.asked[0] != rd {
		t.Errorf("device asked for %x, want %x", fd.asked, rd)
	}
	if !bytes.Equal(ev.Payload, raw) {
		t.Error("payload is not the device's quote")
	}
	verifyRecorded(t, ev)
}

func TestProduceIoctlRefuses(t *testing.T) {
	raw, rd := recordedQuote(t)
	dir := t.TempDir()
	dev := filepath.Join(dir, "tdx_guest")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noTSM := tsm.Dir(filepath.Join(dir, "no-configfs"))
	device := func(d *fakeDevice) func(string) (client.Device, error) {
		return func(string) (client.Device, error) { return d, nil }
	}
	for _, tc := range []struct {
		name  string
		p     *Producer
		check func(error) bool
	}{
		{"no configfs-tsm and no device", &Producer{TSM: noTSM, DevicePath: filepath.Join(dir, "absent")}, is(tsm.ErrUnavailable)},
		{"device does not open", &Producer{TSM: noTSM, DevicePath: dev,
			open: func(string) (client.Device, error) { return nil, syscall.EACCES }}, is(syscall.EACCES)},
		{"host has no quoting service", &Producer{TSM: noTSM, DevicePath: dev,
			open: device(&fakeDevice{quote: raw, status: labi.GetQuoteServiceUnavailable})},
			// go-tdx-guest's errors are untyped: only the message says.
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "not supported") }},
		{"device returns a truncated quote", &Producer{TSM: noTSM, DevicePath: dev,
			open: device(&fakeDevice{quote: raw[:100]})}, is(tsm.ErrOutput)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.p.Produce(context.Background(), rd)
			if !tc.check(err) {
				t.Fatalf("Produce: %v", err)
			}
		})
	}
}

func TestProduceDefaultsHere(t *testing.T) {
	if _, err := os.Stat(tsm.DefaultRoot + "/report"); err == nil {
		t.Skip("this machine has configfs-tsm")
	}
	if _, err := os.Stat(DefaultDevicePath); err == nil {
		t.Skip("this machine has " + DefaultDevicePath)
	}
	if _, err := (&Producer{}).Produce(context.Background(), [64]byte{}); !errors.Is(err, tsm.ErrUnavailable) {
		t.Fatalf("Produce = %v, want ErrUnavailable", err)
	}
}

func FuzzProducerOutput(f *testing.F) {
	raw, rd := recordedQuote(f)
	f.Add(raw)
	f.Add(raw[:48])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkQuote(b, rd)
		if err != nil && !errors.Is(err, tsm.ErrOutput) && !errors.Is(err, tsm.ErrReportData) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}
