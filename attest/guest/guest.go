// Package guest finds the TEE the current process runs in and returns the
// attest.Producer that makes its evidence, for the launcher (cofre run).
//
//	p, err := guest.Detect(guest.Config{})
//	if errors.Is(err, guest.ErrNoTEE) {
//		// not in a TEE: use the node agent (sim) instead
//	}
//	ev, err := p.Produce(ctx, reportData)
//
// Detection looks, under Config.Root, for:
//
//   - configfs-tsm (sys/kernel/config/tsm/report): its provider names the
//     TEE, "sev_guest" (AMD SEV-SNP, attest/snp) or "tdx_guest" (Intel TDX,
//     attest/tdx);
//   - Gramine's attestation directory (dev/attestation): an SGX enclave
//     (attest/sgx, DCAP quotes);
//   - the guest devices of kernels without configfs-tsm: dev/sev-guest,
//     dev/tdx_guest.
//
// Detection reads no report and proves nothing: it only picks the
// interface. Whether the evidence is genuine is the verifier's question.
// Files under Root are as trustworthy as the kernel that serves them; a
// hostile host can at most make Detect pick a producer whose evidence then
// fails verification.
//
// The producers run only inside a real TEE guest. cofre's tests run them
// against go-configfs-tsm's faketsm, fake devices and a temporary Gramine
// directory that return recorded evidence; this package's tests cover the
// choice, not the hardware.
package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/tsm"
	"github.com/cofre-cc/cofre/attest/sgx"
	"github.com/cofre-cc/cofre/attest/snp"
	"github.com/cofre-cc/cofre/attest/tdx"
	"github.com/google/go-configfs-tsm/configfs/configfsi"
)

// ErrNoTEE: no TEE interface that cofre can produce evidence with exists
// here.
var ErrNoTEE = errors.New("no TEE found")

// Error classes of the producers Detect returns, for errors.Is.
var (
	// ErrUnavailable: the interface a producer uses disappeared, or
	// neither of its interfaces exists.
	ErrUnavailable = tsm.ErrUnavailable
	// ErrGeneration: another writer changed the configfs-tsm report entry
	// between our write and our read. Retrying is safe.
	ErrGeneration = tsm.ErrGeneration
	// ErrOutput: the interface returned evidence that is empty, of the
	// wrong size, or does not parse.
	ErrOutput = tsm.ErrOutput
	// ErrReportData: the evidence does not carry the report data asked for.
	ErrReportData = tsm.ErrReportData
)

// ProviderError reports an interface of the wrong kind: a configfs-tsm
// provider other than the producer's, or a Gramine attestation type other
// than "dcap".
type ProviderError = tsm.ProviderError

// Config says where to look.
type Config struct {
	// Root, or empty for "/", is the directory under which the kernel's
	// interfaces are looked for (sys/kernel/config/tsm, dev/sev-guest,
	// dev/tdx_guest, dev/attestation). A container that sees the host's
	// files elsewhere sets it; tests point it at a temporary tree.
	Root string
	// TSM, or nil for configfs-tsm under Root, reaches configfs-tsm.
	TSM configfsi.Client
}

// Detect returns the producer for the TEE this process runs in, or an error
// wrapping ErrNoTEE. A configfs-tsm provider cofre does not know (Arm CCA,
// say) is ErrNoTEE too, naming the provider. Any other failure to look
// (permissions, say) is returned as it is, so that a TEE is never silently
// taken for none.
func Detect(cfg Config) (attest.Producer, error) {
	root := cfg.Root
	if root == "" {
		root = "/"
	}
	c := cfg.TSM
	if c == nil {
		c = tsm.Dir(filepath.Join(root, "sys", "kernel", "config", "tsm"))
	}
	sevDev := filepath.Join(root, "dev", "sev-guest")
	tdxDev := filepath.Join(root, "dev", "tdx_guest")

	provider, err := tsm.Provider(c)
	switch {
	case err == nil:
		switch provider {
		case tsm.ProviderSEV:
			return &snp.Producer{TSM: c, DevicePath: sevDev}, nil
		case tsm.ProviderTDX:
			return &tdx.Producer{TSM: c, DevicePath: tdxDev}, nil
		}
		return nil, fmt.Errorf("guest: %w: configfs-tsm provider %q is not supported", ErrNoTEE, provider)
	case !errors.Is(err, tsm.ErrUnavailable):
		return nil, fmt.Errorf("guest: configfs-tsm: %w", err)
	}

	gramine := filepath.Join(root, "dev", "attestation")
	for _, d := range []struct {
		path string
		p    attest.Producer
	}{
		{gramine, &sgx.Producer{Dir: gramine}},
		{sevDev, &snp.Producer{TSM: c, DevicePath: sevDev}},
		{tdxDev, &tdx.Producer{TSM: c, DevicePath: tdxDev}},
	} {
		ok, err := exists(d.path)
		if err != nil {
			return nil, fmt.Errorf("guest: %w", err)
		}
		if ok {
			return d.p, nil
		}
	}
	return nil, fmt.Errorf("guest: %w: no configfs-tsm, %s, %s or %s", ErrNoTEE, gramine, sevDev, tdxDev)
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, err
}
