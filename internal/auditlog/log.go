package auditlog

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Header holds a line's chain fields. Entry types embed it as their FIRST
// field (so the chain fields lead the line) and define no JSON member of
// their own named seq, time, prev, sig_kid or sig. Append fills it in; the
// caller sets none of it.
type Header struct {
	// Seq numbers lines from 1.
	Seq uint64 `json:"seq"`
	// Time is the time Append was given, in UTC.
	Time time.Time `json:"time"`
	// Prev is the hex SHA-256 of the previous line (its bytes without the
	// newline), or 64 zeros for the first line.
	Prev string `json:"prev"`
	// SigKeyID is the signing key's KeyID; empty in an unsigned log.
	SigKeyID string `json:"sig_kid,omitempty"`
	// Sig is the base64url signature (Ed25519, or ECDSA P-256 as r ‖ s)
	// of SHA-256("cofre auditlog line v1\x00" ‖ the line without its sig
	// member). Append sets it after writing; it is always the line's last
	// member.
	Sig string `json:"sig,omitempty"`
}

// header lets Entry be satisfied only by embedding Header.
func (h *Header) header() *Header { return h }

// Entry is what Append writes: a pointer to a struct that embeds Header
// as its first field (only such types satisfy it). Its JSON object must
// fit in one line of at most MaxLine bytes.
type Entry interface {
	header() *Header
}

// Options configures a Log.
type Options struct {
	// Signer signs every line: an Ed25519 or ECDSA P-256 key (a
	// crypto.Signer, so it may live in an HSM or a TEE). Or nil: lines are
	// unsigned and only chained.
	Signer crypto.Signer
	// Verify is how Open checks an existing log before appending to it.
	// The Signer's public key is added to Verify.PublicKeys. Set
	// Verify.Head (from a sealed store) to detect a log cut short while
	// the service was down.
	Verify VerifyOptions
}

// syncer is what *os.File offers for durability.
type syncer interface{ Sync() error }

// Log is an append-only hash-chained log. Append returns only once the
// line is durable (fsync, when the writer is a file); concurrent appends
// share one fsync (group commit), so durability does not cost one disk
// flush per line. It is safe for concurrent use.
//
// A line is signed under the log's lock, because its signature covers
// prev, which is known only there: appends pay one signature each, in
// series (tens of microseconds for Ed25519 or ECDSA P-256), far below the
// fsync they wait for anyway.
type Log struct {
	w      io.Writer
	s      syncer // or nil
	signer crypto.Signer
	kid    string

	mu     sync.Mutex // guards head, synced, err and writes to w
	head   Head
	synced uint64 // highest seq known durable
	err    error  // sticky write, sync or close error: once set, every Append fails

	syncMu sync.Mutex // serializes calls to s.Sync; lock order: syncMu before mu
}

// New starts a new chain on w. If w has a Sync method (an *os.File),
// Append calls it before returning. It fails only for an unsupported
// Options.Signer.
func New(w io.Writer, opts Options) (*Log, error) {
	l := &Log{w: w, signer: opts.Signer}
	if s, ok := w.(syncer); ok {
		l.s = s
	}
	if opts.Signer != nil {
		kid, err := KeyID(opts.Signer.Public())
		if err != nil {
			return nil, fmt.Errorf("auditlog: signer: %w", err)
		}
		l.kid = kid
	}
	return l, nil
}

// Open opens the log file at path for appending, creating it (0600) if
// needed. An existing log must verify under opts.Verify (with the signer's
// key added) and end with a newline; otherwise Open fails rather than
// extend a chain it cannot vouch for, and the error wraps the *ChainError.
func Open(path string, opts Options) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	l, err := open(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

func open(f *os.File, path string, opts Options) (*Log, error) {
	l, err := New(f, opts)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	vopts := opts.Verify
	if opts.Signer != nil {
		vopts.PublicKeys = append(vopts.PublicKeys[:len(vopts.PublicKeys):len(vopts.PublicKeys)], opts.Signer.Public())
	}
	if st.Size() == 0 {
		// A new (or empty) file: its directory entry must be durable too,
		// or a power loss could drop the file with lines acknowledged. An
		// empty log verifies only against an empty head.
		if _, err := Verify(bytes.NewReader(nil), vopts); err != nil {
			return nil, fmt.Errorf("auditlog: %s: %w", path, err)
		}
		if err := syncDir(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("auditlog: %w", err)
		}
		return l, nil
	}
	sum, err := Verify(io.NewSectionReader(f, 0, st.Size()), vopts)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %s does not verify; refusing to append: %w", path, err)
	}
	l.head, l.synced = sum.Head, sum.Head.Seq
	return l, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close closes the underlying writer if it is an io.Closer. Later appends
// fail with ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = ErrClosed
	}
	if c, ok := l.w.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Err returns the error that stopped the log (a write or sync error, or
// ErrClosed), or nil while it works.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Head returns the seq and hash of the last line written.
func (l *Log) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head
}

