// Package delta reads and appends to Delta Lake tables on a local
// filesystem.
//
// Open a table directory (the one holding _delta_log), take a Snapshot of
// the latest or of an earlier version (time travel), and read the live data
// files it lists; Create makes a new table and Append commits new data files
// that the caller has already written into the table directory.
//
// A snapshot is rebuilt by replaying the log as the Delta protocol
// (PROTOCOL.md) prescribes: the newest complete checkpoint at or below the
// wanted version (classic single-part or multi-part Parquet checkpoints,
// found by listing _delta_log and cross-checked with _last_checkpoint), then
// every JSON commit after it, in order, the latest add or remove of a path
// winning. Log files are untrusted input: every line, action and file is
// bounded (limits.go), JSON keys must match exactly and appear once, and a
// malformed line is reported as file:line.
//
// What it supports: reader protocol versions 1 and 2 without column mapping,
// and version 3 with only the reader features timestampNtz,
// vacuumProtocolCheck and columnMapping (while its mode is
// none). Anything else — deletion vectors, column mapping, v2 checkpoints,
// type widening, variant — is refused with an UnsupportedFeatureError that
// names the feature, rather than read wrongly. Append refuses tables whose
// writer protocol asks for work it does not do (invariants, CHECK
// constraints, generated or identity columns, row tracking, in-commit
// timestamps, ...).
//
// What it does NOT do: read the data files (it only lists them), write
// checkpoints, vacuum, change data feed, object stores, or statistics. Add
// actions keep min/max statistics in plaintext in the log, which would leak
// encrypted columns, so this package never computes them: a caller that
// wants them must pass them explicitly. Keep the _delta_log of a table with
// encrypted columns on an encrypted volume (sealfs) all the same: partition
// values and file names are plaintext too.
//
// Paths are resolved through an os.Root, so neither a crafted add path nor
// a symlink can reach outside the table directory.
package delta
