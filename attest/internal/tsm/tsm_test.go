package tsm

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/cofre-cc/cofre/attest/internal/tsm/tsmtest"
	"github.com/google/go-configfs-tsm/configfs/configfsi"
	"github.com/google/go-configfs-tsm/report"
)

func reportData() [64]byte {
	var rd [64]byte
	for i := range rd {
		rd[i] = byte(i + 1)
	}
	return rd
}

func TestGet(t *testing.T) {
	level := uint(2)
	for _, tc := range []struct {
		name      string
		fake      *tsmtest.Fake
		req       Request
		wantAux   []byte
		wantLevel string
	}{
		{"sev with auxblob", &tsmtest.Fake{Provider: ProviderSEV, OutBlob: []byte("report"), AuxBlob: []byte("certs")},
			Request{Provider: ProviderSEV, AuxBlob: true, Privilege: &level}, []byte("certs"), "2"},
		{"sev without auxblob", &tsmtest.Fake{Provider: ProviderSEV, OutBlob: []byte("report")},
			Request{Provider: ProviderSEV, AuxBlob: true}, nil, "0\n"},
		{"tdx", &tsmtest.Fake{Provider: ProviderTDX, OutBlob: []byte("report"), AuxBlob: []byte("ignored")},
			Request{Provider: ProviderTDX}, nil, "0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.ReportData = reportData()
			resp, err := Get(context.Background(), tc.fake.Client(), tc.req)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if string(resp.OutBlob) != "report" {
				t.Errorf("outblob = %q", resp.OutBlob)
			}
			if !bytes.Equal(resp.AuxBlob, tc.wantAux) {
				t.Errorf("auxblob = %q, want %q", resp.AuxBlob, tc.wantAux)
			}
			in := tc.fake.InBlobs()
			if len(in) != 1 || !bytes.Equal(in[0], tc.req.ReportData[:]) {
				t.Errorf("inblobs = %x, want exactly the report data", in)
			}
			if pl := tc.fake.PrivLevels(); len(pl) != 1 || string(pl[0]) != tc.wantLevel {
				t.Errorf("privlevels = %q, want %q", pl, tc.wantLevel)
			}
		})
	}
}

func TestGetRefuses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fake     *tsmtest.Fake
		provider string
		check    func(error) bool
	}{
		{"wrong provider", &tsmtest.Fake{Provider: ProviderTDX, OutBlob: []byte("q")}, ProviderSEV,
			func(err error) bool {
				var pe *ProviderError
				return errors.As(err, &pe) && pe.Got == ProviderTDX && pe.Want == ProviderSEV
			}},
		{"empty outblob", &tsmtest.Fake{Provider: ProviderSEV}, ProviderSEV,
			func(err error) bool { return errors.Is(err, ErrOutput) }},
		{"generation mismatch", &tsmtest.Fake{Provider: ProviderSEV, OutBlob: []byte("r"), Race: true}, ProviderSEV,
			func(err error) bool {
				var ge *report.GenerationErr
				return errors.Is(err, ErrGeneration) && errors.As(err, &ge) && ge.Want == 1 && ge.Got == 2
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Get(context.Background(), tc.fake.Client(), Request{ReportData: reportData(), Provider: tc.provider, AuxBlob: true})
			if !tc.check(err) {
				t.Fatalf("Get: %v", err)
			}
			if tc.name == "wrong provider" && len(tc.fake.InBlobs()) != 0 {
				t.Error("a report was requested from the wrong provider")
			}
		})
	}
}

func TestGetCanceled(t *testing.T) {
	f := tsmtest.Fake{Provider: ProviderSEV, OutBlob: []byte("r")}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Get(ctx, f.Client(), Request{Provider: ProviderSEV}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get = %v, want context.Canceled", err)
	}
	if len(f.InBlobs()) != 0 {
		t.Error("a report was requested after cancellation")
	}
}

func TestProvider(t *testing.T) {
	for _, p := range []string{ProviderSEV, ProviderTDX, "arm_cca_guest"} {
		f := tsmtest.Fake{Provider: p}
		got, err := Provider(f.Client())
		if err != nil || got != p {
			t.Errorf("Provider = %q, %v; want %q", got, err, p)
		}
		if len(f.InBlobs()) != 0 {
			t.Error("Provider requested a report")
		}
	}
}

func TestDirUnavailable(t *testing.T) {
	root := t.TempDir()
	notDir := filepath.Join(root, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "reportfile"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "reportfile", "report"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		root string
		want error
	}{
		{"missing root", filepath.Join(root, "absent"), ErrUnavailable},
		{"root without report", root, ErrUnavailable},
		{"root is a file", notDir, ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Get(context.Background(), Dir(tc.root), Request{Provider: ProviderSEV})
			if !errors.Is(err, tc.want) {
				t.Errorf("Get = %v, want %v", err, tc.want)
			}
			if _, err := Provider(Dir(tc.root)); !errors.Is(err, tc.want) {
				t.Errorf("Provider = %v, want %v", err, tc.want)
			}
		})
	}
	// report exists but is not a directory: present, but not configfs-tsm.
	_, err := Get(context.Background(), Dir(filepath.Join(root, "reportfile")), Request{Provider: ProviderSEV})
	if err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("report as a file: Get = %v, want a non-ErrUnavailable error", err)
	}
}

// A directory that is not configfs (no attributes appear in a new entry)
// fails, and leaves no entry behind.
func TestDirNotConfigfs(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "report"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Get(context.Background(), Dir(root), Request{Provider: ProviderSEV}); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get = %v, want a failure other than ErrUnavailable", err)
	}
	left, err := os.ReadDir(filepath.Join(root, "report"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("entries left behind: %v", left)
	}
}

// Dir maps go-configfs-tsm's names onto its root, in both directions, and
// writes only attributes that exist.
func TestDirMapping(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "report"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := Dir(root)
	entry, err := c.MkdirTemp(configfsi.TsmPrefix+"/report", "entry")
	if err != nil {
		t.Fatal(err)
	}
	p, err := configfsi.ParseTsmPath(entry)
	if err != nil || p.Subsystem != "report" || p.Entry == "" {
		t.Fatalf("MkdirTemp returned %q (%+v, %v)", entry, p, err)
	}
	local := filepath.Join(root, "report", p.Entry)
	if fi, err := os.Stat(local); err != nil || !fi.IsDir() {
		t.Fatalf("entry not made at %s: %v", local, err)
	}
	if err := c.WriteFile(entry+"/inblob", []byte("x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteFile of a missing attribute = %v, want fs.ErrNotExist", err)
	}
	if err := os.WriteFile(filepath.Join(local, "inblob"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(entry+"/inblob", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if b, err := c.ReadFile(entry + "/inblob"); err != nil || string(b) != "abc" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := c.ReadDir(configfsi.TsmPrefix + "/report"); err != nil {
		t.Errorf("ReadDir: %v", err)
	}
	for _, bad := range []string{"/etc/passwd", configfsi.TsmPrefix + "x/report", "/sys/kernel/config/tsm/../../../../etc"} {
		if _, err := c.ReadFile(bad); err == nil {
			t.Errorf("ReadFile(%q) escaped the root", bad)
		}
	}
}