// Append fills in e's Header (seq, time now in UTC, prev, and when signing
// sig_kid and sig), writes e as one line and returns, once the line is
// durable, the head that line makes. Keep that head where the log's holder
// cannot rewrite it to detect truncation later.
//
// An entry that cannot be written (zero now, a type that does not lead
// with Header, a line over MaxLine, a signer failure) is refused and the
// log keeps working. After a write or sync error the log is stopped: every
// later Append fails with that error, because a gap in a hash chain cannot
// be explained later.
func (l *Log) Append(now time.Time, e Entry) (Head, error) {
	if now.IsZero() {
		return Head{}, errors.New("auditlog: append: zero time (the caller's clock must be set)")
	}
	h := e.header()
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return Head{}, err
	}
	*h = Header{Seq: l.head.Seq + 1, Time: now.UTC(), Prev: hex.EncodeToString(l.head.Hash[:]), SigKeyID: l.kid}
	line, err := l.render(e, h)
	if err != nil {
		l.mu.Unlock()
		return Head{}, err
	}
	if _, err := l.w.Write(append(line, '\n')); err != nil {
		l.err = fmt.Errorf("auditlog: write: %w", err)
		l.mu.Unlock()
		return Head{}, l.err
	}
	l.head = Head{Seq: h.Seq, Hash: sha256.Sum256(line)}
	head := l.head
	l.mu.Unlock()
	if err := l.sync(head.Seq); err != nil {
		return Head{}, err
	}
	return head, nil
}

// render marshals e (whose header is h, already filled in) and signs it.
// The returned slice has room for the newline.
func (l *Log) render(e Entry, h *Header) ([]byte, error) {
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("auditlog: entry header: %w", err)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("auditlog: entry: %w", err)
	}
	// The header must lead the line, unshadowed: a type that hides a
	// header field behind its own, or that marshals itself, would write a
	// line whose seq or prev is not the log's, and the log would stop
	// verifying (and its service restarting) only later.
	prefix := hdr[:len(hdr)-1]
	if !bytes.HasPrefix(line, prefix) || len(line) == len(prefix) || (line[len(prefix)] != ',' && line[len(prefix)] != '}') || line[len(line)-1] != '}' {
		return nil, fmt.Errorf("auditlog: entry %T does not lead with an embedded auditlog.Header", e)
	}
	if l.signer != nil {
		sig, err := sign(l.signer, digest(lineDomain, line))
		if err != nil {
			return nil, fmt.Errorf("auditlog: sign: %w", err)
		}
		h.Sig = b64(sig)
		line = append(line[:len(line)-1], `,"sig":"`+h.Sig+`"}`...)
	}
	if len(line)+1 > MaxLine {
		h.Sig = ""
		return nil, fmt.Errorf("auditlog: entry of %d bytes: %w", len(line), ErrTooLarge)
	}
	return line, nil
}

// sync makes every line up to seq durable. Whoever holds syncMu flushes
// everything written so far, so appends queued behind it usually find
// their line already durable and return without a flush of their own.
func (l *Log) sync(seq uint64) error {
	if l.s == nil {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if l.synced >= seq {
		l.mu.Unlock()
		return nil
	}
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return err
	}
	target := l.head.Seq
	l.mu.Unlock()
	err := l.s.Sync()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if l.err == nil {
			l.err = fmt.Errorf("auditlog: sync: %w", err)
		}
		return l.err
	}
	l.synced = max(l.synced, target)
	return nil
}
