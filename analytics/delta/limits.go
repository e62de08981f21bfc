package delta

// Limits on untrusted log input. A _delta_log may come from a writer we do
// not control (or be tampered with on shared storage); these bounds keep a
// hostile log from exhausting memory or time. Each is far above what real
// writers produce for tables this package is meant for.
const (
	// maxCommitFileSize bounds one JSON commit file. Spark and delta-rs
	// write commits of a few KiB to a few MiB; a large overwrite of a
	// heavily partitioned table stays well under this.
	maxCommitFileSize = 256 << 20

	// maxLineLength bounds one JSON line (one action). The largest legitimate
	// actions are metaData with the schema of a very wide table and add
	// actions with statistics; both are far below 16 MiB.
	maxLineLength = 16 << 20

	// maxActions bounds the actions of one snapshot (checkpoint rows plus
	// all replayed commit lines), and so the size of the live-file map.
	maxActions = 10_000_000

	// maxLogEntries bounds the directory listing of _delta_log, so a
	// directory stuffed with names cannot make listing unbounded.
	maxLogEntries = 1_000_000

	// maxCheckpointFileSize bounds one checkpoint part. A checkpoint of a
	// million files is a few hundred MiB; larger tables should use
	// multi-part checkpoints.
	maxCheckpointFileSize = 2 << 30

	// maxCheckpointParts bounds the parts of a multi-part checkpoint.
	maxCheckpointParts = 100_000

	// maxLastCheckpointSize bounds _last_checkpoint, a small JSON object.
	maxLastCheckpointSize = 64 << 10

	// maxSchemaDepth bounds nesting in a Delta schema (struct/array/map),
	// so a crafted schema cannot recurse without end.
	maxSchemaDepth = 64

	// maxSchemaLength bounds the schemaString of metaData.
	maxSchemaLength = 8 << 20

	// maxPathLength bounds one data file path (bytes, after decoding).
	maxPathLength = 4096
)
