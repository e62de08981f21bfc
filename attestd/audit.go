package attestd

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/cofre-cc/cofre/internal/auditlog"
)

// Audit events.
const (
	EventIssue        = "issue"         // a token was issued
	EventRefuse       = "refuse"        // an attestation request was refused
	EventDraft        = "draft"         // a draft appraisal was answered (no token)
	EventPolicyPut    = "policy_put"    // an admin stored a policy
	EventPolicyDelete = "policy_delete" // an admin deleted a policy
	EventKeysRotate   = "keys_rotate"   // the signing key was rotated
)

// AuditHeader holds the chain fields that lead every audit line: Seq,
// Time, Prev (the hex SHA-256 of the previous line, or 64 zeros for the
// first line). AuditLog.Append fills in Seq and Prev; the caller sets
// Time.
type AuditHeader = auditlog.Header

// AuditEntry is one line of the audit log. It holds no secret: no token,
// no evidence bytes, no key; hashes stand in for them, so that an
// investigator holding a token or evidence can find its line.
type AuditEntry struct {
	AuditHeader
	Event string `json:"event"`

	Code              Code     `json:"code,omitempty"`
	Format            string   `json:"format,omitempty"`
	Parts             []string `json:"parts,omitempty"` // formats of the extra evidence
	Policy            string   `json:"policy,omitempty"`
	PolicySHA256      string   `json:"policy_sha256,omitempty"`
	Draft             bool     `json:"draft,omitempty"`
	Profile           string   `json:"profile,omitempty"`
	Status            string   `json:"status,omitempty"` // EAR status of the token or appraisal
	TEE               string   `json:"tee,omitempty"`
	Measurement       string   `json:"measurement,omitempty"`
	EvidenceSHA256    []string `json:"evidence_sha256,omitempty"` // main evidence first, then parts
	NonceSHA256       string   `json:"nonce_sha256,omitempty"`
	RuntimeDataSHA256 string   `json:"runtime_data_sha256,omitempty"`
	TokenSHA256       string   `json:"token_sha256,omitempty"`
	KeyID             string   `json:"kid,omitempty"`
	Reasons           []Reason `json:"reasons,omitempty"`
	// Admin is the subject of the admin client certificate (admin events).
	Admin string `json:"admin,omitempty"`
	// Remote is the client's address as the server saw it.
	Remote string `json:"remote,omitempty"`
}

// AuditLog is an append-only log of JSON lines, each naming the SHA-256 of
// the line before it, so that changing, inserting or removing a line
// breaks the chain (VerifyAuditLog). Append returns only once the line is
// durable (fsync, when the writer is a file); concurrent appends share one
// fsync (group commit), so durability does not cost one disk flush per
// token. The chain and its file format are package
// internal/auditlog's (unsigned).
//
// What the chain cannot show on its own: that lines were cut from the end
// (the last hash would have to be kept elsewhere: Head gives it, for
// anchoring in an external system), or a log rewritten whole by someone
// holding the file.
type AuditLog struct {
	l *auditlog.Log
}

// NewAuditLog starts a new chain on w. If w has a Sync method (an
// *os.File), Append calls it before returning.
func NewAuditLog(w io.Writer) *AuditLog {
	l, err := auditlog.New(w, auditlog.Options{})
	if err != nil {
		panic(err) // only a signer can make New fail, and there is none
	}
	return &AuditLog{l: l}
}

// OpenAuditLog opens the log file at path for appending, creating it (0600)
// if needed. An existing log must verify (VerifyAuditLog) and end with a
// newline; otherwise the service refuses to start rather than extend a
// chain it cannot vouch for.
func OpenAuditLog(path string) (*AuditLog, error) {
	l, err := auditlog.Open(path, auditlog.Options{Verify: verifyOptions()})
	if err != nil {
		return nil, fmt.Errorf("attestd: audit log: %w", err)
	}
	return &AuditLog{l: l}, nil
}

// Close closes the underlying writer if it is an io.Closer.
func (a *AuditLog) Close() error { return a.l.Close() }

// Err returns the error that stopped the log, or nil while it works.
func (a *AuditLog) Err() error { return a.l.Err() }

// Head returns the number of entries and the hash of the last line.
func (a *AuditLog) Head() (uint64, [sha256.Size]byte) {
	h := a.l.Head()
	return h.Seq, h.Hash
}

// ErrAuditEntryTooLarge is returned by Append for an entry that does not
// fit in one audit line (auditlog.MaxLine) even without its reasons.
// Nothing is written and the log keeps working.
var ErrAuditEntryTooLarge = auditlog.ErrTooLarge

// Append sets e's Seq and Prev (and normalizes Time to UTC), writes it as
// one line and returns once it is durable. After a write or sync error the
// log is stopped: every later Append fails with that error, because a gap
// in a hash chain cannot be explained later.
//
// A line longer than the reader accepts would be written fine but never
// read back: VerifyAuditLog and OpenAuditLog would fail on it, and the
// service could not restart. So when e is too long its reasons are
// dropped, last first, and replaced by one that says how many were
// dropped; if it is still too long (no field but the reasons is
// client-sized), it is refused with ErrAuditEntryTooLarge.
func (a *AuditLog) Append(e *AuditEntry) error {
	_, err := a.l.Append(e.Time, e)
	if err == nil || !errors.Is(err, auditlog.ErrTooLarge) || len(e.Reasons) == 0 {
		return err
	}
	all := e.Reasons
	for keep := len(all) / 2; ; keep /= 2 {
		e.Reasons = append(all[:keep:keep], Reason{Message: fmt.Sprintf("%d of %d reasons omitted: the entry exceeded the audit line limit", len(all)-keep, len(all))})
		_, err = a.l.Append(e.Time, e)
		if err == nil || !errors.Is(err, auditlog.ErrTooLarge) {
			return err
		}
		if keep == 0 {
			e.Reasons = all
			return fmt.Errorf("attestd: audit entry: %w", err)
		}
	}
}

// AuditSummary describes a verified log.
type AuditSummary struct {
	Entries uint64
	// Head is the SHA-256 of the last line (genesis, all zeros, for an
	// empty log). Keep it elsewhere to detect truncation later.
	Head [sha256.Size]byte
}

// ErrAuditChain is wrapped by every AuditChainError.
var ErrAuditChain = auditlog.ErrChain

// AuditChainError says where an audit log stops verifying: its Line
// (1-based), the kind of break (Err) and a Reason.
type AuditChainError = auditlog.ChainError

// VerifyAuditLog reads a whole log and checks that every line is a strict
// JSON AuditEntry ending in a newline, that sequence numbers count up from
// 1, and that each Prev is the hash of the line before. It returns the
// first break as an *AuditChainError.
func VerifyAuditLog(r io.Reader) (AuditSummary, error) {
	sum, err := auditlog.Verify(r, verifyOptions())
	return AuditSummary{Entries: sum.Lines, Head: sum.Head.Hash}, err
}

// verifyOptions: attestd's log is unsigned; every line must be an
// AuditEntry, nothing more.
func verifyOptions() auditlog.VerifyOptions {
	return auditlog.VerifyOptions{NewEntry: func() auditlog.Entry { return new(AuditEntry) }}
}
