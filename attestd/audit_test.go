package attestd

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestAuditChainVerifiesAndDetectsTampering(t *testing.T) {
	e := newEnv(t)
	wk := newWorkloadKey(t)
	var tokens []string
	var evidence [][]byte
	for _, policy := range []string{"dev", "pinned", "dev"} {
		nonce := e.challenge()
		ev := e.evidence(nonce, wk.jwk)
		evidence = append(evidence, ev)
		r := e.attest("/v1/attest/sim.v1", AttestRequest{Evidence: ev, Nonce: nonce, RuntimeData: wk.jwk, Policy: policy})
		if r.token != "" {
			tokens = append(tokens, r.token)
		}
	}
	log := e.audit.Bytes()
	sum, err := VerifyAuditLog(bytes.NewReader(log))
	if err != nil || sum.Entries != 3 {
		t.Fatalf("VerifyAuditLog: %d entries, %v", sum.Entries, err)
	}
	if n, head := e.srv.cfg.Audit.Head(); n != 3 || head != sum.Head {
		t.Fatalf("Head() = %d %x, verified %x", n, head, sum.Head)
	}

	// No secrets: neither the tokens nor the evidence nor the runtime data
	// appear, in any encoding.
	for _, tok := range tokens {
		if bytes.Contains(log, []byte(tok)) || bytes.Contains(log, []byte(tok[len(tok)-40:])) {
			t.Error("audit log holds a token")
		}
	}
	for _, ev := range evidence {
		if bytes.Contains(log, []byte(base64.StdEncoding.EncodeToString(ev)[:40])) || bytes.Contains(log, ev[:40]) {
			t.Error("audit log holds evidence bytes")
		}
	}

	lines := bytes.SplitAfter(log, []byte("\n"))
	tests := []struct {
		name string
		edit func() []byte
		line int
	}{
		{"status changed", func() []byte {
			return bytes.Join([][]byte{lines[0], bytes.Replace(lines[1], []byte(`"contraindicated"`), []byte(`"affirming"`), 1), lines[2]}, nil)
		}, 3},
		{"line removed", func() []byte { return bytes.Join([][]byte{lines[0], lines[2]}, nil) }, 2},
		{"lines swapped", func() []byte { return bytes.Join([][]byte{lines[1], lines[0], lines[2]}, nil) }, 1},
		{"line inserted", func() []byte { return bytes.Join([][]byte{lines[0], lines[0], lines[1], lines[2]}, nil) }, 2},
		{"carriage return added", func() []byte {
			return bytes.Join([][]byte{bytes.Replace(lines[0], []byte("\n"), []byte("\r\n"), 1), lines[1], lines[2]}, nil)
		}, 2},
		{"not JSON", func() []byte { return bytes.Join([][]byte{lines[0], []byte("garbage\n"), lines[2]}, nil) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyAuditLog(bytes.NewReader(tt.edit()))
			var ce *AuditChainError
			if !errors.Is(err, ErrAuditChain) || !errors.As(err, &ce) || ce.Line != tt.line {
				t.Fatalf("got %v, want a chain error at line %d", err, tt.line)
			}
		})
	}
}

func TestOpenAuditLogResumesChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := OpenAuditLog(path)
	must(t, err)
	must(t, l.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventIssue, Format: "sim.v1"}))
	must(t, l.Close())

	l, err = OpenAuditLog(path)
	must(t, err)
	must(t, l.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventRefuse, Code: CodeNonceUnknown}))
	must(t, l.Close())

	b, _ := os.ReadFile(path)
	if sum, err := VerifyAuditLog(bytes.NewReader(b)); err != nil || sum.Entries != 2 {
		t.Fatalf("resumed log: %d entries, %v", sum.Entries, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %04o", st.Mode().Perm())
	}

	// A log that does not verify, or ends in a torn line, is not extended.
	tampered := filepath.Join(t.TempDir(), "tampered.log")
	os.WriteFile(tampered, bytes.Replace(b, []byte(`"issue"`), []byte(`"refuse"`), 1), 0o600)
	if _, err := OpenAuditLog(tampered); !errors.Is(err, ErrAuditChain) {
		t.Errorf("tampered log opened: %v", err)
	}
	torn := filepath.Join(t.TempDir(), "torn.log")
	os.WriteFile(torn, append(bytes.Clone(b), []byte(`{"seq":3,`)...), 0o600)
	if _, err := OpenAuditLog(torn); err == nil {
		t.Error("log with a torn last line opened")
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

// TestAuditAppendConcurrent: concurrent appends keep one valid chain, and
// each returns only after a sync that covers it.
func TestAuditAppendConcurrent(t *testing.T) {
	w := &syncCounter{}
	l := NewAuditLog(w)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := l.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventIssue}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if sum, err := VerifyAuditLog(bytes.NewReader(w.buf.Bytes())); err != nil || sum.Entries != 50 {
		t.Fatalf("%d entries, %v", sum.Entries, err)
	}
	if w.syncs == 0 || w.syncs > 50 {
		t.Fatalf("%d syncs for 50 appends", w.syncs)
	}
	if n, _ := l.Head(); n != 50 {
		t.Fatalf("Head %d", n)
	}
}

// failingSync fails its flushes.
type failingSync struct{ bytes.Buffer }

func (*failingSync) Sync() error { return errors.New("I/O error") }

func TestAuditStopsAfterSyncError(t *testing.T) {
	l := NewAuditLog(&failingSync{})
	if err := l.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventIssue}); err == nil {
		t.Fatal("append with a failing sync succeeded")
	}
	if err := l.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventIssue}); err == nil || l.Err() == nil {
		t.Fatal("log kept appending after a sync error")
	}
}

// TestAuditLogFormatCompatible: a log written before the chain moved to
// internal/auditlog (testdata/audit-before-auditlog.log, the same bytes as
// the FuzzVerifyAuditLog seed two-entries) still verifies, reopens and
// extends, and a line written now has the same bytes as then.
func TestAuditLogFormatCompatible(t *testing.T) {
	old, err := os.ReadFile("testdata/audit-before-auditlog.log")
	must(t, err)
	sum, err := VerifyAuditLog(bytes.NewReader(old))
	if err != nil || sum.Entries != 2 {
		t.Fatalf("old log: %d entries, %v", sum.Entries, err)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	must(t, os.WriteFile(path, old, 0o600))
	l, err := OpenAuditLog(path)
	must(t, err)
	must(t, l.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventIssue, Format: "sim.v1"}))
	must(t, l.Close())
	b, err := os.ReadFile(path)
	must(t, err)
	if sum, err := VerifyAuditLog(bytes.NewReader(b)); err != nil || sum.Entries != 3 {
		t.Fatalf("extended log: %d entries, %v", sum.Entries, err)
	}

	var buf bytes.Buffer
	must(t, NewAuditLog(&buf).Append(&AuditEntry{AuditHeader: AuditHeader{Time: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}, Event: EventIssue, Format: "sim.v1"}))
	if first, _, _ := bytes.Cut(old, []byte("\n")); !bytes.Equal(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), first) {
		t.Fatalf("line shape changed:\n%s\nwas\n%s", buf.Bytes(), first)
	}
}
