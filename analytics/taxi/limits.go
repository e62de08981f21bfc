package taxi

// Bounds on Options. Each is a guess at the largest legitimate value, with
// headroom; beyond it a request is almost surely a mistake, and honouring
// it would exhaust memory or file handles rather than fail clearly.
const (
	// defaultFileRows: about 4 M rows make a file of roughly 80-100 MB with
	// Snappy, the size of one month of the TLC's own files and a good unit
	// of parallelism for readers.
	defaultFileRows = 4 << 20

	// defaultRowGroupRows: 1 M rows per row group, as pyarrow writes the
	// TLC files; big enough for good compression, small enough that a
	// reader's decoded row group fits comfortably in memory.
	defaultRowGroupRows = 1 << 20

	// defaultMonths: one year of data.
	defaultMonths = 12

	// maxMonths bounds Months: the generator keeps a per-month table of
	// hourly weights (about 6 KB each); 100 years is far beyond any use.
	maxMonths = 1200

	// maxRowGroupRows bounds RowGroupRows: each worker holds one row group
	// of column buffers (about 150 bytes a row, plus the Parquet writer's
	// encoded pages), so 16 M rows already cost over 2.4 GB per worker.
	maxRowGroupRows = 16 << 20

	// maxFiles bounds the number of output files (Rows / FileRows). Part
	// numbers are written with five digits (part-NNNNN), and a hundred
	// thousand files means FileRows was set far too small.
	maxFiles = 99_999

	// maxEncryptedPageBytes is the data page size limit of encrypted
	// files: above any column chunk a row group can make (maxRowGroupRows
	// × 8 bytes = 128 MiB), so each chunk is one page (see writerProps).
	maxEncryptedPageBytes = 256 << 20

	// maxWorkers bounds Workers: each worker holds a row group of buffers
	// (see maxRowGroupRows); more workers than this is a typo.
	maxWorkers = 1024

	// cancelCheckRows is how many rows are generated between checks of the
	// context, so that cancellation takes effect within milliseconds even
	// inside a large row group.
	cancelCheckRows = 1 << 16
)
