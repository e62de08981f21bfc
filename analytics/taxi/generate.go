package taxi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// File describes one written Parquet file.
type File struct {
	RelPath string // slash-separated path relative to Options.Dir
	Rows    int64
	Bytes   int64
	Year    int // the year= partition value
	Month   int // the month= partition value, 1..12
}

// Directory and file modes. The data is synthetic and holds no secret, so
// it is readable by the group (e.g. a Spark or query service account);
// encrypted output is protected by its keys, not by the mode.
const (
	dirMode  = 0o750
	fileMode = 0o640
)

// Generate writes opts.Rows synthetic trips as Parquet files under
// opts.Dir and returns the files in plan order (by month, then part).
//
// The output for the same Rows, Seed, Start, Months, FileRows,
// RowGroupRows and Compression is byte-identical whatever Workers is (for
// plaintext files; built with the same Go version on the same
// architecture): every file draws from its own stream, seeded by Seed and
// the file's index.
//
// Each file is written under a hidden temporary name in its partition
// directory and renamed only when complete and synced, so a crash or a
// cancellation never leaves a partial file under a final name. On error or
// cancellation Generate removes its temporary files, stops the other
// workers and returns the files completed so far with the error; those
// files are whole and valid.
func Generate(ctx context.Context, opts Options) ([]File, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := prepareDir(c.dir); err != nil {
		return nil, err
	}
	months, plans := planMonths(&c)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		mu       sync.Mutex // guards done, rowsDone and the Progress calls
		done     = make([]bool, len(plans))
		results  = make([]File, len(plans))
		rowsDone int64
	)
	report := func(n int64) {
		mu.Lock()
		defer mu.Unlock()
		rowsDone += n
		if c.progress != nil {
			c.progress(rowsDone)
		}
	}

	jobs := make(chan int)
	workers := min(c.workers, len(plans))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			// Buffers sized to the largest row group this run writes.
			b := newBatch(int(min(c.rowGroupRows, maxFileRows(plans))))
			for i := range jobs {
				p := &plans[i]
				f, err := writeFile(ctx, &c, b, &months[p.month], p, report)
				if err != nil {
					cancel(err)
					continue // drain the channel
				}
				mu.Lock()
				results[i], done[i] = f, true
				mu.Unlock()
			}
		})
	}
feed:
	for i := range plans {
		if ctx.Err() != nil {
			break // select below picks at random among ready cases
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()

	var out []File
	for i := range plans {
		if done[i] {
			out = append(out, results[i])
		}
	}
	if err := context.Cause(ctx); err != nil {
		return out, err
	}
	if err := syncDirs(c.dir, months); err != nil {
		return out, err
	}
	return out, nil
}

func maxFileRows(plans []filePlan) int64 {
	var m int64
	for _, p := range plans {
		m = max(m, p.rows)
	}
	return m
}

// prepareDir creates dir, or accepts it if it is an empty directory.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return fmt.Errorf("taxi: create output directory: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("taxi: read output directory: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("taxi: %s holds %d entries: %w", dir, len(entries), ErrDirNotEmpty)
	}
	return nil
}

// writeFile generates and writes one file, then renames it into place.
func writeFile(ctx context.Context, c *config, b *batch, m *monthPlan, p *filePlan, report func(int64)) (File, error) {
	if err := ctx.Err(); err != nil {
		return File{}, err
	}
	final := filepath.Join(c.dir, filepath.FromSlash(p.relPath))
	partDir := filepath.Dir(final)
	if err := os.MkdirAll(partDir, dirMode); err != nil {
		return File{}, fmt.Errorf("taxi: create partition directory: %w", err)
	}
	tmp := filepath.Join(partDir, "."+filepath.Base(final)+".tmp")
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return File{}, fmt.Errorf("taxi: create %s: %w", p.relPath, err)
	}
	keep := false
	defer func() {
		if !keep {
			fh.Close()
			os.Remove(tmp)
		}
	}()

	props, err := writerProps(c, p.relPath)
	if err != nil {
		return File{}, err
	}
	bw := bufio.NewWriterSize(fh, 1<<20)
	// bufio.Writer is not an io.Closer, so FileWriter.Close leaves the file
	// open for the flush and sync below.
	sch := Schema()
	fw, err := pqarrow.NewFileWriter(sch, bw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return File{}, fmt.Errorf("taxi: %s: new writer: %w", p.relPath, err)
	}
	g := newGenerator(c.seed, p.index)
	for off := int64(0); off < p.rows; off += c.rowGroupRows {
		n := int(min(c.rowGroupRows, p.rows-off))
		if err := g.fill(ctx, b, m, p.first+off, n); err != nil {
			fw.Close()
			return File{}, err
		}
		if err := writeBatch(fw, sch, b); err != nil {
			fw.Close()
			return File{}, fmt.Errorf("taxi: %s: write row group: %w", p.relPath, err)
		}
		report(int64(n))
	}
	if err := fw.Close(); err != nil {
		return File{}, fmt.Errorf("taxi: %s: close writer: %w", p.relPath, err)
	}
	if err := bw.Flush(); err != nil {
		return File{}, fmt.Errorf("taxi: %s: write: %w", p.relPath, err)
	}
	// Sync before the rename: after a crash the final name holds either
	// nothing or the whole file.
	if err := fh.Sync(); err != nil {
		return File{}, fmt.Errorf("taxi: %s: sync: %w", p.relPath, err)
	}
	size, err := fh.Seek(0, io.SeekCurrent)
	if err != nil {
		return File{}, fmt.Errorf("taxi: %s: size: %w", p.relPath, err)
	}
	if err := fh.Close(); err != nil {
		return File{}, fmt.Errorf("taxi: %s: close: %w", p.relPath, err)
	}
	if err := ctx.Err(); err != nil {
		return File{}, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return File{}, fmt.Errorf("taxi: %s: rename: %w", p.relPath, err)
	}
	keep = true
	return File{RelPath: p.relPath, Rows: p.rows, Bytes: size, Year: m.year, Month: m.month}, nil
}

