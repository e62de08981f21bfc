package snp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/tsm"
	"github.com/cofre-cc/cofre/attest/internal/tsm/tsmtest"
	"github.com/google/go-configfs-tsm/configfs/configfsi"
	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/client"
	labi "github.com/google/go-sev-guest/client/linuxabi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
)

// milanReportData is the REPORT_DATA of the recorded Milan report: a real
// report's report data is fixed, so the producer is asked for exactly it
// and the fakes echo the recorded bytes.
func milanReportData(t testing.TB) [64]byte {
	var rd [64]byte
	copy(rd[:], milanReport(t)[0x50:0x90]) // REPORT_DATA, ABI table "ATTESTATION_REPORT"
	if rd[0] != 1 || rd[4] != 5 {
		t.Fatalf("unexpected Milan report data %x", rd)
	}
	return rd
}

func verifyMilan(t *testing.T, ev attest.Evidence, src collateral.Source) *attest.Claims {
	t.Helper()
	c, err := NewVerifier(Config{}).Verify(context.Background(), ev, attest.Options{Now: milanNow, Collateral: src})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return c
}

func TestProduceConfigfs(t *testing.T) {
	report := milanReport(t)
	table := marshalCertTable(certTable{vcek: milanVCEK(t)})
	vmpl := uint(1)
	for _, tc := range []struct {
		name      string
		aux       []byte
		vmpl      *uint
		src       collateral.Source
		wantLevel string
	}{
		// Without a table the VCEK comes from collateral.
		{"bare report", nil, nil, milanCollateral, "0\n"},
		// With one, the verifier needs no collateral for the VCEK.
		{"report and certificate table", table, &vmpl, &source{}, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &tsmtest.Fake{Provider: tsm.ProviderSEV, OutBlob: report, AuxBlob: tc.aux}
			p := &Producer{TSM: fake.Client(), VMPL: tc.vmpl}
			rd := milanReportData(t)
			ev, err := p.Produce(context.Background(), rd)
			if err != nil {
				t.Fatalf("Produce: %v", err)
			}
			if ev.Format != attest.FormatSEVSNP || p.Format() != attest.FormatSEVSNP {
				t.Errorf("format = %q, %q", ev.Format, p.Format())
			}
			if want := append(bytes.Clone(report), tc.aux...); !bytes.Equal(ev.Payload, want) {
				t.Error("payload is not the report followed by the table")
			}
			if in := fake.InBlobs(); len(in) != 1 || !bytes.Equal(in[0], rd[:]) {
				t.Errorf("inblob = %x, want exactly %x", in, rd)
			}
			if pl := fake.PrivLevels(); len(pl) != 1 || string(pl[0]) != tc.wantLevel {
				t.Errorf("privlevel = %q, want %q", pl, tc.wantLevel)
			}
			c := verifyMilan(t, ev, tc.src)
			if !bytes.Equal(c.ReportData, rd[:]) {
				t.Errorf("claims report data = %x", c.ReportData)
			}
		})
	}
}

