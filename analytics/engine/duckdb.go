//go:build duckdb_arrow

package engine

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Engine runs SQL over registered tables. It is safe for concurrent use;
// each query runs on its own DuckDB connection.
type Engine struct {
	opts Options

	db     *duckdb.Connector // the database queries run in
	planDB *duckdb.Connector // empty tables of the same schemas, for planning

	mu       sync.Mutex            // guards tables, planConn, closed, sealed, native; serializes planning
	tables   map[string]*tableInfo // by lower-cased name
	planConn driver.Conn
	closed   bool
	// sealed: db's configuration is locked (at the first query). native:
	// the tables are views over DuckDB's own Parquet reader.
	sealed, native bool
	broken         bool // seal failed: locked, no queries
}

// hardening is the DuckDB configuration both databases get. Each entry is a
// decision about untrusted SQL or a plaintext leak:
//   - enable_external_access=false: SQL cannot read or write files, URLs or
//     other databases (read_csv, COPY, ATTACH); the only data is the Arrow
//     streams we register.
//   - autoload/autoinstall off: no extension code is fetched or loaded.
//   - lock_configuration: SQL cannot undo the above with SET.
//
// enable_external_access and lock_configuration are applied by openLocked
// after the temp directory settings, which they would otherwise refuse.
func hardening() url.Values {
	v := url.Values{}
	v.Set("autoload_known_extensions", "false")
	v.Set("autoinstall_known_extensions", "false")
	v.Set("allow_community_extensions", "false")
	v.Set("allow_unsigned_extensions", "false")
	return v
}

// Open starts an in-memory, hardened DuckDB.
func Open(opts Options) (*Engine, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	// SET GLOBAL statements, applied before the lock. Filter pushdown is
	// off: the Arrow scan of duckdb_arrow_scan drops filters pushed into it
	// (rows come back unfiltered), so filters must stay as operators.
	//
	// top_n is off too: DuckDB 1.4's own Parquet reader fails the AES tag
	// check of encrypted files when a filter (or a top-n's dynamic filter)
	// is pushed into it (measured: "Computed AES tag differs"; it fails
	// closed, never with wrong rows), and the native path needs neither.
	// join_filter_pushdown likewise pushes a join's dynamic filter into
	// the scan, and statistics_propagation lets it skip row groups: both
	// made that reader fail too (measured on joins and filtered joins).
	set := []string{"disabled_optimizers = 'filter_pushdown,top_n,join_filter_pushdown,statistics_propagation'"}
	if opts.MemoryLimit != "" {
		set = append(set, "memory_limit = '"+opts.MemoryLimit+"'")
	}
	if opts.Threads > 0 {
		set = append(set, "threads = "+strconv.Itoa(opts.Threads))
	}
	if opts.TempDir != "" {
		set = append(set, "temp_directory = '"+opts.TempDir+"'")
	} else {
		// Spilled blocks would be plaintext on an unprotected disk: with no
		// encrypted TempDir, DuckDB may not spill at all. An in-memory
		// database with an empty temp_directory fails an allocation past
		// memory_limit with "Out of Memory Error".
		set = append(set, "temp_directory = ''", "max_temp_directory_size = '0KiB'")
	}
	// The query database is locked at the first query (seal), once the
	// files DuckDB's own reader may open are known.
	db, err := openDB(set, false)
	if err != nil {
		return nil, err
	}

	// The planning database only binds and optimizes queries over empty
	// tables. Filter pushdown is off there so every column a filter reads
	// shows up in the scan's projection list; statistics propagation is off
	// so empty-table statistics cannot fold filters away.
	planDB, err := openDB([]string{
		"threads = 1", "memory_limit = '256MB'",
		"temp_directory = ''", "max_temp_directory_size = '0KiB'",
		"disabled_optimizers = 'filter_pushdown,statistics_propagation'",
	}, true)
	if err != nil {
		db.Close()
		return nil, err
	}
	planConn, err := planDB.Connect(context.Background())
	if err != nil {
		db.Close()
		planDB.Close()
		return nil, fmt.Errorf("engine: open planning connection: %w", err)
	}
	return &Engine{opts: opts, db: db, planDB: planDB, planConn: planConn, tables: map[string]*tableInfo{}}, nil
}

// openDB opens a database with the hardening options and applies set
// (SET GLOBAL statements); with lock, it also turns off external access
// and locks the configuration (else seal does), before any caller SQL can
// run. duckdb-go applies DSN options in map order, so order-dependent
// settings go through SET.
func openDB(set []string, lock bool) (*duckdb.Connector, error) {
	c, err := duckdb.NewConnector(":memory:?"+hardening().Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("engine: open duckdb: %w", err)
	}
	conn, err := c.Connect(context.Background())
	if err == nil {
		ex := conn.(driver.ExecerContext)
		// The order matters: with external access off DuckDB refuses to
		// change temp_directory, and after the lock it refuses everything.
		if lock {
			set = append(set, lockSettings...)
		}
		for _, s := range set {
			if _, err = ex.ExecContext(context.Background(), "SET GLOBAL "+s, nil); err != nil {
				break
			}
		}
		err = errors.Join(err, conn.Close())
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("engine: lock duckdb configuration: %w", err)
	}
	return c, nil
}

