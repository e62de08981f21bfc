package engine

const (
	// defaultBatchRows is the number of rows per Arrow record batch handed to
	// DuckDB. 64K rows amortizes per-batch overhead (cgo crossing, DuckDB's
	// chunk conversion) while keeping a batch of a wide table in the low MiB,
	// so worker buffers stay small.
	defaultBatchRows = 64 * 1024

	// maxWorkers caps Options.Workers. Each worker holds one decoded batch
	// and one open file; more workers than this would only add memory.
	maxWorkers = 256

	// queueDepthPerWorker is how many decoded batches each worker may have
	// waiting for DuckDB. Two lets a worker decode the next batch while
	// DuckDB converts the previous one, without buffering a whole file.
	queueDepthPerWorker = 2

	// maxTables and maxFilesPerTable bound the work a Register call can ask
	// for; each file's footer is opened and checked at Register.
	maxTables        = 64
	maxFilesPerTable = 1 << 20

	// maxSQLBytes bounds the query text. Queries are written by people.
	maxSQLBytes = 1 << 20

	// maxPlanBytes bounds the EXPLAIN JSON we parse to find needed columns.
	maxPlanBytes = 64 << 20
)
