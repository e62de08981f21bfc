package auditlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// TestAppendConcurrent: concurrent appends keep one valid chain, each
// returns a distinct head, and each returns only after a sync that covers
// it, with fewer syncs than appends allowed (group commit).
func TestAppendConcurrent(t *testing.T) {
	for _, sg := range signers {
		t.Run(sg.name, func(t *testing.T) {
			w := &syncCounter{}
			l, err := New(w, Options{Signer: sg.signer})
			if err != nil {
				t.Fatal(err)
			}
			const n = 50
			heads := make(chan Head, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					h, err := l.Append(t0, &event{Event: "activate", Subject: strings.Repeat("s", i)})
					if err != nil {
						t.Error(err)
					}
					heads <- h
				})
			}
			wg.Wait()
			close(heads)
			seen := map[uint64]bool{}
			for h := range heads {
				if seen[h.Seq] || h.Seq == 0 || h.Seq > n {
					t.Fatalf("head %v returned twice or out of range", h)
				}
				seen[h.Seq] = true
			}
			sum, err := Verify(bytes.NewReader(w.Bytes()), VerifyOptions{PublicKeys: keysOf(sg.signer), RequireSignatures: sg.signer != nil})
			if err != nil || sum.Lines != n || sum.Head != l.Head() {
				t.Fatalf("%+v, %v (Head %v)", sum, err, l.Head())
			}
			if w.syncs == 0 || w.syncs > n {
				t.Fatalf("%d syncs for %d appends", w.syncs, n)
			}
		})
	}
}

// TestAppendFillsHeader: Append sets the header (the caller sets none of
// it), in UTC, and the line decodes back into the same entry.
func TestAppendFillsHeader(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, Options{Signer: ed25519Key()})
	if err != nil {
		t.Fatal(err)
	}
	e := &event{Header: Header{Seq: 99, Prev: "forged"}, Event: "activate"}
	head, err := l.Append(t0.In(time.FixedZone("CET", 3600)), e)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := KeyID(ed25519Key().Public())
	if e.Seq != 1 || e.Prev != strings.Repeat("0", 64) || e.Time.Location() != time.UTC || !e.Time.Equal(t0) || e.SigKeyID != kid || e.Sig == "" || head.Seq != 1 {
		t.Fatalf("header %+v, head %v", e.Header, head)
	}
	var back event
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Header != e.Header || back.Event != e.Event {
		t.Fatalf("read back %+v, %v", back, err)
	}
}

// TestAppendRefusals: entries that cannot be written are refused without
// writing anything, and the log keeps working.
func TestAppendRefusals(t *testing.T) {
	type shadow struct {
		Header
		Seq uint64 `json:"seq"` // hides the header's seq
	}
	type late struct {
		Event string `json:"event"`
		Header
	}
	tests := []struct {
		name   string
		signer crypto.Signer
		now    time.Time
		e      Entry
		want   error // or nil: any error
	}{
		{"too large", nil, t0, &event{Event: strings.Repeat("a", MaxLine)}, ErrTooLarge},
		{"too large once signed", p256Key(), t0, &event{Event: strings.Repeat("a", MaxLine-200)}, ErrTooLarge},
		{"zero time", nil, time.Time{}, &event{Event: "x"}, nil},
		{"header shadowed", nil, t0, &shadow{}, nil},
		{"header not first", nil, t0, &late{Event: "x"}, nil},
		{"signer fails", failingSigner{ed25519Key()}, t0, &event{Event: "x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(&buf, Options{Signer: tt.signer})
			if err != nil {
				t.Fatal(err)
			}
			_, err = l.Append(tt.now, tt.e)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if buf.Len() != 0 || l.Err() != nil || l.Head() != (Head{}) {
				t.Fatalf("refused entry wrote %d bytes or stopped the log (%v)", buf.Len(), l.Err())
			}
			if _, ok := tt.signer.(failingSigner); ok {
				return
			}
			if _, err := l.Append(t0, &event{Event: "next"}); err != nil {
				t.Fatalf("log stopped after a refused entry: %v", err)
			}
			if sum, err := Verify(bytes.NewReader(buf.Bytes()), VerifyOptions{PublicKeys: keysOf(tt.signer)}); err != nil || sum.Lines != 1 {
				t.Fatalf("%+v %v", sum, err)
			}
		})
	}
}

