package attestd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hugeSubjectSimEvidence is sim.v1 evidence whose certificate has a ~23 KB
// subject of '<' (six bytes each once JSON-escaped): the verifier refuses
// it and quotes the subject in its reasons.
func hugeSubjectSimEvidence(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: strings.Repeat("<", 46500/2)},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	must(t, err)
	rep, _ := json.Marshal(map[string]any{"measurement": "ab", "svn": 0, "report_data": strings.Repeat("00", 64), "issued_at": t0})
	b, _ := json.Marshal(map[string]any{"version": 1, "report": rep, "signature": []byte{1}, "certificates": [][]byte{der}})
	return b
}

// TestAuditLineBounded is the reviewer's input: a refused request with the
// most parts, each quoting a huge certificate subject. Its reasons are
// bounded, and the audit log still verifies and reopens afterwards.
func TestAuditLineBounded(t *testing.T) {
	e := newEnv(t)
	nonce := e.challenge()
	ev := hugeSubjectSimEvidence(t)
	parts := make([]Part, maxParts)
	for i := range parts {
		parts[i] = Part{Format: "sim.v1", Evidence: ev}
	}
	body, err := json.Marshal(AttestRequest{Evidence: ev, Nonce: nonce, Policy: "dev", Parts: parts})
	must(t, err)
	r := e.attestRaw("/v1/attest/sim.v1", body)
	if r.status != 403 || r.err.Code != CodeEvidenceRefused {
		t.Fatalf("%d %+v", r.status, r.err.Code)
	}
	if n := len(r.err.Reasons); n == 0 || n > (1+maxParts)*(maxReasonsPerPiece+1) {
		t.Fatalf("%d reasons", n)
	}
	for _, rs := range r.err.Reasons {
		for _, v := range []string{rs.Check, rs.Field, rs.Expected, rs.Actual, rs.Message} {
			if len(v) > maxReasonValue+len("…(1234567 bytes)") {
				t.Fatalf("reason value of %d bytes", len(v))
			}
		}
	}
	raw := e.audit.Bytes()
	for i, line := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")) {
		if len(line) >= maxAuditLine {
			t.Fatalf("audit line %d is %d bytes", i+1, len(line))
		}
	}
	if _, err := VerifyAuditLog(bytes.NewReader(raw)); err != nil {
		t.Fatalf("VerifyAuditLog: %v", err)
	}
	p := filepath.Join(t.TempDir(), "audit.log")
	must(t, os.WriteFile(p, raw, 0o600))
	l, err := OpenAuditLog(p)
	if err != nil {
		t.Fatalf("OpenAuditLog: %v", err)
	}
	l.Close()
}

// TestAuditAppendBoundsLines: Append never writes a line the reader would
// refuse. Too many reasons are dropped (and the drop recorded); an entry
// that is too large without them is refused, and the log keeps working.
func TestAuditAppendBoundsLines(t *testing.T) {
	var buf bytes.Buffer
	l := NewAuditLog(&buf)
	big := Reason{Submod: "cpu0", Message: strings.Repeat("<", 64<<10)}
	reasons := make([]Reason, 40)
	for i := range reasons {
		reasons[i] = big
	}
	must(t, l.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventRefuse, Reasons: reasons}))
	var e AuditEntry
	must(t, json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &e))
	if last := e.Reasons[len(e.Reasons)-1]; len(e.Reasons) >= len(reasons) || !strings.Contains(last.Message, "reasons omitted") {
		t.Fatalf("%d reasons kept, last %q", len(e.Reasons), last.Message)
	}
	before := buf.Len()
	if err := l.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventPolicyPut, Admin: strings.Repeat("A", maxAuditLine)}); !errors.Is(err, ErrAuditEntryTooLarge) {
		t.Fatalf("oversized entry: %v, want ErrAuditEntryTooLarge", err)
	}
	if buf.Len() != before || l.Err() != nil {
		t.Fatalf("an oversized entry was written or stopped the log: %v", l.Err())
	}
	must(t, l.Append(&AuditEntry{AuditHeader: AuditHeader{Time: t0}, Event: EventKeysRotate}))
	sum, err := VerifyAuditLog(bytes.NewReader(buf.Bytes()))
	if err != nil || sum.Entries != 2 {
		t.Fatalf("VerifyAuditLog: %d entries, %v", sum.Entries, err)
	}
}

// TestReasonsBounded: at most maxReasonsPerPiece reasons per piece, plus
// one that counts the rest, and every string clipped on a rune boundary.
func TestReasonsBounded(t *testing.T) {
	in := make([]Reason, 40)
	for i := range in {
		in[i] = Reason{Actual: strings.Repeat("é", 1000)}
	}
	out := boundReasons("gpu0", in)
	if len(out) != maxReasonsPerPiece+1 || out[maxReasonsPerPiece].Message != "24 more reasons omitted" {
		t.Fatalf("%d reasons, last %+v", len(out), out[len(out)-1])
	}
	for _, r := range out[:maxReasonsPerPiece] {
		if !strings.HasSuffix(r.Actual, "…(2000 bytes)") || len(r.Actual) > maxReasonValue+len("…(2000 bytes)") || !utf8Valid(r.Actual) {
			t.Fatalf("clipped %q", r.Actual)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
