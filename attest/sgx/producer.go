package sgx

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/tsm"
	"github.com/cofre-cc/cofre/attest/sgx/internal/quote"
)

// DefaultAttestationDir is where Gramine mounts its attestation
// pseudo-filesystem inside an enclave.
const DefaultAttestationDir = "/dev/attestation"

// Gramine's attestation files (Gramine documentation, "Attestation and
// Secret Provisioning", /dev/attestation interface).
const (
	gramineType       = "attestation_type" // "none", "epid" or "dcap"
	gramineReportData = "user_report_data" // write: 64 bytes
	gramineQuote      = "quote"            // read: the quote over the last user_report_data
	gramineDCAP       = "dcap"
)

// maxAttestationTypeSize bounds what is read of attestation_type, which
// holds a word of a few bytes; the bound keeps an odd mount from handing us
// megabytes before we compare it.
const maxAttestationTypeSize = 64

// Producer makes sgx.quote.v3 evidence inside a Gramine SGX enclave: it
// writes the report data to Gramine's user_report_data and reads back the
// DCAP quote Gramine obtained from the quoting enclave. Gramine must be
// configured with sgx.remote_attestation = "dcap" (attestation_type
// "dcap"); EPID quotes are not this format.
//
// Before it returns, Produce parses the quote with the verifier's parser
// and checks that its REPORTDATA is exactly the report data it asked for
// (tsm.ErrReportData otherwise).
//
// Gramine's files are per process, so concurrent writers in one process
// would race. A Producer serializes its own calls; separate Producers over
// the same directory are caught by the report-data check. Use it through a
// pointer.
//
// This only works inside Gramine; cofre's tests run it against a temporary
// directory holding a recorded quote.
type Producer struct {
	// Dir, or empty for DefaultAttestationDir, is Gramine's attestation
	// directory.
	Dir string

	mu sync.Mutex // serializes write(user_report_data), read(quote)
}

var _ attest.Producer = (*Producer)(nil)

func (p *Producer) Format() string { return attest.FormatSGX }

// Produce returns a quote binding reportData. Errors wrap the classes of
// attest/guest: tsm.ErrUnavailable when a Gramine file is missing, a
// *tsm.ProviderError when the attestation type is not "dcap",
// tsm.ErrOutput, tsm.ErrReportData.
func (p *Producer) Produce(ctx context.Context, reportData [attest.ReportDataSize]byte) (attest.Evidence, error) {
	if err := ctx.Err(); err != nil {
		return attest.Evidence{}, err
	}
	dir := p.Dir
	if dir == "" {
		dir = DefaultAttestationDir
	}
	typ, err := readFile(filepath.Join(dir, gramineType), maxAttestationTypeSize)
	if err != nil {
		return attest.Evidence{}, err
	}
	if got := strings.TrimSpace(string(typ)); got != gramineDCAP {
		return attest.Evidence{}, fmt.Errorf("sgx: gramine: %w", &tsm.ProviderError{Want: gramineDCAP, Got: got})
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if err := writeFile(filepath.Join(dir, gramineReportData), reportData[:]); err != nil {
		return attest.Evidence{}, err
	}
	raw, err := readFile(filepath.Join(dir, gramineQuote), quote.MaxQuoteSize)
	if err != nil {
		return attest.Evidence{}, err
	}
	if err := checkQuote(raw, reportData); err != nil {
		return attest.Evidence{}, err
	}
	return attest.Evidence{Format: attest.FormatSGX, Payload: raw}, nil
}

// checkQuote parses a quote as the verifier will and checks its report data.
func checkQuote(raw []byte, reportData [attest.ReportDataSize]byte) error {
	if len(raw) == 0 {
		return fmt.Errorf("sgx: %w: quote is empty", tsm.ErrOutput)
	}
	q, err := quote.Parse(raw)
	if err != nil {
		return fmt.Errorf("sgx: %w: %w", tsm.ErrOutput, err)
	}
	if q.Body.ReportData != reportData {
		return fmt.Errorf("sgx: %w: REPORTDATA is %s, asked for %s", tsm.ErrReportData, hex.EncodeToString(q.Body.ReportData[:]), hex.EncodeToString(reportData[:]))
	}
	return nil
}

// readFile reads at most limit bytes of name; more is ErrOutput, absence
// ErrUnavailable.
func readFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fileErr(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("sgx: gramine: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("sgx: gramine: %w: %s is over %d bytes", tsm.ErrOutput, name, limit)
	}
	return b, nil
}

// writeFile writes b to an existing file in one write. It never creates
// the file: a missing one means this is not Gramine.
func writeFile(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return fileErr(err)
	}
	n, err := f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("sgx: gramine: write %s: %w", name, err)
	}
	return nil
}

func fileErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sgx: gramine: %w: %w", tsm.ErrUnavailable, err)
	}
	return fmt.Errorf("sgx: gramine: %w", err)
}
