package seal

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest/sim"
)

// testNow pins the sim certificates' validity; sealing itself has no
// notion of time.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newPlatforms(t *testing.T, n int) []*sim.Platform {
	t.Helper()
	root, err := sim.NewRoot(testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var ps []*sim.Platform
	for i := range n {
		p, err := root.NewPlatform("node-"+string(rune('a'+i)), testNow, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func mustSim(t *testing.T, p *sim.Platform, m string) *SimSealer {
	t.Helper()
	s, err := NewSimSealer(p, []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSimSealer(t *testing.T) {
	ps := newPlatforms(t, 2)
	sealer := mustSim(t, ps[0], "measurement-1")

	// The platform as reloaded from its file after a restart.
	pemBytes, err := sim.MarshalPlatform(ps[0])
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := sim.ParsePlatform(pemBytes)
	if err != nil {
		t.Fatal(err)
	}

	plaintext, aad := []byte("the data key"), []byte("context")
	sealed, err := sealer.Seal(plaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plaintext) {
		t.Fatal("sealed output contains the plaintext")
	}
	tests := []struct {
		name   string
		sealer Sealer
		aad    []byte
		want   error
	}{
		{"same sealer", sealer, aad, nil},
		{"same platform reloaded", mustSim(t, reloaded, "measurement-1"), aad, nil},
		{"other measurement", mustSim(t, ps[0], "measurement-2"), aad, ErrUnseal},
		{"other platform", mustSim(t, ps[1], "measurement-1"), aad, ErrUnseal},
		{"other aad", sealer, []byte("contexT"), ErrUnseal},
		{"no aad", sealer, nil, ErrUnseal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Unseal(sealed, tt.aad)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && !bytes.Equal(got, plaintext) {
				t.Fatalf("Unseal = %q", got)
			}
		})
	}
	if !strings.Contains(sealer.Name(), "SIMULATION") {
		t.Errorf("Name() = %q does not say SIMULATION", sealer.Name())
	}
}

func TestSimSealerParameters(t *testing.T) {
	p := newPlatforms(t, 1)[0]
	tests := []struct {
		name string
		p    *sim.Platform
		m    []byte
	}{
		{"nil platform", nil, []byte("m")},
		{"empty measurement", p, nil},
		{"long measurement", p, make([]byte, MaxMeasurementLen+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSimSealer(tt.p, tt.m); err == nil {
				t.Fatal("NewSimSealer succeeded")
			}
		})
	}
}

// TestUnsealTamper flips every bit of a sealed message and truncates it:
// each change must be refused, as ErrMalformed for the version byte and
// length, ErrUnseal for everything AES-GCM authenticates.
func TestUnsealTamper(t *testing.T) {
	s := mustSim(t, newPlatforms(t, 1)[0], "m")
	sealed, err := s.Seal([]byte("0123456789abcdef0123456789abcdef"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for bit := range 8 {
			b := bytes.Clone(sealed)
			b[i] ^= 1 << bit
			want := ErrUnseal
			if i == 0 {
				want = ErrMalformed
			}
			if _, err := s.Unseal(b, []byte("aad")); !errors.Is(err, want) {
				t.Fatalf("byte %d bit %d: err = %v, want %v", i, bit, err, want)
			}
		}
	}
	for _, n := range []int{0, 1, 28} {
		if _, err := s.Unseal(sealed[:n], []byte("aad")); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d: err = %v, want ErrMalformed", n, err)
		}
	}
	if _, err := s.Unseal(sealed[:len(sealed)-1], []byte("aad")); !errors.Is(err, ErrUnseal) {
		t.Fatalf("one byte short: err = %v, want ErrUnseal", err)
	}
}

func TestKeyFileSealer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seal.key")
	if err := GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(path)
	if err := GenerateKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second GenerateKeyFile: err = %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("second GenerateKeyFile changed the key file")
	}

	s, err := LoadKeyFileSealer(path)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal([]byte("secret"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := LoadKeyFileSealer(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Unseal(sealed, []byte("aad")); err != nil || string(got) != "secret" {
		t.Fatalf("reloaded Unseal = %q, %v", got, err)
	}

	other := filepath.Join(dir, "other.key")
	if err := GenerateKeyFile(other); err != nil {
		t.Fatal(err)
	}
	s3, err := LoadKeyFileSealer(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Unseal(sealed, []byte("aad")); !errors.Is(err, ErrUnseal) {
		t.Fatalf("other key: err = %v, want ErrUnseal", err)
	}
	if s.Name() != "keyfile" {
		t.Errorf("Name() = %q", s.Name())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want 2 (no temporary files left)", len(entries))
	}
}

func TestLoadKeyFileSealerErrors(t *testing.T) {
	valid := "-----BEGIN COFRE SEALING KEY-----\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n-----END COFRE SEALING KEY-----\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    error
	}{
		{"valid", valid, 0o600, nil},
		{"read-only owner", valid, 0o400, nil},
		{"group readable", valid, 0o640, ErrInsecureKeyFile},
		{"world readable", valid, 0o604, ErrInsecureKeyFile},
		{"not PEM", "0123456789abcdef0123456789abcdef", 0o600, ErrMalformed},
		{"wrong type", strings.ReplaceAll(valid, "COFRE SEALING KEY", "PRIVATE KEY"), 0o600, ErrMalformed},
		{"short key", "-----BEGIN COFRE SEALING KEY-----\nAAAA\n-----END COFRE SEALING KEY-----\n", 0o600, ErrMalformed},
		{"trailing data", valid + "x", 0o600, ErrMalformed},
		{"two blocks", valid + valid, 0o600, ErrMalformed},
		{"headers", strings.Replace(valid, "-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1), 0o600, ErrMalformed},
		{"huge", valid + strings.Repeat(" ", maxKeyFile), 0o600, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // umask
				t.Fatal(err)
			}
			_, err := LoadKeyFileSealer(path)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := LoadKeyFileSealer(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: err = %v, want fs.ErrNotExist", err)
	}
}
