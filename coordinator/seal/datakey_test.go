package seal

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDataKey(t *testing.T) {
	ps := newPlatforms(t, 2)
	s := mustSim(t, ps[0], "coordinator-v1")
	dir := t.TempDir()
	path := filepath.Join(dir, "datakey.pem")

	if _, err := OpenDataKey(path, s); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("before create: err = %v, want fs.ErrNotExist", err)
	}
	key, err := CreateDataKey(path, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != DataKeySize || bytes.Equal(key, make([]byte, DataKeySize)) {
		t.Fatalf("data key of %d bytes, or all zero", len(key))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	file, _ := os.ReadFile(path)
	if !bytes.Contains(file, []byte("Sealer: sim (SIMULATION")) {
		t.Errorf("file does not name its sealer:\n%s", file)
	}

	got, err := OpenDataKey(path, mustSim(t, ps[0], "coordinator-v1"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, key) {
		t.Fatal("reopened data key differs")
	}

	if _, err := CreateDataKey(path, s); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: err = %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, file) {
		t.Fatal("second create changed the file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1 (no temporary files left)", len(entries))
	}

	tests := []struct {
		name   string
		sealer Sealer
		want   error
	}{
		{"new measurement", mustSim(t, ps[0], "coordinator-v2"), ErrSealingKeyLost},
		{"new platform", mustSim(t, ps[1], "coordinator-v1"), ErrSealingKeyLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenDataKey(path, tt.sealer)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if errors.Is(err, ErrMalformed) {
				t.Fatal("a lost sealing key reads as a malformed file")
			}
		})
	}
}

func TestOpenDataKeyCorrupt(t *testing.T) {
	s := mustSim(t, newPlatforms(t, 1)[0], "m")
	path := filepath.Join(t.TempDir(), "dk")
	if _, err := CreateDataKey(path, s); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	text := string(good)
	// Sealed bytes start after the blank line that ends the PEM headers.
	body := strings.Index(text, "\n\n") + 2

	flipped := []byte(text)
	// Change one base64 character in the middle of the ciphertext.
	i := body + 40
	if flipped[i] == 'A' {
		flipped[i] = 'B'
	} else {
		flipped[i] = 'A'
	}
	shortSealed := "-----BEGIN COFRE SEALED DATA KEY-----\nAQID\n-----END COFRE SEALED DATA KEY-----\n"
	tests := []struct {
		name    string
		content string
		want    error
	}{
		{"ciphertext altered", string(flipped), ErrSealingKeyLost},
		{"sealer header altered", strings.Replace(text, "Sealer: sim", "Sealer: keyfile", 1), nil},
		{"empty", "", ErrMalformed},
		{"not PEM", "garbage", ErrMalformed},
		{"wrong PEM type", strings.ReplaceAll(text, "COFRE SEALED DATA KEY", "CERTIFICATE"), ErrMalformed},
		{"trailing block", text + text, ErrMalformed},
		{"sealed too short", shortSealed, ErrMalformed},
		{"huge", text + strings.Repeat("\n", maxDataKeyFile), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "dk")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := OpenDataKey(p, s)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDataKeyKeyFileSealer(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateKeyFile(filepath.Join(dir, "k1")); err != nil {
		t.Fatal(err)
	}
	if err := GenerateKeyFile(filepath.Join(dir, "k2")); err != nil {
		t.Fatal(err)
	}
	s1, err := LoadKeyFileSealer(filepath.Join(dir, "k1"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := LoadKeyFileSealer(filepath.Join(dir, "k2"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dk")
	key, err := CreateDataKey(path, s1)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenDataKey(path, s1); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("OpenDataKey = %v", err)
	}
	_, err = OpenDataKey(path, s2)
	if !errors.Is(err, ErrSealingKeyLost) {
		t.Fatalf("other key file: err = %v, want ErrSealingKeyLost", err)
	}
	// The error names sealers, never key bytes.
	if strings.Contains(err.Error(), string(key)) {
		t.Fatal("error contains the data key")
	}
	if _, err := CreateDataKey(filepath.Join(dir, "no-such-dir", "dk"), s1); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing directory: err = %v, want fs.ErrNotExist", err)
	}
}
