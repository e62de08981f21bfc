package guest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/tsm/tsmtest"
	"github.com/cofre-cc/cofre/attest/sgx"
	"github.com/cofre-cc/cofre/attest/snp"
	"github.com/cofre-cc/cofre/attest/tdx"
)

// tree makes a root holding the given files and directories (a trailing /
// marks a directory).
func tree(t *testing.T, paths ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, p := range paths {
		full := filepath.Join(root, filepath.FromSlash(p))
		if p[len(p)-1] == '/' {
			if err := os.MkdirAll(full, 0o700); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name     string
		paths    []string
		provider string // a faketsm with this provider, if set
		want     string // format of the producer
		check    func(*testing.T, string, attest.Producer)
	}{
		{name: "configfs-tsm sev_guest", provider: "sev_guest", paths: []string{"dev/attestation/"}, want: attest.FormatSEVSNP,
			check: func(t *testing.T, root string, p attest.Producer) {
				if got := p.(*snp.Producer).DevicePath; got != filepath.Join(root, "dev", "sev-guest") {
					t.Errorf("device path %q", got)
				}
			}},
		{name: "configfs-tsm tdx_guest", provider: "tdx_guest", want: attest.FormatTDX,
			check: func(t *testing.T, root string, p attest.Producer) {
				if got := p.(*tdx.Producer).DevicePath; got != filepath.Join(root, "dev", "tdx_guest") {
					t.Errorf("device path %q", got)
				}
			}},
		{name: "gramine", paths: []string{"dev/attestation/attestation_type"}, want: attest.FormatSGX,
			check: func(t *testing.T, root string, p attest.Producer) {
				if got := p.(*sgx.Producer).Dir; got != filepath.Join(root, "dev", "attestation") {
					t.Errorf("dir %q", got)
				}
			}},
		{name: "sev-guest device", paths: []string{"dev/sev-guest"}, want: attest.FormatSEVSNP},
		{name: "tdx_guest device", paths: []string{"dev/tdx_guest"}, want: attest.FormatTDX},
		// An empty configfs tsm directory (module loaded, no report
		// subsystem) is no configfs-tsm: the device decides.
		{name: "tsm without report", paths: []string{"sys/kernel/config/tsm/", "dev/tdx_guest"}, want: attest.FormatTDX},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, tc.paths...)
			cfg := Config{Root: root}
			if tc.provider != "" {
				cfg.TSM = (&tsmtest.Fake{Provider: tc.provider}).Client()
			}
			p, err := Detect(cfg)
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if p.Format() != tc.want {
				t.Fatalf("producer of %q, want %q", p.Format(), tc.want)
			}
			if tc.check != nil {
				tc.check(t, root, p)
			}
		})
	}
}

func TestDetectNoTEE(t *testing.T) {
	for _, tc := range []struct {
		name     string
		paths    []string
		provider string
	}{
		{name: "nothing"},
		{name: "unknown provider", provider: "arm_cca_guest", paths: []string{"dev/sev-guest"}},
		{name: "unrelated devices", paths: []string{"dev/null", "dev/sgx_enclave", "sys/kernel/config/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Root: tree(t, tc.paths...)}
			if tc.provider != "" {
				cfg.TSM = (&tsmtest.Fake{Provider: tc.provider}).Client()
			}
			p, err := Detect(cfg)
			if !errors.Is(err, ErrNoTEE) || p != nil {
				t.Fatalf("Detect = %v, %v; want ErrNoTEE", p, err)
			}
		})
	}
}

// A failure to look is not "no TEE": the launcher must not fall back to
// simulation because it could not read a directory.
func TestDetectFailsLoudly(t *testing.T) {
	root := tree(t, "dev/")
	// dev/attestation under a file: stat fails with ENOTDIR, not ENOENT.
	if err := os.WriteFile(filepath.Join(root, "dev", "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Detect(Config{Root: filepath.Join(root, "dev", "x")})
	if err == nil || errors.Is(err, ErrNoTEE) || p != nil {
		t.Fatalf("Detect = %v, %v; want an error other than ErrNoTEE", p, err)
	}
}

// Detect on this machine: it has no TEE, so ErrNoTEE, unless it has one.
func TestDetectHere(t *testing.T) {
	p, err := Detect(Config{})
	if err != nil && !errors.Is(err, ErrNoTEE) {
		t.Fatalf("Detect: %v", err)
	}
	if err == nil {
		t.Logf("this machine has a TEE: %s", p.Format())
	}
}

func TestReexportedErrors(t *testing.T) {
	// The producers of each format wrap these; a sample from each.
	dir := t.TempDir()
	_, err := (&sgx.Producer{Dir: filepath.Join(dir, "absent")}).Produce(context.Background(), [64]byte{})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("sgx: %v, want ErrUnavailable", err)
	}
	f := &tsmtest.Fake{Provider: "tdx_guest"}
	_, err = (&snp.Producer{TSM: f.Client()}).Produce(context.Background(), [64]byte{})
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Got != "tdx_guest" {
		t.Errorf("snp: %v, want a ProviderError", err)
	}
	f = &tsmtest.Fake{Provider: "tdx_guest", OutBlob: []byte("x"), Race: true}
	if _, err = (&tdx.Producer{TSM: f.Client()}).Produce(context.Background(), [64]byte{}); !errors.Is(err, ErrGeneration) {
		t.Errorf("tdx: %v, want ErrGeneration", err)
	}
	f = &tsmtest.Fake{Provider: "tdx_guest", OutBlob: []byte("x")}
	if _, err = (&tdx.Producer{TSM: f.Client()}).Produce(context.Background(), [64]byte{}); !errors.Is(err, ErrOutput) {
		t.Errorf("tdx: %v, want ErrOutput", err)
	}
}
