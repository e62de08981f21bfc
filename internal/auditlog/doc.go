// Package auditlog writes and verifies append-only, hash-chained audit logs
// of JSON lines, optionally signed line by line.
//
// Each line is one JSON object: the chain header (seq, time, prev, and for
// a signed log sig_kid) followed by the caller's event fields, and for a
// signed log a final sig member:
//
//	{"seq":2,"time":"2026-11-23T12:00:00Z","prev":"<hex SHA-256 of line 1>","sig_kid":"<thumbprint>","event":"activate",...,"sig":"<base64url>"}
//
// prev is the SHA-256 of the previous line's bytes (newline excluded; 64
// zeros for line 1), so changing, inserting, removing or reordering lines
// breaks the chain. sig signs every byte of its line but the sig member
// itself (which is always last), so it covers prev and, through it, every
// line before. A verifier needs only the line bytes and the public keys.
//
// Callers define an entry type that embeds Header as its first field and
// pass it to Log.Append; Verify checks a whole log and returns *ChainError
// for the first break. A chain alone cannot show that lines were cut from
// the end: keep the Head that Append returns somewhere the log's holder
// cannot rewrite (a sealed store, a SignedHead given to auditors) and pass
// it to Verify.
//
// What it does not do: rotate or compact logs, hide anything (lines are
// plain JSON: never put a secret in an entry), keep a log from being
// rewritten whole by someone holding the signing key, or anchor heads in
// an external system (SignedHead is the building block for that).
package auditlog