// TestStickyErrors: after a write or sync error, or Close, every Append
// fails: a gap in the chain cannot be explained later.
func TestStickyErrors(t *testing.T) {
	closed, _ := New(&bytes.Buffer{}, Options{})
	closed.Close()
	tests := []struct {
		name string
		w    func() *Log
		want error
	}{
		{"sync fails", func() *Log { l, _ := New(&failingSync{}, Options{}); return l }, errIO},
		{"write fails", func() *Log { l, _ := New(failingWriter{}, Options{}); return l }, errIO},
		{"closed", func() *Log { return closed }, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.w()
			for i := range 2 {
				if _, err := l.Append(t0, &event{Event: "x"}); !errors.Is(err, tt.want) {
					t.Fatalf("append %d: %v, want %v", i, err, tt.want)
				}
			}
			if !errors.Is(l.Err(), tt.want) {
				t.Fatalf("Err() = %v", l.Err())
			}
		})
	}
}

// TestBareHeader: an entry with no event fields is a valid entry.
func TestBareHeader(t *testing.T) {
	var buf bytes.Buffer
	l, _ := New(&buf, Options{Signer: ed25519Key()})
	if _, err := l.Append(t0, &Header{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(bytes.NewReader(buf.Bytes()), VerifyOptions{PublicKeys: keysOf(ed25519Key()), RequireSignatures: true}); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefusesUnsupportedSigner(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, s := range []crypto.Signer{p384, rsaKey} {
		if _, err := New(&bytes.Buffer{}, Options{Signer: s}); !errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("%T: %v, want ErrUnsupportedKey", s, err)
		}
	}
}

// TestOpen: a reopened log resumes its chain; a log that does not verify,
// is signed by an unknown key, ends in a torn line or falls short of the
// head kept elsewhere is not extended.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	opts := Options{Signer: p256Key()}
	var head Head
	for i := range 2 {
		l, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if head, err = l.Append(t0, &event{Event: "activate", Subject: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	good, _ := os.ReadFile(path)
	sum, err := Verify(bytes.NewReader(good), VerifyOptions{PublicKeys: keysOf(p256Key()), RequireSignatures: true, Head: &head})
	if err != nil || sum.Lines != 2 {
		t.Fatalf("resumed log: %+v, %v", sum, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o", st.Mode().Perm())
	}
	// Reopened with the head kept elsewhere, it resumes at that head.
	l, err := Open(path, Options{Signer: p256Key(), Verify: VerifyOptions{RequireSignatures: true, Head: &head}})
	if err != nil || l.Head() != head {
		t.Fatalf("Open with head: %v, head %v want %v", err, l.Head(), head)
	}
	l.Close()

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lines := bytes.SplitAfter(good, []byte("\n"))
	ahead := Head{Seq: 3, Hash: head.Hash}
	tests := []struct {
		name string
		path string
		opts Options
		kind error
	}{
		{"edited", write("edited", bytes.Replace(good, []byte(`"subject":"a"`), []byte(`"subject":"x"`), 1)), opts, ErrSignature},
		{"torn", write("torn", append(bytes.Clone(good), `{"seq":3,`...)), opts, ErrMalformed},
		{"another signer", write("other", good), Options{Signer: ed25519Key()}, ErrUnknownKey},
		{"truncated while down", write("truncated", lines[0]), Options{Signer: p256Key(), Verify: VerifyOptions{Head: &head}}, ErrTruncated},
		{"head ahead of the log", write("ahead", good), Options{Signer: p256Key(), Verify: VerifyOptions{Head: &ahead}}, ErrTruncated},
		{"emptied while down", write("empty", nil), Options{Signer: p256Key(), Verify: VerifyOptions{Head: &head}}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Open(tt.path, tt.opts)
			if !errors.Is(err, ErrChain) || !errors.Is(err, tt.kind) {
				if l != nil {
					l.Close()
				}
				t.Fatalf("got %v, want %v", err, tt.kind)
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "missing", "audit.log"), opts); err == nil || errors.Is(err, ErrChain) {
		t.Fatalf("missing directory: %v", err)
	}
}

// TestKeyIDIsJWKThumbprint: sig_kid is the RFC 7638 thumbprint a JWKS
// would give the same key.
func TestKeyIDIsJWKThumbprint(t *testing.T) {
	for _, s := range []crypto.Signer{ed25519Key(), p256Key()} {
		got, err := KeyID(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		k, err := jwk.Import(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		tp, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if want := b64(tp); got != want {
			t.Errorf("%T: KeyID %s, thumbprint %s", s, got, want)
		}
	}
}
