package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// emptyProjectionColumn is the single all-null column a scan produces when
// the query needs no column of the table (SELECT count(*) FROM t): DuckDB
// cannot scan a stream without columns. Row counts then come from the
// footers and no data page is decrypted. Users cannot name it: the planning
// tables do not have it, so a query mentioning it fails to bind.
const emptyProjectionColumn = "__cofre_rows"

// progress counts row groups read across all scans of one query.
type progress struct {
	fn    func(done, total int64)
	total int64
	mu    sync.Mutex // serializes fn and guards done
	done  int64
}

func (p *progress) add() {
	if p == nil || p.fn == nil {
		return
	}
	p.mu.Lock()
	p.done++
	p.fn(p.done, p.total)
	p.mu.Unlock()
}

type task struct{ file, rowGroup int }

// scan reads the needed columns of one table with parallel workers and
// serves the batches as an array.RecordReader, in no particular order.
// DuckDB pulls from it through the Arrow C stream interface.
type scan struct {
	ti        *tableInfo
	out       *arrow.Schema
	outFrom   []int // per out field: index into ti.schema
	leaves    []int // Parquet leaf columns to decode
	workers   int
	batchRows int
	tasks     []task
	prog      *progress

	ctx    context.Context
	cancel context.CancelFunc
	ch     chan arrow.RecordBatch
	wg     sync.WaitGroup

	mu  sync.Mutex // guards err
	err error      // first failure; reported by Err

	refs atomic.Int64
	cur  arrow.RecordBatch // owned by the consumer goroutine
}

// rowGroupCount returns how many row groups a scan of ti reads.
func (ti *tableInfo) rowGroupCount() int64 {
	var n int64
	for _, r := range ti.rowCounts {
		n += int64(len(r))
	}
	return n
}

// newScan prepares a scan of the given columns of ti (indices into
// ti.schema, ascending). Workers start on start().
func newScan(ctx context.Context, ti *tableInfo, cols []int, workers, batchRows int, prog *progress) *scan {
	s := &scan{ti: ti, workers: workers, batchRows: batchRows, prog: prog}
	var fields []arrow.Field
	for _, c := range cols {
		fields = append(fields, ti.schema.Field(c))
		s.outFrom = append(s.outFrom, c)
		if c < ti.fileFields {
			s.leaves = append(s.leaves, ti.leaves[c]...)
		}
	}
	if len(fields) == 0 {
		fields = []arrow.Field{{Name: emptyProjectionColumn, Type: arrow.Null, Nullable: true}}
		s.outFrom = []int{-1}
	}
	s.out = arrow.NewSchema(fields, nil)
	for f, counts := range ti.rowCounts {
		for rg := range counts {
			s.tasks = append(s.tasks, task{f, rg})
		}
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.ch = make(chan arrow.RecordBatch, workers*queueDepthPerWorker)
	s.refs.Store(1)
	return s
}

func (s *scan) start() {
	s.wg.Add(s.workers)
	for w := range s.workers {
		go s.worker(w)
	}
	go func() {
		s.wg.Wait()
		close(s.ch)
	}()
}

// stop cancels the workers, waits for them and drops queued batches.
func (s *scan) stop() {
	s.cancel()
	s.wg.Wait()
	for rec := range s.ch {
		rec.Release()
	}
}

func (s *scan) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.cancel()
}

// failure returns the first failure recorded so far.
func (s *scan) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *scan) worker(w int) {
	defer s.wg.Done()
	mem := memory.NewGoAllocator()
	var (
		of      *openedFile
		curFile = -1
		consts  []arrow.Array // partition columns at batchRows length, for curFile
	)
	defer func() {
		if of != nil {
			of.close()
		}
		for _, a := range consts {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i := w; i < len(s.tasks); i += s.workers {
		if err := s.ctx.Err(); err != nil {
			// Stopping early is a failure: the stream must not end as if
			// the table were complete.
			s.fail(err)
			return
		}
		tk := s.tasks[i]
		if tk.file != curFile {
			if of != nil {
				of.close()
				of = nil
			}
			for j, a := range consts {
				if a != nil {
					a.Release()
				}
				consts[j] = nil
			}
			curFile = tk.file
			if len(s.leaves) > 0 {
				var err error
				of, err = openParquet(&s.ti.t, s.ti.t.Files[tk.file].Path, s.batchRows, mem)
				if err == nil {
					err = s.ti.sameRowGroups(tk.file, of)
				}
				if err != nil {
					s.fail(&FileError{Table: s.ti.t.Name, Path: s.ti.t.Files[tk.file].Path, RowGroup: -1, Err: err})
					return
				}
			}
			consts = make([]arrow.Array, len(s.outFrom))
		}
		if err := s.readRowGroup(of, tk, consts, mem); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				s.fail(err)
			} else {
				s.fail(&FileError{Table: s.ti.t.Name, Path: s.ti.t.Files[tk.file].Path, RowGroup: tk.rowGroup, Err: err})
			}
			return
		}
		s.prog.add()
	}
}