// writerProps returns the Parquet writer properties for one file.
func writerProps(c *config, relPath string) (*parquet.WriterProperties, error) {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(c.codec),
		parquet.WithMaxRowGroupLength(c.rowGroupRows),
		// Timestamps are nearly all distinct: a dictionary would grow to
		// its size limit and be abandoned on every row group, wasted work.
		parquet.WithDictionaryFor(colPickupDatetime, false),
		parquet.WithDictionaryFor(colDropoffDatetime, false),
	}
	if c.encryption != nil {
		enc, err := c.encryption(relPath)
		if err != nil {
			// The callback's error may come from a KMS; wrap it unchanged
			// (it is the callback's duty to keep keys out of it).
			return nil, fmt.Errorf("taxi: %s: encryption properties: %w", relPath, err)
		}
		if enc != nil {
			if enc.IsUtilized() {
				return nil, fmt.Errorf("taxi: %s: %w", relPath, ErrReusedEncryption)
			}
			// One data page per column chunk (at most a row group's
			// values, ~8 MB): DuckDB's own reader decrypts only such
			// chunks, and readers gain nothing from smaller encrypted
			// pages, which cannot be skipped unread anyway.
			opts = append(opts, parquet.WithEncryptionProperties(enc), parquet.WithDataPageSize(maxEncryptedPageBytes))
		}
	}
	return parquet.NewWriterProperties(opts...), nil
}

// ErrReusedEncryption is returned when Options.Encryption returns
// properties that already encrypted a file: arrow-go wipes their keys after
// use, and reusing keys across files would also weaken the encryption.
var ErrReusedEncryption = errors.New("encryption properties already used for another file")

// writeBatch wraps b's slices as Arrow arrays (no copy) and writes them as
// one row group.
func writeBatch(fw *pqarrow.FileWriter, sch *arrow.Schema, b *batch) error {
	n := b.n
	var valid *memory.Buffer
	if b.nulls > 0 {
		valid = memory.NewBufferBytes(b.valid)
	}
	cols := make([]arrow.Array, numColumns)
	prim := func(idx int, data []byte, v *memory.Buffer, nulls int) {
		d := array.NewData(sch.Field(idx).Type, n, []*memory.Buffer{v, memory.NewBufferBytes(data)}, nil, nulls, 0)
		cols[idx] = array.MakeFromData(d)
		d.Release()
	}
	i32 := func(s []int32) []byte { return arrow.Int32Traits.CastToBytes(s[:n]) }
	i64 := func(s []int64) []byte { return arrow.Int64Traits.CastToBytes(s[:n]) }
	f64 := func(s []float64) []byte { return arrow.Float64Traits.CastToBytes(s[:n]) }

	prim(idxVendorID, i32(b.vendor), nil, 0)
	prim(idxPickup, i64(b.pickup), nil, 0)
	prim(idxDropoff, i64(b.dropoff), nil, 0)
	prim(idxPassengerCount, i64(b.passengers), valid, b.nulls)
	prim(idxTripDistance, f64(b.distance), nil, 0)
	prim(idxRatecodeID, i64(b.rate), valid, b.nulls)
	{
		d := array.NewData(arrow.BinaryTypes.LargeString, n, []*memory.Buffer{
			valid,
			memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(b.flagOffsets[:n+1])),
			memory.NewBufferBytes(b.flagData[:b.flagOffsets[n]]),
		}, nil, b.nulls, 0)
		cols[idxStoreAndFwdFlag] = array.MakeFromData(d)
		d.Release()
	}
	prim(idxPULocationID, i32(b.pu), nil, 0)
	prim(idxDOLocationID, i32(b.do), nil, 0)
	prim(idxPaymentType, i64(b.payment), nil, 0)
	prim(idxFareAmount, f64(b.fare), nil, 0)
	prim(idxExtra, f64(b.extra), nil, 0)
	prim(idxMTATax, f64(b.mta), nil, 0)
	prim(idxTipAmount, f64(b.tip), nil, 0)
	prim(idxTollsAmount, f64(b.tolls), nil, 0)
	prim(idxImprovementSurcharge, f64(b.improve), nil, 0)
	prim(idxTotalAmount, f64(b.total), nil, 0)
	prim(idxCongestionSurcharge, f64(b.congestion), valid, b.nulls)
	prim(idxAirportFee, f64(b.airport), valid, b.nulls)

	rec := array.NewRecordBatch(sch, cols, int64(n))
	for _, a := range cols {
		a.Release()
	}
	defer rec.Release()
	return fw.Write(rec)
}

// syncDirs syncs the partition directories and the root, so that the
// renames survive a crash.
func syncDirs(root string, months []monthPlan) error {
	dirs := []string{root}
	seen := map[int]bool{}
	for _, m := range months {
		if m.rows == 0 {
			continue
		}
		year := filepath.Join(root, fmt.Sprintf("year=%04d", m.year))
		dirs = append(dirs, filepath.Join(year, fmt.Sprintf("month=%02d", m.month)))
		if !seen[m.year] {
			seen[m.year] = true
			dirs = append(dirs, year)
		}
	}
	for _, d := range dirs {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("taxi: sync %s: %w", d, err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
