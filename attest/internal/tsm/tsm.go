package tsm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"github.com/google/go-configfs-tsm/configfs/configfsi"
	"github.com/google/go-configfs-tsm/report"
)

// Providers, as the kernel names them in a report entry's "provider"
// attribute.
const (
	ProviderSEV = "sev_guest" // AMD SEV-SNP: outblob is the report, auxblob the certificate table
	ProviderTDX = "tdx_guest" // Intel TDX: outblob is the quote
)

// DefaultRoot is where Linux mounts configfs-tsm.
const DefaultRoot = configfsi.TsmPrefix

// Request is one report request.
type Request struct {
	// ReportData is written to inblob: the 64 bytes the report binds.
	ReportData [64]byte
	// Provider is the provider the entry must have; Get refuses any other
	// before it writes inblob.
	Provider string
	// AuxBlob asks for auxblob too (SEV-SNP's certificate table).
	AuxBlob bool
	// Privilege, or nil to leave privlevel at the kernel's default, is the
	// privilege level to report at (SEV-SNP's VMPL).
	Privilege *uint
}

// Response is what a report entry returned. OutBlob is never empty.
type Response struct {
	OutBlob []byte
	AuxBlob []byte
}

// Get makes a report entry, checks its provider, writes the request, reads
// the report and removes the entry. A missing report subsystem is
// ErrUnavailable; a generation mismatch is ErrGeneration (with the
// library's *report.GenerationErr inside); another provider is a
// *ProviderError; an empty outblob is ErrOutput.
//
// The kernel does the work while outblob is read, and the read is not
// interruptible through ctx: ctx is only checked before starting.
func Get(ctx context.Context, c configfsi.Client, req Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := open(c)
	if err != nil {
		return nil, err
	}
	resp, err := get(r, req)
	// A failed rmdir leaves an entry that costs some kernel memory and
	// nothing else; the report is good, so it is not thrown away for that.
	_ = r.Destroy()
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func get(r *report.OpenReport, req Request) (*Response, error) {
	// Check the provider before asking for a report: a report from another
	// TEE would only be refused later, at more cost.
	if err := checkProvider(r, req.Provider); err != nil {
		return nil, err
	}
	r.InBlob = req.ReportData[:]
	if req.Privilege != nil {
		r.Privilege = &report.Privilege{Level: *req.Privilege}
	}
	r.GetAuxBlob = req.AuxBlob
	resp, err := r.Get()
	if err != nil {
		return nil, classify(err)
	}
	// Get read provider again, after the report: an entry whose provider
	// changed between the two reads (a module reload) is refused too.
	if got := strings.TrimSuffix(resp.Provider, "\n"); got != req.Provider {
		return nil, fmt.Errorf("tsm: %w", &ProviderError{Want: req.Provider, Got: got})
	}
	if len(resp.OutBlob) == 0 {
		return nil, fmt.Errorf("tsm: %w: outblob is empty", ErrOutput)
	}
	return &Response{OutBlob: resp.OutBlob, AuxBlob: resp.AuxBlob}, nil
}

// Provider returns the provider of c's report subsystem ("sev_guest",
// "tdx_guest", …) without asking for a report. A missing report subsystem
// is ErrUnavailable.
func Provider(c configfsi.Client) (string, error) {
	r, err := open(c)
	if err != nil {
		return "", err
	}
	p, err := r.ReadOption("provider")
	_ = r.Destroy() // as in Get
	if err != nil {
		return "", fmt.Errorf("tsm: read provider: %w", classify(err))
	}
	return strings.TrimSuffix(string(p), "\n"), nil
}

func open(c configfsi.Client) (*report.OpenReport, error) {
	// go-configfs-tsm formats the causes of its errors with %v, so a
	// missing subsystem cannot be recognized from its error: a Dir client
	// looks first.
	if d, ok := c.(*dir); ok {
		if err := d.check(); err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil, fmt.Errorf("tsm: %w: %w", ErrUnavailable, err)
			}
			return nil, fmt.Errorf("tsm: %w", err)
		}
	}
	r, err := report.CreateOpenReport(c)
	if err != nil {
		return nil, fmt.Errorf("tsm: create report entry: %w", err)
	}
	return r, nil
}

func checkProvider(r *report.OpenReport, want string) error {
	p, err := r.ReadOption("provider")
	if err != nil {
		return fmt.Errorf("tsm: read provider: %w", classify(err))
	}
	if got := strings.TrimSuffix(string(p), "\n"); got != want {
		return fmt.Errorf("tsm: %w", &ProviderError{Want: want, Got: got})
	}
	return nil
}

// classify marks a generation mismatch with ErrGeneration and keeps the
// library's error (and its *report.GenerationErr) inside.
func classify(err error) error {
	if report.GetGenerationErr(err) != nil {
		return fmt.Errorf("%w: %w", ErrGeneration, err)
	}
	return err
}
