package tdx

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/tsm"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
	"github.com/google/go-configfs-tsm/configfs/configfsi"
	"github.com/google/go-tdx-guest/client"
)

// DefaultDevicePath is the Linux tdx-guest device.
const DefaultDevicePath = "/dev/tdx_guest"

// Producer makes tdx.quote.v4 evidence inside a TDX guest. It asks the
// kernel through configfs-tsm (provider "tdx_guest": outblob is the quote,
// which the host's quoting enclave signs), and falls back to the
// TDX_CMD_GET_QUOTE ioctl on DevicePath when configfs-tsm is absent. That
// ioctl was never in mainline Linux, only in distribution kernels that
// predate configfs-tsm; a mainline /dev/tdx_guest refuses it.
//
// Before it returns, Produce parses the quote with the verifier's parser
// and checks that its REPORTDATA is exactly the report data it asked for
// (tsm.ErrReportData otherwise).
//
// This only works in a TDX guest; cofre's tests run it against fakes and a
// recorded quote.
type Producer struct {
	// TSM, or nil for the kernel's at /sys/kernel/config/tsm, reaches
	// configfs-tsm.
	TSM configfsi.Client
	// DevicePath, or empty for DefaultDevicePath, is the tdx-guest device
	// used when configfs-tsm is absent.
	DevicePath string

	// open opens the device; nil means openDevice. Tests set it.
	open func(path string) (client.Device, error)
}

var _ attest.Producer = (*Producer)(nil)

func (p *Producer) Format() string { return attest.FormatTDX }

// Produce returns a quote binding reportData. Errors wrap the classes of
// attest/guest (tsm.ErrUnavailable when neither interface exists,
// tsm.ErrGeneration, tsm.ErrOutput, tsm.ErrReportData, *tsm.ProviderError).
func (p *Producer) Produce(ctx context.Context, reportData [attest.ReportDataSize]byte) (attest.Evidence, error) {
	c := p.TSM
	if c == nil {
		c = tsm.Dir(tsm.DefaultRoot)
	}
	var raw []byte
	resp, err := tsm.Get(ctx, c, tsm.Request{ReportData: reportData, Provider: tsm.ProviderTDX})
	switch {
	case err == nil:
		raw = resp.OutBlob
	case errors.Is(err, tsm.ErrUnavailable):
		if raw, err = p.ioctl(reportData); err != nil {
			return attest.Evidence{}, err
		}
	default:
		return attest.Evidence{}, fmt.Errorf("tdx: configfs-tsm: %w", err)
	}
	if err := checkQuote(raw, reportData); err != nil {
		return attest.Evidence{}, err
	}
	return attest.Evidence{Format: attest.FormatTDX, Payload: raw}, nil
}

// checkQuote parses a quote as the verifier will and checks its report data.
func checkQuote(raw []byte, reportData [attest.ReportDataSize]byte) error {
	if len(raw) == 0 {
		return fmt.Errorf("tdx: %w: quote is empty", tsm.ErrOutput)
	}
	q, err := quote.Parse(raw)
	if err != nil {
		return fmt.Errorf("tdx: %w: %w", tsm.ErrOutput, err)
	}
	if q.Body.ReportData != reportData {
		return fmt.Errorf("tdx: %w: REPORTDATA is %s, asked for %s", tsm.ErrReportData, hex.EncodeToString(q.Body.ReportData[:]), hex.EncodeToString(reportData[:]))
	}
	return nil
}

// ioctl gets a quote through the tdx-guest device, with go-tdx-guest's
// client (TDX_CMD_GET_REPORT0, then TDX_CMD_GET_QUOTE). Its Device
// interface is deprecated in favour of QuoteProviders, but those open a
// fixed path named by a global flag; a Device lets the path be ours and
// tests fake it.
func (p *Producer) ioctl(reportData [attest.ReportDataSize]byte) ([]byte, error) {
	path := p.DevicePath
	if path == "" {
		path = DefaultDevicePath
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("tdx: %w: neither configfs-tsm nor %s exists", tsm.ErrUnavailable, path)
		}
		return nil, fmt.Errorf("tdx: %w", err)
	}
	open := p.open
	if open == nil {
		open = openDevice
	}
	d, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("tdx: open %s: %w", path, err)
	}
	defer d.Close()
	raw, err := client.GetRawQuote(d, reportData)
	if err != nil {
		return nil, fmt.Errorf("tdx: %s: %w", path, err)
	}
	// The client returns a slice of its 16 KiB request buffer.
	return bytes.Clone(raw), nil
}
