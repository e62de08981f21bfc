package challenge

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// The nonce is what attest binds into report data.
var _ [attest.NonceSize]byte = [Size]byte{}

// TestRefusals: forged, tampered, expired, replayed, future-dated and
// foreign (another process's secret) nonces are refused with the specific
// error.
func TestRefusals(t *testing.T) {
	c := New(2*time.Minute, 100)
	n, exp := c.Issue(t0)
	if !exp.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("expiry %v", exp)
	}
	tamper := func(i int) []byte {
		b := n
		b[i] ^= 1
		return b[:]
	}
	other, _ := New(2*time.Minute, 100).Issue(t0)
	var zero [Size]byte
	for _, tc := range []struct {
		name string
		b    []byte
		at   time.Time
		want error
	}{
		{"all zeros", zero[:], t0, ErrUnknown},
		{"nil", nil, t0, ErrUnknown},
		{"expiry changed", tamper(0), t0, ErrUnknown},
		{"random changed", tamper(expiryLen), t0, ErrUnknown},
		{"tag changed", tamper(Size - 1), t0, ErrUnknown},
		{"another process's", other[:], t0, ErrUnknown},
		{"short", n[:16], t0, ErrUnknown},
		{"long", append(n[:], 0), t0, ErrUnknown},
		{"at expiry", n[:], exp, ErrExpired},
		{"after expiry", n[:], exp.Add(time.Hour), ErrExpired},
		// The clock went back by more than a lifetime since issuance.
		{"clock went back", n[:], t0.Add(-time.Second), ErrUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Consume(tc.b, tc.at); !errors.Is(err, tc.want) {
				t.Fatalf("Consume: %v, want %v", err, tc.want)
			}
		})
	}
	if c.Remembered() != 0 {
		t.Fatalf("refused nonces remembered: %d", c.Remembered())
	}
	if err := c.Consume(n[:], t0.Add(time.Minute)); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := c.Consume(n[:], t0.Add(time.Minute)); !errors.Is(err, ErrUnknown) {
		t.Fatalf("replay: %v, want ErrUnknown", err)
	}
	// After expiry it is forgotten, and refused as expired.
	if err := c.Consume(n[:], exp.Add(time.Second)); !errors.Is(err, ErrExpired) {
		t.Fatalf("replay after expiry: %v, want ErrExpired", err)
	}
	n2, _ := c.Issue(exp)
	if err := c.Consume(n2[:], exp.Add(time.Second)); err != nil {
		t.Fatalf("fresh nonce: %v", err)
	}
	if c.Remembered() != 1 {
		t.Fatalf("%d remembered, want only the fresh nonce (the expired one swept)", c.Remembered())
	}
}

// TestStateless: issuing stores nothing, so no client can exhaust
// challenges; the bound on used nonces refuses rather than forgets, and
// expired ones make room again.
func TestStateless(t *testing.T) {
	c := New(2*time.Minute, 2)
	for range 1000 {
		c.Issue(t0)
	}
	if n := c.Remembered(); n != 0 {
		t.Fatalf("%d remembered after issuing only", n)
	}
	spend := func(at time.Time) error {
		n, _ := c.Issue(at)
		return c.Consume(n[:], at)
	}
	for i := range 2 {
		if err := spend(t0); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
	}
	if err := spend(t0); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third used nonce: %v, want ErrTooMany", err)
	}
	later := t0.Add(2 * time.Minute)
	if err := spend(later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if n := c.Remembered(); n != 1 {
		t.Fatalf("%d remembered after expiry", n)
	}
}

// TestDistinct: nonces issued at the same instant differ.
func TestDistinct(t *testing.T) {
	c := New(time.Minute, 10)
	seen := make(map[[Size]byte]bool)
	for range 1000 {
		n, _ := c.Issue(t0)
		if seen[n] {
			t.Fatal("nonce issued twice")
		}
		seen[n] = true
	}
}

// TestConcurrentConsume: of many concurrent presentations of one nonce,
// exactly one succeeds.
func TestConcurrentConsume(t *testing.T) {
	c := New(time.Minute, 100)
	n, _ := c.Issue(t0)
	var ok, unknown atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			switch err := c.Consume(n[:], t0); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrUnknown):
				unknown.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || unknown.Load() != 31 {
		t.Fatalf("%d accepted, %d refused", ok.Load(), unknown.Load())
	}
}

func TestNewPanicsOnNonPositive(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		max      int
	}{
		{"zero lifetime", 0, 1},
		{"negative lifetime", -time.Second, 1},
		{"zero max", time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			New(tc.lifetime, tc.max)
		})
	}
}
