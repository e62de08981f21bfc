package snp

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/tsm"
	"github.com/google/go-configfs-tsm/configfs/configfsi"
	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/client"
)

// DefaultDevicePath is the Linux sev-guest device.
const DefaultDevicePath = "/dev/sev-guest"

// Producer makes sevsnp.report evidence inside an SEV-SNP guest. It asks
// the kernel through configfs-tsm (provider "sev_guest": outblob is the
// report, auxblob the certificate table the host supplies), and falls back
// to the SNP_GET_EXT_REPORT ioctl on DevicePath when configfs-tsm is absent
// (kernels before 6.7). The payload is the report followed by the
// certificate table when the host supplies one, as the package doc says.
//
// Before it returns, Produce checks its own output with the verifier's
// parser, and that the report carries exactly the report data it asked for:
// another process sharing the interface, or a host answering the wrong
// request, fails here (tsm.ErrReportData) rather than at the relying party.
//
// This only works in an SEV-SNP guest; cofre's tests run it against fakes
// and recorded reports.
type Producer struct {
	// TSM, or nil for the kernel's at /sys/kernel/config/tsm, reaches
	// configfs-tsm.
	TSM configfsi.Client
	// DevicePath, or empty for DefaultDevicePath, is the sev-guest device
	// used when configfs-tsm is absent.
	DevicePath string
	// VMPL, or nil for the kernel's default (configfs-tsm's privlevel left
	// as it is; VMPL 0 through the ioctl), is the VMPL to report at.
	VMPL *uint

	// open opens the device; nil means openDevice. Tests set it.
	open func(path string) (client.Device, error)
}

var _ attest.Producer = (*Producer)(nil)

func (p *Producer) Format() string { return attest.FormatSEVSNP }

// Produce returns a report binding reportData. Errors wrap the classes of
// attest/guest (tsm.ErrUnavailable when neither interface exists,
// tsm.ErrGeneration, tsm.ErrOutput, tsm.ErrReportData, *tsm.ProviderError).
func (p *Producer) Produce(ctx context.Context, reportData [attest.ReportDataSize]byte) (attest.Evidence, error) {
	c := p.TSM
	if c == nil {
		c = tsm.Dir(tsm.DefaultRoot)
	}
	resp, err := tsm.Get(ctx, c, tsm.Request{ReportData: reportData, Provider: tsm.ProviderSEV, AuxBlob: true, Privilege: p.VMPL})
	var report, certs []byte
	switch {
	case err == nil:
		report, certs = resp.OutBlob, resp.AuxBlob
	case errors.Is(err, tsm.ErrUnavailable):
		report, certs, err = p.ioctl(reportData)
		if err != nil {
			return attest.Evidence{}, err
		}
	default:
		return attest.Evidence{}, fmt.Errorf("snp: configfs-tsm: %w", err)
	}
	payload, err := assemble(report, certs, reportData)
	if err != nil {
		return attest.Evidence{}, err
	}
	return attest.Evidence{Format: attest.FormatSEVSNP, Payload: payload}, nil
}

// assemble builds the payload and checks it as the verifier will parse it.
func assemble(report, certs []byte, reportData [attest.ReportDataSize]byte) ([]byte, error) {
	// The verifier reads exactly abi.ReportSize bytes of report and takes
	// the rest for the certificate table: a longer report (a future
	// firmware's) would be misread, so it is refused here.
	if len(report) != abi.ReportSize {
		return nil, fmt.Errorf("snp: %w: report is %d bytes, want %d", tsm.ErrOutput, len(report), abi.ReportSize)
	}
	payload := append(bytes.Clone(report), certs...)
	parsed, err := parsePayload(payload)
	if err != nil {
		return nil, fmt.Errorf("snp: %w: %w", tsm.ErrOutput, err)
	}
	if got := parsed.report.GetReportData(); !bytes.Equal(got, reportData[:]) {
		return nil, fmt.Errorf("snp: %w: REPORT_DATA is %s, asked for %s", tsm.ErrReportData, hex.EncodeToString(got), hex.EncodeToString(reportData[:]))
	}
	return payload, nil
}

// ioctl gets an extended report from the sev-guest device.
//
// go-sev-guest's Device functions are deprecated in favour of its
// QuoteProviders, but those open a fixed path named by a global flag;
// these take the device, so the path is ours and tests can fake it.
func (p *Producer) ioctl(reportData [attest.ReportDataSize]byte) (report, certs []byte, err error) {
	path := p.DevicePath
	if path == "" {
		path = DefaultDevicePath
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("snp: %w: neither configfs-tsm nor %s exists", tsm.ErrUnavailable, path)
		}
		return nil, nil, fmt.Errorf("snp: %w", err)
	}
	open := p.open
	if open == nil {
		open = openDevice
	}
	d, err := open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("snp: open %s: %w", path, err)
	}
	defer d.Close()
	vmpl := 0
	if p.VMPL != nil {
		vmpl = int(*p.VMPL)
	}
	//lint:ignore SA1019 see above: the replacement cannot take a device.
	report, certs, err = client.GetRawExtendedReportAtVmpl(d, reportData, vmpl)
	if err != nil {
		// Some hosts do not implement extended guest requests; a bare
		// report verifies with the VCEK from collateral.
		//lint:ignore SA1019 see above.
		r, rerr := client.GetRawReportAtVmpl(d, reportData, vmpl)
		if rerr != nil {
			return nil, nil, fmt.Errorf("snp: %s: %w", path, errors.Join(err, rerr))
		}
		return r, nil, nil
	}
	return report, certs, nil
}