// lockSettings end every database's configuration: no file, URL or
// database access beyond what allowed_paths lists, and no SET after.
var lockSettings = []string{"enable_external_access = false", "lock_configuration = true"}

// Register opens every file's footer (decrypting it with t.Decryption),
// checks that all files share one schema and makes the table available to
// queries under t.Name. It reads no data pages.
func (e *Engine) Register(ctx context.Context, t Table) error {
	if err := checkTable(t); err != nil {
		return err
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	_, dup := e.tables[strings.ToLower(t.Name)]
	full := len(e.tables) >= maxTables
	e.mu.Unlock()
	if dup {
		return fmt.Errorf("%w: table %s already registered", ErrInvalidTable, t.Name)
	}
	if full {
		return fmt.Errorf("%w: more than %d tables", ErrInvalidTable, maxTables)
	}
	t.Files = append([]File(nil), t.Files...) // never keep the caller's slice
	ti, err := loadTable(ctx, t)
	if err != nil {
		return err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if e.native {
		return fmt.Errorf("%w: tables read by DuckDB's own reader are registered before the first query", ErrInvalidTable)
	}
	if _, dup := e.tables[strings.ToLower(t.Name)]; dup {
		return fmt.Errorf("%w: table %s already registered", ErrInvalidTable, t.Name)
	}
	// The planning twin: an empty table with the same DuckDB types, made
	// from an empty Arrow stream so the type mapping is DuckDB's own.
	ar, err := duckdb.NewArrowFromConn(e.planConn)
	if err != nil {
		return fmt.Errorf("engine: planning: %w", err)
	}
	empty, err := array.NewRecordReader(ti.schema, nil)
	if err != nil {
		return fmt.Errorf("engine: planning: %w", err)
	}
	release, err := ar.RegisterView(empty, "__cofre_plan_src")
	if err != nil {
		return fmt.Errorf("engine: planning: register %s: %w", t.Name, err)
	}
	defer release()
	_, err = e.planConn.(driver.ExecerContext).ExecContext(ctx,
		fmt.Sprintf(`CREATE TEMP TABLE "%s" AS SELECT * FROM __cofre_plan_src`, t.Name), nil)
	if err != nil {
		return fmt.Errorf("engine: planning: create %s: %w", t.Name, err)
	}
	e.tables[strings.ToLower(t.Name)] = ti
	return nil
}

// queryPlan is what one query needs: the tables it reads, with columns.
type queryPlan struct {
	tables []*tableInfo
	cols   [][]int
	scans  []int
}

// plan checks that sql is one SELECT and finds the columns it reads.
func (e *Engine) plan(ctx context.Context, sql string) (*queryPlan, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	ar, err := duckdb.NewArrowFromConn(e.planConn)
	if err != nil {
		return nil, fmt.Errorf("engine: planning: %w", err)
	}
	ser, err := queryString(ctx, ar, "SELECT json_serialize_sql(?::VARCHAR)", sql)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	if err := checkSingleSelect([]byte(ser)); err != nil {
		return nil, err
	}
	explained, err := queryExplain(ctx, ar, sql)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	uses, _, err := parsePlan([]byte(explained))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	p := &queryPlan{}
	for name, u := range uses {
		ti := e.tables[name]
		if ti == nil {
			return nil, fmt.Errorf("%w: plan reads unknown table %q", ErrInvalidQuery, name)
		}
		cols, err := columnsFor(ti, u.cols)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
		}
		p.tables = append(p.tables, ti)
		p.cols = append(p.cols, cols)
		p.scans = append(p.scans, u.scans)
	}
	return p, nil
}

// Query runs one SELECT statement and returns its result. The result is
// complete when Query returns (DuckDB materializes it); the caller must
// Release it. If any file fails to decrypt or decode, Query returns a
// *FileError (errors.Is ErrRead) and no result.
func (e *Engine) Query(ctx context.Context, sql string) (array.RecordReader, error) {
	if err := checkSQLSize(sql); err != nil {
		return nil, err
	}
	native, err := e.seal(ctx)
	if err != nil {
		return nil, err
	}
	p, err := e.plan(ctx, sql)
	if err != nil {
		return nil, err
	}
	conn, err := e.db.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: connect: %w", err)
	}
	if native {
		res, err := runNative(ctx, conn, sql)
		if err != nil {
			return nil, errors.Join(err, conn.Close())
		}
		return &result{RecordReader: res, conn: conn}, nil
	}
	res, err := e.run(ctx, conn, p, sql)
	if err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	return &result{RecordReader: res, conn: conn}, nil
}

