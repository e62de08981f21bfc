package colenc

// Limits on untrusted input. Each bounds work or memory spent on a cell or key
// value that an attacker who can write the database controls.
const (
	// MaxPlaintextSize bounds one cell's plaintext (and so its ciphertext).
	// SQL Server's varbinary(max) holds 2 GiB, but cofre writes analysis
	// results, not blobs; 64 MiB keeps a malicious cell from forcing a
	// multi-gigabyte allocation on decrypt while leaving room for large text.
	MaxPlaintextSize = 64 << 20

	// MaxLocationFieldSize bounds each of table, column and row key in the v2
	// associated data. Identifiers in PostgreSQL are at most 63 bytes and row
	// keys are primary keys; 64 KiB is generous and keeps the length prefixes
	// far from overflow.
	MaxLocationFieldSize = 64 << 10

	// MinRSABits is the smallest column master key accepted for wrapping or
	// unwrapping a CEK. SQL Server's tools create 2048-bit keys; smaller RSA
	// keys are below current guidance (NIST SP 800-131A).
	MinRSABits = 2048

	// MaxRSABits bounds the modulus of a column master key, which bounds the
	// cost of RSA operations on attacker-chosen envelopes.
	MaxRSABits = 8192
)
