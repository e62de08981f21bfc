package collateral

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDirAndFirst(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tcb_info.json"), []byte("bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	jwks := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(jwks, []byte("explicit"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := First{File{Kind: KindJWKS, Path: jwks}, Dir(dir)}
	ctx := context.Background()
	tests := []struct {
		kind    Kind
		want    string
		wantErr error
	}{
		{KindTCBInfo, "bundle", nil},
		{KindJWKS, "explicit", nil},
		{KindPCKCRL, "", ErrNotFound},
	}
	for _, tt := range tests {
		b, err := src.Fetch(ctx, Request{Kind: tt.kind})
		if !errors.Is(err, tt.wantErr) || string(b) != tt.want {
			t.Errorf("Fetch(%v) = %q, %v; want %q, %v", tt.kind, b, err, tt.want, tt.wantErr)
		}
	}
	if _, err := Dir(dir).Fetch(ctx, Request{Kind: KindInvalid}); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("invalid kind: %v, want a non-NotFound error", err)
	}
}

func TestDirRefusesOversizedItem(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "vcek.der"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxItemSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Dir(dir).Fetch(context.Background(), Request{Kind: KindVCEK}); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("oversized item: %v, want a size error", err)
	}
}

func TestDirRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	// A link to a device that never ends, and a directory in a file's place.
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "vcek.der")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "jwks.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Kind{KindVCEK, KindJWKS} {
		if _, err := Dir(dir).Fetch(context.Background(), Request{Kind: k}); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("%v: %v, want a refusal", k, err)
		}
	}
}