func (e *Engine) run(ctx context.Context, conn driver.Conn, p *queryPlan, sql string) (array.RecordReader, error) {
	ar, err := duckdb.NewArrowFromConn(conn)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	prog := &progress{fn: e.opts.Progress}
	for _, ti := range p.tables {
		prog.total += ti.rowGroupCount()
	}
	var (
		scans    []*scan
		releases []func()
	)
	defer func() {
		for _, s := range scans {
			s.stop()
		}
		for _, r := range releases {
			r()
		}
	}()
	// firstFailure prefers a reader's error (typed, names the file) to
	// DuckDB's rendering of it, and a cancellation to either.
	firstFailure := func(duckErr error) error {
		for _, s := range scans {
			if err := s.failure(); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, s := range scans {
			if err := s.failure(); err != nil {
				return err
			}
		}
		if duckErr != nil {
			return fmt.Errorf("%w: %w", ErrQuery, duckErr)
		}
		return nil
	}

	directViews := 0
	for i, ti := range p.tables {
		s := newScan(ctx, ti, p.cols[i], e.opts.Workers, e.opts.BatchRows, prog)
		view := ti.t.Name
		if p.scans[i] > 1 {
			// An Arrow stream can be read once; a second scan of the same
			// view silently returns no rows. A table the plan reads more
			// than once is first copied into a temporary DuckDB table.
			view = "__cofre_src_" + ti.t.Name
		} else {
			directViews++
		}
		s.start()
		scans = append(scans, s)
		release, err := ar.RegisterView(s, view)
		if err != nil {
			return nil, fmt.Errorf("engine: register %s: %w", ti.t.Name, err)
		}
		releases = append(releases, release)
		if p.scans[i] > 1 {
			q := fmt.Sprintf(`CREATE TEMP TABLE "%s" AS SELECT * FROM "%s"`, ti.t.Name, view)
			if _, err := conn.(driver.ExecerContext).ExecContext(ctx, q, nil); err != nil {
				return nil, firstFailure(err)
			}
			if err := firstFailure(nil); err != nil {
				return nil, err
			}
		}
	}

	// Check that the real plan reads each direct view exactly once, as the
	// planning plan did; otherwise a second scan would see an empty stream.
	explained, err := queryExplain(ctx, ar, sql)
	if err != nil {
		return nil, firstFailure(err)
	}
	if _, n, err := parsePlan([]byte(explained)); err != nil || n != directViews {
		return nil, fmt.Errorf("%w: plan reads %d arrow scans, want %d (%v)", ErrInvalidQuery, n, directViews, err)
	}

	rr, err := ar.QueryContext(ctx, sql)
	// Take the failures before stop() cancels the workers: errors after
	// DuckDB finished (e.g. after a LIMIT) come from that cancellation.
	if ferr := firstFailure(err); ferr != nil {
		if rr != nil {
			rr.Release()
		}
		return nil, ferr
	}
	return rr, nil
}

func queryExplain(ctx context.Context, ar *duckdb.Arrow, sql string) (string, error) {
	rr, err := ar.QueryContext(ctx, "EXPLAIN (FORMAT JSON) "+sql)
	if err != nil {
		return "", err
	}
	defer rr.Release()
	var b strings.Builder
	for rr.Next() {
		rec := rr.RecordBatch()
		if rec.NumCols() != 2 {
			return "", fmt.Errorf("explain: %d columns", rec.NumCols())
		}
		col, ok := rec.Column(1).(*array.String)
		if !ok {
			return "", fmt.Errorf("explain: column type %s", rec.Column(1).DataType())
		}
		for i := range col.Len() {
			b.WriteString(col.Value(i))
		}
	}
	return b.String(), rr.Err()
}

func queryString(ctx context.Context, ar *duckdb.Arrow, q string, args ...any) (string, error) {
	rr, err := ar.QueryContext(ctx, q, args...)
	if err != nil {
		return "", err
	}
	defer rr.Release()
	if !rr.Next() {
		return "", errors.Join(io.ErrUnexpectedEOF, rr.Err())
	}
	rec := rr.RecordBatch()
	col, ok := rec.Column(0).(*array.String)
	if !ok || col.Len() != 1 {
		return "", fmt.Errorf("unexpected result %s", rec.Schema())
	}
	return strings.Clone(col.Value(0)), nil
}

// result closes the query's connection when the reader is released.
type result struct {
	array.RecordReader
	conn driver.Conn
	refs atomic.Int64 // references beyond the first
}

func (r *result) Retain() {
	r.refs.Add(1)
	r.RecordReader.Retain()
}

func (r *result) Release() {
	r.RecordReader.Release()
	if r.refs.Add(-1) < 0 {
		_ = r.conn.Close()
	}
}

// Schema returns the result's schema.
func (r *result) Schema() *arrow.Schema { return r.RecordReader.Schema() }

// Close releases DuckDB. Results must be released first.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	return errors.Join(e.planConn.Close(), e.planDB.Close(), e.db.Close())
}
