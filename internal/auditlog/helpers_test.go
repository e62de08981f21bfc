package auditlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// event is a caller's entry type, as the coordinator would define one.
type event struct {
	Header
	Event   string   `json:"event"`
	Subject string   `json:"subject,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// Fixed keys, so that the committed fuzz corpus stays signed by them.
func ed25519Key() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
}

func p256Key() *ecdsa.PrivateKey {
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{2}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

// signers are the signing configurations every chain test runs under.
var signers = []struct {
	name   string
	signer crypto.Signer // nil: unsigned
}{
	{"unsigned", nil},
	{"ed25519", ed25519Key()},
	{"p256", p256Key()},
}

func keysOf(s crypto.Signer) []crypto.PublicKey {
	if s == nil {
		return nil
	}
	return []crypto.PublicKey{s.Public()}
}

// buildLog writes n entries with signer s and returns the log's bytes and
// its head.
func buildLog(tb testing.TB, s crypto.Signer, n int) ([]byte, Head) {
	tb.Helper()
	var buf bytes.Buffer
	l, err := New(&buf, Options{Signer: s})
	if err != nil {
		tb.Fatal(err)
	}
	var head Head
	for i := range n {
		e := &event{Event: "activate", Subject: string(rune('a' + i))}
		if head, err = l.Append(t0.Add(time.Duration(i)*time.Second), e); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes(), head
}

// wantBreak fails unless err is a *ChainError of kind at line.
func wantBreak(t *testing.T, err error, kind error, line int) {
	t.Helper()
	var ce *ChainError
	if !errors.As(err, &ce) || !errors.Is(err, ErrChain) || !errors.Is(err, kind) || ce.Line != line {
		t.Fatalf("got %v, want %v at line %d", err, kind, line)
	}
}

// syncCounter counts flushes.
type syncCounter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	syncs int
}

func (s *syncCounter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncCounter) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	return nil
}

func (s *syncCounter) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

var errIO = errors.New("I/O error")

// failingSync fails its flushes.
type failingSync struct{ bytes.Buffer }

func (*failingSync) Sync() error { return errIO }

// failingWriter fails its writes.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errIO }

// failingSigner fails to sign.
type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("HSM unavailable")
}
