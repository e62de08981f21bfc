package challenge

import (
	"errors"
	"testing"
	"time"
)

// FuzzConsume: Consume reads bytes a client sent. Whatever they are, it
// must not panic, must refuse them (no forgery without the secret), and
// must remember nothing it refused.
func FuzzConsume(f *testing.F) {
	c := New(2*time.Minute, 10)
	f.Fuzz(func(t *testing.T, b []byte) {
		err := c.Consume(b, t0)
		if err == nil {
			t.Fatalf("forged nonce %x accepted", b)
		}
		if !errors.Is(err, ErrUnknown) && !errors.Is(err, ErrExpired) {
			t.Fatalf("unexpected error %v", err)
		}
		if c.Remembered() != 0 {
			t.Fatal("a refused nonce was remembered")
		}
	})
}