func TestProduceConfigfsRefuses(t *testing.T) {
	report := milanReport(t)
	wrapping := make([]byte, 48) // one entry whose offset+length wraps 2^32, then the end entry
	copy(wrapping, guidVCEK[:])
	copy(wrapping[16:], []byte{0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0})
	otherRD := milanReportData(t)
	otherRD[63] ^= 1
	for _, tc := range []struct {
		name  string
		fake  *tsmtest.Fake
		rd    *[64]byte
		check func(error) bool
	}{
		{"wrong provider", &tsmtest.Fake{Provider: tsm.ProviderTDX, OutBlob: report}, nil, isProviderError(tsm.ProviderTDX)},
		{"empty outblob", &tsmtest.Fake{Provider: tsm.ProviderSEV}, nil, is(tsm.ErrOutput)},
		{"short outblob", &tsmtest.Fake{Provider: tsm.ProviderSEV, OutBlob: report[:abi.ReportSize-1]}, nil, is(tsm.ErrOutput)},
		{"long outblob", &tsmtest.Fake{Provider: tsm.ProviderSEV, OutBlob: append(bytes.Clone(report), 0)}, nil, is(tsm.ErrOutput)},
		{"malformed report", &tsmtest.Fake{Provider: tsm.ProviderSEV, OutBlob: make([]byte, abi.ReportSize)}, nil, both(tsm.ErrOutput, attest.ErrMalformed)},
		{"malformed table", &tsmtest.Fake{Provider: tsm.ProviderSEV, OutBlob: report, AuxBlob: wrapping}, nil, both(tsm.ErrOutput, attest.ErrMalformed)},
		{"oversized table", &tsmtest.Fake{Provider: tsm.ProviderSEV, OutBlob: report, AuxBlob: make([]byte, maxCertTableSize+1)}, nil, both(tsm.ErrOutput, attest.ErrMalformed)},
		{"other report data", &tsmtest.Fake{Provider: tsm.ProviderSEV, OutBlob: report}, &otherRD, is(tsm.ErrReportData)},
		{"generation mismatch", &tsmtest.Fake{Provider: tsm.ProviderSEV, OutBlob: report, Race: true}, nil, is(tsm.ErrGeneration)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd := milanReportData(t)
			if tc.rd != nil {
				rd = *tc.rd
			}
			_, err := (&Producer{TSM: tc.fake.Client()}).Produce(context.Background(), rd)
			if !tc.check(err) {
				t.Fatalf("Produce: %v", err)
			}
		})
	}
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

func both(a, b error) func(error) bool {
	return func(err error) bool { return errors.Is(err, a) && errors.Is(err, b) }
}

func isProviderError(got string) func(error) bool {
	return func(err error) bool {
		var pe *tsm.ProviderError
		return errors.As(err, &pe) && pe.Got == got && pe.Want == tsm.ProviderSEV
	}
}

// fakeDevice is a sev-guest device that answers with recorded bytes.
type fakeDevice struct {
	report, certs []byte
	extErr        error // the extended request fails with it
	repErr        error // the plain request fails with it
	asked         [][64]byte
	closed        bool
}

func (d *fakeDevice) Open(string) error        { return nil }
func (d *fakeDevice) Close() error             { d.closed = true; return nil }
func (d *fakeDevice) Product() *spb.SevProduct { return abi.DefaultSevProduct() }

func (d *fakeDevice) Ioctl(cmd uintptr, arg any) (uintptr, error) {
	req := arg.(*labi.SnpUserGuestRequest)
	resp := req.RespData.(*labi.SnpReportRespABI)
	switch cmd {
	case labi.IocSnpGetExtendedReport:
		if d.extErr != nil {
			return 0, d.extErr
		}
		ext := req.ReqData.(*labi.SnpExtendedReportReq)
		if ext.CertsLength < uint32(len(d.certs)) {
			// As the kernel: the buffer is too small, here is the size.
			req.FwErr = uint64(abi.GuestRequestInvalidLength)
			ext.CertsLength = uint32(len(d.certs))
			return 0, syscall.EIO
		}
		d.asked = append(d.asked, ext.Data.ReportData)
		copy(ext.Certs, d.certs)
	case labi.IocSnpGetReport:
		if d.repErr != nil {
			return 0, d.repErr
		}
		d.asked = append(d.asked, req.ReqData.(*labi.SnpReportReqABI).ReportData)
	default:
		return 0, syscall.ENOTTY
	}
	copy(resp.Data[:], d.report)
	return uintptr(labi.EsOk), nil
}

