// Package engine runs SQL over Parquet tables, plaintext or protected with
// Parquet Modular Encryption, on this machine.
//
// arrow-go decrypts and decodes the files in parallel (one reader goroutine
// per worker, row groups dealt round-robin across workers, only the columns
// the query needs are decoded) and streams Arrow record batches into an
// embedded DuckDB, which runs the SQL. Call [Open], then [Engine.Register]
// once per table, then [Engine.Query].
//
// DuckDB is opened hardened: extension autoload and autoinstall are off,
// external access is off (SQL cannot read files or URLs: the only data is
// what is registered here), and the configuration is locked so SQL cannot
// undo any of it. DuckDB may spill to disk only under [Options.TempDir],
// which the caller must place on an encrypted (sealfs) volume; without it,
// spilling is disabled and a query that exceeds the memory limit fails with
// an error rather than writing plaintext to disk.
//
// The DuckDB parts need cgo and the build tag duckdb_arrow. Without the tag
// the package still builds and [Open] returns [ErrNoDuckDB].
//
// What it does not do: it does not fetch or unwrap keys (the caller's
// [Table.Decryption] does), it does not check that TempDir is encrypted
// (the caller does), it does not prune row groups by column statistics,
// and it accepts exactly one SELECT statement per query. Results are
// materialized in DuckDB's memory before Query returns.
package engine
