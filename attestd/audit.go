package attestd

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
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

// AuditEntry is one line of the audit log. It holds no secret: no token,
// no evidence bytes, no key; hashes stand in for them, so that an
// investigator holding a token or evidence can find its line.
type AuditEntry struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Prev is the hex SHA-256 of the previous line (its bytes without the
	// newline), or 64 zeros for the first line: the hash chain.
	Prev  string `json:"prev"`
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

// genesis is the Prev of the first entry.
var genesis = [sha256.Size]byte{}

// syncer is what *os.File offers for durability.
type syncer interface{ Sync() error }

// AuditLog is an append-only log of JSON lines, each naming the SHA-256 of
// the line before it, so that changing, inserting or removing a line
// breaks the chain (VerifyAuditLog). Append returns only once the line is
// durable (fsync, when the writer is a file); concurrent appends share one
// fsync (group commit), so durability does not cost one disk flush per
// token.
//
// What the chain cannot show on its own: that lines were cut from the end
// (the last hash would have to be kept elsewhere: Head gives it, for
// anchoring in an external system), or a log rewritten whole by someone
// holding the file.
type AuditLog struct {
	w io.Writer
	s syncer // or nil

	mu     sync.Mutex // guards seq, prev, synced, err and writes to w
	seq    uint64
	prev   [sha256.Size]byte
	synced uint64 // highest seq known durable
	err    error  // sticky write or sync error: once set, every Append fails

	syncMu sync.Mutex // serializes calls to s.Sync; lock order: syncMu before mu
}

// NewAuditLog starts a new chain on w. If w has a Sync method (an
// *os.File), Append calls it before returning.
func NewAuditLog(w io.Writer) *AuditLog {
	l := &AuditLog{w: w, prev: genesis}
	if s, ok := w.(syncer); ok {
		l.s = s
	}
	return l
}

// OpenAuditLog opens the log file at path for appending, creating it (0600)
// if needed. An existing log must verify (VerifyAuditLog) and end with a
// newline; otherwise the service refuses to start rather than extend a
// chain it cannot vouch for.
func OpenAuditLog(path string) (*AuditLog, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("attestd: audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("attestd: audit log: %w", err)
	}
	l := NewAuditLog(f)
	if st.Size() > 0 {
		sum, err := VerifyAuditLog(io.NewSectionReader(f, 0, st.Size()))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("attestd: audit log %s does not verify; refusing to append: %w", path, err)
		}
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err != nil || last[0] != '\n' {
			f.Close()
			return nil, fmt.Errorf("attestd: audit log %s ends in a partial line (a crash during an append?): inspect it and truncate it to its last newline", path)
		}
		l.seq, l.prev, l.synced = sum.Entries, sum.Head, sum.Entries
	}
	return l, nil
}

// Close closes the underlying writer if it is an io.Closer.
func (l *AuditLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Err returns the error that stopped the log, or nil while it works.
func (l *AuditLog) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Head returns the number of entries and the hash of the last line.
func (l *AuditLog) Head() (uint64, [sha256.Size]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.prev
}

// Append sets e's Seq and Prev, writes it as one line and returns once it
// is durable. After a write or sync error the log is stopped: every later
// Append fails with that error, because a gap in a hash chain cannot be
// explained later.
func (l *AuditLog) Append(e *AuditEntry) error {
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return err
	}
	e.Seq = l.seq + 1
	e.Prev = hex.EncodeToString(l.prev[:])
	e.Time = e.Time.UTC()
	line, err := marshalEntry(e)
	if err != nil {
		l.mu.Unlock()
		return err
	}
	if _, err := l.w.Write(append(line, '\n')); err != nil {
		l.err = fmt.Errorf("attestd: audit log write: %w", err)
		l.mu.Unlock()
		return l.err
	}
	l.seq = e.Seq
	l.prev = sha256.Sum256(line)
	seq := l.seq
	l.mu.Unlock()
	return l.sync(seq)
}

// ErrAuditEntryTooLarge is returned by Append for an entry that does not
// fit in one audit line (maxAuditLine) even without its reasons. Nothing is
// written and the log keeps working.
var ErrAuditEntryTooLarge = errors.New("audit entry exceeds the line limit")