func TestProduceIoctl(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "sev-guest")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	report := milanReport(t)
	table := marshalCertTable(certTable{vcek: milanVCEK(t)})
	for _, tc := range []struct {
		name        string
		dev         *fakeDevice
		wantPayload []byte
	}{
		{"extended report with certificates", &fakeDevice{report: report, certs: table}, append(bytes.Clone(report), table...)},
		{"extended report without certificates", &fakeDevice{report: report}, report},
		{"extended requests unsupported", &fakeDevice{report: report, extErr: syscall.ENOTTY}, report},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opened string
			p := &Producer{
				TSM:        tsm.Dir(filepath.Join(dir, "no-configfs")),
				DevicePath: dev,
				open:       func(path string) (client.Device, error) { opened = path; return tc.dev, nil },
			}
			rd := milanReportData(t)
			ev, err := p.Produce(context.Background(), rd)
			if err != nil {
				t.Fatalf("Produce: %v", err)
			}
			if opened != dev || !tc.dev.closed {
				t.Errorf("device %q opened, closed %v", opened, tc.dev.closed)
			}
			if !bytes.Equal(ev.Payload, tc.wantPayload) {
				t.Error("payload differs from the device's report and table")
			}
			if n := len(tc.dev.asked); n == 0 || tc.dev.asked[n-1] != rd {
				t.Errorf("device asked for %x, want %x", tc.dev.asked, rd)
			}
			verifyMilan(t, ev, milanCollateral)
		})
	}
}

func TestProduceIoctlRefuses(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "sev-guest")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noTSM := tsm.Dir(filepath.Join(dir, "no-configfs"))
	failing := &fakeDevice{report: milanReport(t), extErr: syscall.EIO}
	for _, tc := range []struct {
		name  string
		p     *Producer
		check func(error) bool
	}{
		{"no configfs-tsm and no device", &Producer{TSM: noTSM, DevicePath: filepath.Join(dir, "absent")}, is(tsm.ErrUnavailable)},
		{"device does not open", &Producer{TSM: noTSM, DevicePath: dev,
			open: func(string) (client.Device, error) { return nil, syscall.EACCES }}, is(syscall.EACCES)},
		{"device fails", &Producer{TSM: noTSM, DevicePath: dev,
			open: func(string) (client.Device, error) {
				return &fakeDevice{extErr: syscall.EIO, repErr: syscall.EBUSY}, nil
			}},
			is(syscall.EBUSY)}, // go-sev-guest formats the first error with %v
		{"device returns a short report", &Producer{TSM: noTSM, DevicePath: dev,
			open: func(string) (client.Device, error) { return &fakeDevice{report: make([]byte, 10)}, nil }}, is(tsm.ErrOutput)},
		{"configfs-tsm fails: no fallback", &Producer{TSM: (&tsmtest.Fake{Provider: "tdx_guest"}).Client(), DevicePath: dev,
			open: func(string) (client.Device, error) { return failing, nil }}, isProviderError("tdx_guest")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.p.Produce(context.Background(), milanReportData(t))
			if !tc.check(err) {
				t.Fatalf("Produce: %v", err)
			}
		})
	}
	if len(failing.asked) != 0 {
		t.Error("the device was used although configfs-tsm exists")
	}
}

// The default configfs client is the kernel's; on a machine without
// configfs-tsm (this one) and without /dev/sev-guest, that is
// ErrUnavailable, never a report.
func TestProduceDefaultsHere(t *testing.T) {
	if _, err := os.Stat(configfsi.TsmPrefix + "/report"); err == nil {
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
	report := milanReport(f)
	f.Add(report, []byte(nil))
	f.Add(report, marshalCertTable(certTable{vcek: milanVCEK(f)}))
	f.Add(report[:100], []byte(nil))
	rd := milanReportData(f)
	f.Fuzz(func(t *testing.T, out, aux []byte) {
		payload, err := assemble(out, aux, rd)
		if err != nil {
			if !errors.Is(err, tsm.ErrOutput) && !errors.Is(err, tsm.ErrReportData) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if !bytes.Equal(payload, append(bytes.Clone(out), aux...)) {
			t.Fatal("payload is not outblob followed by auxblob")
		}
	})
}
