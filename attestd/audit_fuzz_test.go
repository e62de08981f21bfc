package attestd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzVerifyAuditLog: the audit log is read back from disk, which the trust
// model does not trust. Whatever the bytes, verification must not panic, and
// a log it accepts must re-verify to the same head.
func FuzzVerifyAuditLog(f *testing.F) {
	path := filepath.Join(f.TempDir(), "audit.log")
	l, err := OpenAuditLog(path)
	if err != nil {
		f.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for _, e := range []*AuditEntry{{AuditHeader: AuditHeader{Time: t0}, Event: EventIssue, Format: "sim.v1"}, {AuditHeader: AuditHeader{Time: t0}, Event: EventRefuse, Code: CodeNonceUnknown}} {
		if err := l.Append(e); err != nil {
			f.Fatal(err)
		}
	}
	l.Close()
	f.Add(mustRead(f, path))
	f.Fuzz(func(t *testing.T, b []byte) {
		sum, err := VerifyAuditLog(bytes.NewReader(b))
		if err != nil {
			return
		}
		again, err := VerifyAuditLog(bytes.NewReader(b))
		if err != nil || again != sum {
			t.Fatalf("accepted log does not re-verify alike: %v", err)
		}
	})
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
