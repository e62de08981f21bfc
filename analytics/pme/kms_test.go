package pme

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewMemoryKMSErrors(t *testing.T) {
	cases := map[string]map[string][]byte{
		"short key":      {"k": make([]byte, 15)},
		"long key":       {"k": make([]byte, 33)},
		"empty ID":       {"": make([]byte, 16)},
		"ID too long":    {strings.Repeat("k", maxIDLen+1): make([]byte, 16)},
		"one bad of two": {"good": make([]byte, 16), "bad": make([]byte, 20)},
	}
	for name, keys := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := NewMemoryKMS(keys); !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}

func TestMemoryKMS(t *testing.T) {
	ctx := context.Background()
	src := map[string][]byte{"a": bytes.Repeat([]byte{1}, 16), "b": bytes.Repeat([]byte{1}, 16)}
	k, err := NewMemoryKMS(src)
	if err != nil {
		t.Fatal(err)
	}
	src["a"][0] = 9 // the KMS keeps its own copy
	key := []byte("0123456789abcdef")
	w, err := k.WrapKey(ctx, key, "a")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(w)
	if err != nil || len(raw) != gcmNonceLen+len(key)+gcmTagLen {
		t.Fatalf("wrapped form: %d bytes, %v; want nonce ‖ ciphertext ‖ tag", len(raw), err)
	}
	got, err := k.UnwrapKey(ctx, w, "a")
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap: %x, %v", got, err)
	}
	// Same key bytes under another name: the AAD (the master key ID)
	// refuses the move.
	if _, err := k.UnwrapKey(ctx, w, "b"); !errors.Is(err, ErrTampered) {
		t.Errorf("unwrap under another ID: got %v, want ErrTampered", err)
	}
	if _, err := k.UnwrapKey(ctx, w, "c"); !errors.Is(err, ErrUnknownMasterKey) {
		t.Errorf("unknown ID: got %v, want ErrUnknownMasterKey", err)
	}
	if _, err := k.WrapKey(ctx, key, "c"); !errors.Is(err, ErrUnknownMasterKey) {
		t.Errorf("wrap under unknown ID: got %v, want ErrUnknownMasterKey", err)
	}
	if _, err := k.UnwrapKey(ctx, w[:len(w)-4], "a"); !errors.Is(err, ErrKeyMaterial) {
		t.Errorf("truncated: got %v, want ErrKeyMaterial", err)
	}
	if _, err := k.UnwrapKey(ctx, strings.Repeat("A", maxWrappedLen+4), "a"); !errors.Is(err, ErrKeyMaterial) {
		t.Errorf("oversized: got %v, want ErrKeyMaterial", err)
	}
}

func TestCoordinatorKMSNilClient(t *testing.T) {
	var c CoordinatorKMS
	if _, err := c.WrapKey(context.Background(), []byte("k"), "m"); err == nil {
		t.Error("wrap without a client succeeded")
	}
	if _, err := c.UnwrapKey(context.Background(), "w", "m"); err == nil {
		t.Error("unwrap without a client succeeded")
	}
}

// A fill that panics releases whoever waits on the entry, with an error,
// and leaves no entry: the next get fills anew.
func TestCacheFillPanic(t *testing.T) {
	var c cache[int]
	now := time.Unix(0, 0)
	func() {
		defer func() { _ = recover() }()
		c.get(t.Context(), "k", now, time.Minute, func() (int, error) { panic("boom") })
	}()
	v, err := c.get(t.Context(), "k", now, time.Minute, func() (int, error) { return 7, nil })
	if err != nil || v != 7 {
		t.Fatalf("after a panicking fill: %d, %v", v, err)
	}
}