// marshalEntry renders e as one line no longer than the reader accepts
// (maxAuditLine, newline included). A longer line would be written fine but
// never read back: VerifyAuditLog and OpenAuditLog would fail on it, and
// the service could not restart. So when e is too long its reasons are
// dropped, last first, and replaced by one that says how many were
// dropped; if it is still too long (no field but the reasons is
// client-sized), it is refused.
func marshalEntry(e *AuditEntry) ([]byte, error) {
	line, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("attestd: audit entry: %w", err)
	}
	if len(line) < maxAuditLine {
		return line, nil
	}
	all := e.Reasons
	for keep := len(all) / 2; ; keep /= 2 {
		e.Reasons = append(all[:keep:keep], Reason{Message: fmt.Sprintf("%d of %d reasons omitted: the entry exceeded the audit line limit", len(all)-keep, len(all))})
		if line, err = json.Marshal(e); err != nil {
			return nil, fmt.Errorf("attestd: audit entry: %w", err)
		}
		if len(line) < maxAuditLine {
			return line, nil
		}
		if keep == 0 {
			e.Reasons = all
			return nil, fmt.Errorf("attestd: audit entry of %d bytes: %w", len(line), ErrAuditEntryTooLarge)
		}
	}
}

// sync makes every entry up to seq durable. Whoever holds syncMu flushes
// everything written so far, so appends queued behind it usually find
// their entry already durable and return without a flush of their own.
func (l *AuditLog) sync(seq uint64) error {
	if l.s == nil {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if l.err != nil || l.synced >= seq {
		err := l.err
		l.mu.Unlock()
		return err
	}
	target := l.seq
	l.mu.Unlock()
	err := l.s.Sync()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.err = fmt.Errorf("attestd: audit log sync: %w", err)
		return l.err
	}
	l.synced = max(l.synced, target)
	return nil
}

// AuditSummary describes a verified log.
type AuditSummary struct {
	Entries uint64
	// Head is the SHA-256 of the last line (genesis, all zeros, for an
	// empty log). Keep it elsewhere to detect truncation later.
	Head [sha256.Size]byte
}

// ErrAuditChain is wrapped by every AuditChainError.
var ErrAuditChain = errors.New("audit log chain broken")

// AuditChainError says where an audit log stops verifying.
type AuditChainError struct {
	Line   int // 1-based
	Reason string
}

func (e *AuditChainError) Error() string {
	return fmt.Sprintf("%v at line %d: %s", ErrAuditChain, e.Line, e.Reason)
}

func (e *AuditChainError) Unwrap() error { return ErrAuditChain }

// VerifyAuditLog reads a whole log and checks that every line is a strict
// JSON AuditEntry, that sequence numbers count up from 1, and that each
// Prev is the hash of the line before. It returns the first break as an
// *AuditChainError.
func VerifyAuditLog(r io.Reader) (AuditSummary, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxAuditLine)
	sc.Split(splitLines)
	sum := AuditSummary{Head: genesis}
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		var e AuditEntry
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return sum, &AuditChainError{Line: line, Reason: "not an audit entry: " + err.Error()}
		}
		if dec.More() {
			return sum, &AuditChainError{Line: line, Reason: "trailing data after the entry"}
		}
		if e.Seq != sum.Entries+1 {
			return sum, &AuditChainError{Line: line, Reason: fmt.Sprintf("seq %d, want %d", e.Seq, sum.Entries+1)}
		}
		if want := hex.EncodeToString(sum.Head[:]); e.Prev != want {
			return sum, &AuditChainError{Line: line, Reason: fmt.Sprintf("prev %s, want %s (the line before was changed, or a line is missing)", e.Prev, want)}
		}
		sum.Entries++
		sum.Head = sha256.Sum256(b)
	}
	if err := sc.Err(); err != nil {
		return sum, &AuditChainError{Line: line + 1, Reason: err.Error()}
	}
	return sum, nil
}

// splitLines splits at '\n' only: unlike bufio.ScanLines it keeps a '\r',
// so the hashed bytes are exactly the bytes written.
func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
