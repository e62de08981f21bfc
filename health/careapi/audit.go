package careapi

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/json"
	"fmt"
	"os"

	"github.com/cofre-cc/cofre/internal/auditlog"
)

// AuditEntry is one line of the care API's audit log: who did what to
// which record, when, and how it ended. It holds no PHI: patients are
// named by their random server-assigned id only, and no request data is
// recorded.
type AuditEntry struct {
	auditlog.Header
	// User and Role are the staff member, or the username tried for a
	// failed login (empty if it matched no account format).
	User string `json:"user"`
	Role string `json:"role,omitempty"`
	// Action is one of login, logout, list, read, search, create,
	// upload-image, diagnose, read-audit.
	Action string `json:"action"`
	// ResourceType and ResourceID name the record ("Patient" and its id);
	// for a search, the patient searched.
	ResourceType string `json:"resource_type,omitempty"`
	ResourceID   string `json:"resource_id,omitempty"`
	// Patient is the id of the patient whose record was accessed.
	Patient string `json:"patient,omitempty"`
	// Outcome is success, denied, invalid, not-found or error.
	Outcome string `json:"outcome"`
	// Sealed reports whether the request came through the sealed gateway.
	Sealed bool `json:"sealed"`
}

// audit outcomes.
const (
	outcomeSuccess  = "success"
	outcomeDenied   = "denied"
	outcomeInvalid  = "invalid"
	outcomeNotFound = "not-found"
	outcomeError    = "error"
)

// readAudit reads the audit log back, verifying its chain up to the head
// this process last wrote (so a log cut short or rewritten under the
// running service is refused), and returns the latest MaxAuditEntries.
func (s *Server) readAudit() ([]AuditEntry, error) {
	head := s.audit.Head()
	f, err := os.Open(s.auditPath)
	if err != nil {
		return nil, fmt.Errorf("careapi: audit: %w", err)
	}
	defer f.Close()
	var keys []crypto.PublicKey
	if s.auditSigner != nil {
		keys = []crypto.PublicKey{s.auditSigner.Public()}
	}
	// Read once: the same bytes are verified and then decoded.
	data, err := readAll(f)
	if err != nil {
		return nil, err
	}
	opts := auditlog.VerifyOptions{PublicKeys: keys, RequireSignatures: s.auditSigner != nil}
	if head.Seq > 0 {
		opts.Head = &head
	}
	if _, err := auditlog.Verify(bytes.NewReader(data), opts); err != nil {
		return nil, fmt.Errorf("careapi: audit: %w", err)
	}
	var out []AuditEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, auditlog.MaxLine)
	for sc.Scan() {
		var e AuditEntry
		// Lines from an older version may have members this one lacks;
		// the chain check above already vouched for the bytes.
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("careapi: audit: line %d: %w", len(out)+1, err)
		}
		out = append(out, e)
	}
	if len(out) > MaxAuditEntries {
		out = out[len(out)-MaxAuditEntries:]
	}
	return out, nil
}

func readAll(f *os.File) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("careapi: audit: %w", err)
	}
	return buf.Bytes(), nil
}