// readRowGroup decodes one row group and sends its batches. of is nil when
// no file column is needed: then only the row count is used.
func (s *scan) readRowGroup(of *openedFile, tk task, consts []arrow.Array, mem memory.Allocator) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	if of == nil {
		// No file column needed: only partition columns, or none at all.
		n := s.rowGroupRows(tk)
		cols := make([]arrow.Array, len(s.outFrom))
		for n > 0 {
			k := min(n, int64(s.batchRows))
			for j, c := range s.outFrom {
				if c < 0 {
					cols[j] = array.NewNull(int(k))
				} else if cols[j], err = s.partitionColumn(tk.file, c, consts, j, k, mem); err != nil {
					return err
				}
			}
			rec := array.NewRecordBatch(s.out, cols, k)
			for _, c := range cols {
				c.Release()
			}
			if err := s.send(rec); err != nil {
				return err
			}
			n -= k
		}
		return nil
	}
	rr, err := of.fr.GetRecordReader(s.ctx, s.leaves, []int{tk.rowGroup})
	if err != nil {
		return err
	}
	defer rr.Release()
	src := rr.Schema()
	pos := make([]int, len(s.outFrom)) // per out field: column of rr, or -1
	for j, c := range s.outFrom {
		pos[j] = -1
		if c < s.ti.fileFields {
			idx := src.FieldIndices(s.ti.schema.Field(c).Name)
			if len(idx) != 1 {
				return fmt.Errorf("column %q missing from decoded batch", s.ti.schema.Field(c).Name)
			}
			pos[j] = idx[0]
		}
	}
	cols := make([]arrow.Array, len(s.outFrom))
	for rr.Next() {
		rec := rr.RecordBatch()
		n := rec.NumRows()
		for j, c := range s.outFrom {
			if pos[j] >= 0 {
				cols[j] = rec.Column(pos[j])
				cols[j].Retain()
				continue
			}
			cols[j], err = s.partitionColumn(tk.file, c, consts, j, n, mem)
			if err != nil {
				return err
			}
		}
		out := array.NewRecordBatch(s.out, cols, n)
		for j := range cols {
			cols[j].Release()
		}
		if err := s.send(out); err != nil {
			return err
		}
	}
	return rr.Err()
}

func (s *scan) rowGroupRows(tk task) int64 {
	// Row counts come from the footers read (and, if encrypted,
	// authenticated) at Register.
	return s.ti.rowCounts[tk.file][tk.rowGroup]
}

// partitionColumn returns a constant column of n rows for partition column
// c of the current file. The full-length array is built once per file and
// sliced for shorter batches.
func (s *scan) partitionColumn(fileIdx, c int, consts []arrow.Array, j int, n int64, mem memory.Allocator) (arrow.Array, error) {
	if consts[j] == nil || int64(consts[j].Len()) < n {
		if consts[j] != nil {
			consts[j].Release()
		}
		k := c - s.ti.fileFields
		v := s.ti.t.Files[fileIdx].PartitionValues[s.ti.partKeys[k]]
		length := max(n, int64(s.batchRows))
		if s.ti.partInt[k] {
			iv, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, err
			}
			b := array.NewInt64Builder(mem)
			b.Reserve(int(length))
			for range length {
				b.UnsafeAppend(iv)
			}
			consts[j] = b.NewArray()
			b.Release()
		} else {
			b := array.NewStringBuilder(mem)
			b.Reserve(int(length))
			b.ReserveData(int(length) * len(v))
			for range length {
				b.Append(v)
			}
			consts[j] = b.NewArray()
			b.Release()
		}
	}
	return array.NewSlice(consts[j], 0, n), nil
}

// send hands a batch to the consumer, or releases it if the scan stopped.
func (s *scan) send(rec arrow.RecordBatch) error {
	select {
	case s.ch <- rec:
		return nil
	case <-s.ctx.Done():
		rec.Release()
		return s.ctx.Err()
	}
}

// The methods below make scan an array.RecordReader for DuckDB. DuckDB
// calls them from its own threads but never concurrently (its Arrow scan
// holds a lock around the stream).

func (s *scan) Retain() { s.refs.Add(1) }

func (s *scan) Release() {
	if s.refs.Add(-1) == 0 {
		if s.cur != nil {
			s.cur.Release()
			s.cur = nil
		}
		s.cancel()
	}
}

func (s *scan) Schema() *arrow.Schema { return s.out }

func (s *scan) Next() bool {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	rec, ok := <-s.ch
	if !ok {
		return false
	}
	s.cur = rec
	return true
}

func (s *scan) RecordBatch() arrow.RecordBatch { return s.cur }

// Deprecated: use RecordBatch.
func (s *scan) Record() arrow.RecordBatch { return s.cur }

// Err reports the first failure. Workers that stop early because the
// query was cancelled record the cancellation, so a truncated stream never
// looks complete.
func (s *scan) Err() error { return s.failure() }

var _ array.RecordReader = (*scan)(nil)
