package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/analytics/delta"
	"github.com/cofre-cc/cofre/analytics/engine"
	"github.com/cofre-cc/cofre/analytics/output"
	"github.com/cofre-cc/cofre/analytics/pgout"
	"github.com/cofre-cc/cofre/analytics/pme"
	"github.com/cofre-cc/cofre/colenc/pgcol"
	sealfuse "github.com/cofre-cc/cofre/sealfs/fuse"
)

type queryFlags struct {
	coord       coordFlags
	outPME      pmeFlags
	tables      []string
	versions    []string
	sql         string
	out         string
	encryptOut  bool
	tempDir     string
	memoryLimit string
	workers     int
	maxRows     int
	quiet       bool
	plaintextOK bool
	pg          pgOutFlags
}

// pgOutFlags describe a PostgreSQL result (--out postgres://…?table=T).
type pgOutFlags struct {
	encrypt    []string
	index      []string
	rowKey     string
	cmk, cek   string
	allowPlain bool
}

func newQueryCmd() *cobra.Command {
	var f queryFlags
	cmd := &cobra.Command{
		Use:   `query --table NAME=PATH[,PATH…] --sql "SELECT …" [--out FILE]`,
		Short: "Run SQL over Parquet files or Delta tables, encrypted or not",
		Long: `Runs one SELECT over tables made of Parquet files (a file, a directory of
Hive-partitioned files, or a Delta table). Files encrypted with Parquet
modular encryption are decrypted in memory with keys the coordinator's KMS
unwraps for this workload only: run it under cofre run, or give --coordinator
and --cert. Only the columns the query needs are decrypted and decoded.

The SQL engine is DuckDB, locked down: it reads only the tables given here
(no files, no URLs, no extensions), and never spills to disk unless --temp-dir
is on a mounted sealfs volume: a query that does not fit in --memory-limit fails
instead of writing plaintext.

Results print as a table, or go to --out (.csv, .json, .ndjson, .parquet;
--encrypt-out encrypts a Parquet result with keys from the KMS), or to a new
PostgreSQL table: --out 'postgres://USER@HOST/DB?sslmode=verify-full&table=T'
with --encrypt-columns COL[:SCHEME],… (cofre-v2 by default, ae-deterministic
or ae-randomized for Always Encrypted cells) and --cmk KEY, a KMS master key
that wraps the table's column encryption key. Cells are encrypted here, before
COPY: the database never holds a key or a plaintext of those columns.

Exit status: 0 done, 1 refused (no key for this workload, tampered data), 2
usage error, 3 coordinator unavailable.`,
		Args: cobra.NoArgs,
		RunE: workloadRunE(&f.coord, func(ctx context.Context, stdout, stderr io.Writer) error {
			return runQuery(ctx, stdout, stderr, &f)
		}),
	}
	fl := cmd.Flags()
	f.coord.register(fl, "key")
	f.outPME.register(fl, "out-", "")
	fl.StringArrayVar(&f.tables, "table", nil, "NAME=PATH[,PATH…]: a table from Parquet files, directories of them or a Delta table (repeatable)")
	fl.StringArrayVar(&f.versions, "version", nil, "NAME=N: read Delta table NAME as of version N (time travel)")
	fl.StringVar(&f.sql, "sql", "", "one SELECT statement (required)")
	fl.StringVar(&f.out, "out", "", "write the result to this file (.csv, .json, .ndjson, .parquet) instead of printing it")
	fl.BoolVar(&f.encryptOut, "encrypt-out", false, "encrypt the Parquet result (--out-footer-key, --out-column-keys)")
	fl.StringVar(&f.tempDir, "temp-dir", "", "where the engine may spill: must be on a mounted sealfs volume (default: no spilling)")
	fl.StringVar(&f.memoryLimit, "memory-limit", "", `the engine's memory limit, e.g. "4GB" (default: 80% of RAM)`)
	fl.IntVar(&f.workers, "workers", 0, "parallel Parquet readers (0: one per CPU)")
	fl.IntVar(&f.maxRows, "max-rows", 40, "rows printed as a table")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress on stderr")
	fl.StringSliceVar(&f.pg.encrypt, "encrypt-columns", nil, "with --out postgres://…: COL[:SCHEME] columns to encrypt (scheme cofre-v2, ae-deterministic or ae-randomized)")
	fl.StringSliceVar(&f.pg.index, "index-columns", nil, "with --out postgres://…: cofre-v2 columns to give a blind index for equality lookups")
	fl.StringVar(&f.pg.rowKey, "row-key", "", "with --out postgres://…: result column to use as the primary key (default: a generated row_id)")
	fl.StringVar(&f.pg.cmk, "cmk", "", "with --out postgres://…: the KMS master key that wraps the column encryption key")
	fl.StringVar(&f.pg.cek, "cek", "", "with --out postgres://…: the column encryption key's name (default: the table's)")
	fl.BoolVar(&f.pg.allowPlain, "allow-plaintext-transport", false, "with --out postgres://…: allow a non-loopback database without sslmode=verify-full")
	fl.BoolVar(&f.plaintextOK, "allow-plaintext", false, "with a KMS, also read files that are not encrypted (refused by default: a plaintext file in an encrypted table is a mistake or an attack)")
	return cmd
}

func runQuery(ctx context.Context, stdout, stderr io.Writer, f *queryFlags) error {
	if f.sql == "" {
		return usagef("--sql is required")
	}
	if len(f.tables) == 0 {
		return usagef("--table is required")
	}
	var pgOut *pgout.Options
	var dbURL string
	switch {
	case isPostgresURL(f.out):
		opts, u, err := f.pg.options(f.out)
		if err != nil {
			return err
		}
		if f.coord.url == "" {
			return usagef("--out postgres://…: encrypted columns need the coordinator's KMS: run under cofre run, or give --coordinator and --cert")
		}
		pgOut, dbURL = opts, u
	case len(f.pg.encrypt) > 0 || f.pg.cmk != "":
		return usagef("--encrypt-columns and --cmk need --out postgres://…")
	case f.out != "":
		if _, err := output.FormatForPath(f.out); err != nil {
			return usageError{err}
		}
	}
	if f.encryptOut && (f.out == "" || !strings.EqualFold(filepath.Ext(f.out), ".parquet")) {
		return usagef("--encrypt-out needs --out FILE.parquet")
	}
	if f.encryptOut && f.outPME.footerKey == "" {
		return usagef("--encrypt-out needs --out-footer-key")
	}
	tempDir := ""
	if f.tempDir != "" {
		// Spill files hold plaintext rows: only an encrypted volume may
		// take them. DuckDB gets the resolved path, so a symbolic link
		// swapped after the check cannot redirect it.
		if _, err := sealfuse.OnVolume(f.tempDir); err != nil {
			return usagef("--temp-dir: %v", err)
		}
		var err error
		if tempDir, err = filepath.EvalSymlinks(f.tempDir); err != nil {
			return usagef("--temp-dir: %v", err)
		}
	}
	versions := map[string]int64{}
	for _, v := range f.versions {
		name, n, ok := strings.Cut(v, "=")
		var ver int64
		if _, err := fmt.Sscan(n, &ver); !ok || err != nil || ver < 0 {
			return usagef("--version %q: want NAME=N", v)
		}
		versions[strings.ToLower(name)] = ver
	}
	// The decoded columns are garbage soon after DuckDB consumed them: a
	// higher GOGC trades memory for far fewer collections.
	debug.SetGCPercent(400)

	var tables []engine.Table
	for _, spec := range f.tables {
		name, paths, ok := strings.Cut(spec, "=")
		if !ok || name == "" || paths == "" {
			return usagef("--table %q: want NAME=PATH[,PATH…]", spec)
		}
		v, hasVersion := versions[strings.ToLower(name)]
		if !hasVersion {
			v = -1
		}
		files, err := tableFiles(ctx, strings.Split(paths, ","), v)
		if err != nil {
			return err
		}
		tables = append(tables, engine.Table{Name: name, Files: files})
	}

	// Keys come from the coordinator only if some file needs one: a
	// plaintext query needs no coordinator.
	var factory *pme.Factory
	if f.coord.url != "" {
		fac, err := kmsFactory(ctx, stderr, &f.coord, f.plaintextOK)
		if err != nil {
			return err
		}
		factory = fac
		for i := range tables {
			tables[i].Decryption = func() *parquet.FileDecryptionProperties { return fac.DecryptionProperties(ctx) }
		}
	}

	opts := engine.Options{Workers: f.workers, MemoryLimit: f.memoryLimit, TempDir: tempDir}
	var p *progressPrinter
	if !f.quiet {
		opts.Progress = func(done, total int64) {
			if p == nil || p.total != total {
				p = newProgress(stderr, "row groups", total)
			}
			p.update(done)
		}
	}
	e, err := engine.Open(opts)
	if err != nil {
		return err
	}
	defer e.Close()
	for _, t := range tables {
		if err := e.Register(ctx, t); err != nil {
			return queryError(stderr, err, factory != nil)
		}
	}
	began := time.Now()
	rr, err := e.Query(ctx, f.sql)
	if err != nil {
		return queryError(stderr, err, factory != nil)
	}
	defer rr.Release()
	if pgOut != nil {
		db, err := connectDB(ctx, dbURL, f.pg.allowPlain)
		if err != nil {
			return err
		}
		defer db.Close()
		c, err := f.coord.connect(ctx, stderr)
		if err != nil {
			return err
		}
		n, err := pgout.Write(ctx, db, &pgcol.CoordinatorKMS{C: c}, rr, *pgOut)
		if err != nil {
			return colencError(stderr, queryError(stderr, err, factory != nil))
		}
		fmt.Fprintf(stderr, "%d rows written to table %s in %.2f s (%d columns encrypted)\n", n, pgOut.Table, time.Since(began).Seconds(), len(pgOut.Encrypt))
		return nil
	}
	if f.out != "" {
		var wopts output.Options
		if f.encryptOut {
			// The coordinator connected for reading serves writing too.
			fac := factory
			if fac == nil {
				var err error
				if fac, err = kmsFactory(ctx, stderr, &f.coord, false); err != nil {
					return err
				}
			}
			cfg, err := f.outPME.config(rr.Schema())
			if err != nil {
				return usagef("--encrypt-out: %v", err)
			}
			if wopts.Encryption, err = fac.EncryptionProperties(ctx, cfg); err != nil {
				return err
			}
		}
		if err := output.WriteFile(f.out, rr, wopts); err != nil {
			return queryError(stderr, err, factory != nil)
		}
		fmt.Fprintf(stderr, "result written to %s in %.2f s\n", f.out, time.Since(began).Seconds())
		return nil
	}
	if err := output.WriteTable(stdout, rr, f.maxRows); err != nil {
		return queryError(stderr, err, factory != nil)
	}
	if !f.quiet {
		fmt.Fprintf(stderr, "query took %.2f s\n", time.Since(began).Seconds())
	}
	return nil
}

// queryError turns a read failure (no key, tampered data) into a refusal
// (exit 1) with its reason. The engine's own errors pass as they are,
// except that with keys from the KMS (decrypted data) an error SQL raised
// is cut to its class: DuckDB quotes values in its messages ("Could not
// convert string 's734'"), and stderr goes to the host's logs.
func queryError(stderr io.Writer, err error, haveKMS bool) error {
	if haveKMS && errors.Is(err, engine.ErrQuery) && !errors.Is(err, engine.ErrRead) {
		return fmt.Errorf("%w: %s (details withheld: they may quote decrypted values)", engine.ErrQuery, errorClass(err))
	}
	if errors.Is(err, engine.ErrRead) {
		fmt.Fprintln(stderr, "REFUSED:", err)
		if !haveKMS {
			fmt.Fprintln(stderr, "(encrypted data needs keys from the coordinator's KMS: run under cofre run, or give --coordinator and --cert)")
		}
		return refusedError{}
	}
	return err
}

// tableFiles expands a table's paths: a Parquet file, a directory of
// Parquet files (Hive partition directories key=value become columns), or
// a Delta table (a directory with _delta_log) at version (< 0: latest).
func tableFiles(ctx context.Context, paths []string, version int64) ([]engine.File, error) {
	var files []engine.File
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, usagef("--table: %v", err)
		}
		if !fi.IsDir() {
			if err := regularFile(p); err != nil {
				return nil, err
			}
			files = append(files, engine.File{Path: p})
			continue
		}
		if _, err := os.Stat(filepath.Join(p, "_delta_log")); err == nil {
			t, err := delta.Open(p)
			if err != nil {
				return nil, err
			}
			snap, err := t.Snapshot(ctx, version)
			if err != nil {
				return nil, err
			}
			for _, a := range snap.Files {
				fp := filepath.Join(p, filepath.FromSlash(a.Path))
				if err := regularFile(fp); err != nil {
					return nil, err
				}
				files = append(files, engine.File{Path: fp, PartitionValues: a.PartitionValues})
			}
			continue
		} else if version >= 0 {
			return nil, usagef("--version: %s is not a Delta table", p)
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			base := d.Name()
			// Hidden and underscore entries are metadata (_SUCCESS,
			// .crc files, temp files of a writer), as Spark treats them.
			if path != p && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !strings.HasSuffix(base, ".parquet") {
				return nil
			}
			if !d.Type().IsRegular() {
				return fmt.Errorf("%s: %w", path, errNotRegular)
			}
			rel, _ := filepath.Rel(p, filepath.Dir(path))
			var pv map[string]string
			for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
				if k, v, ok := strings.Cut(part, "="); ok && k != "" {
					if pv == nil {
						pv = map[string]string{}
					}
					pv[k] = v
				}
			}
			files = append(files, engine.File{Path: path, PartitionValues: pv})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("--table %s: %w", p, err)
		}
	}
	if len(files) == 0 {
		return nil, usagef("--table: no Parquet files in %s", strings.Join(paths, ","))
	}
	slices.SortFunc(files, func(a, b engine.File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// errorClass is the class DuckDB names at the start of its messages
// ("Conversion Error", "Out of Memory Error"), or "error".
func errorClass(err error) string {
	msg := strings.TrimPrefix(err.Error(), engine.ErrQuery.Error()+": ")
	if i := strings.Index(msg, " Error"); i > 0 && i < 40 && !strings.ContainsAny(msg[:i], ":'\"") {
		return msg[:i+len(" Error")]
	}
	return "error"
}

// errNotRegular refuses a table file that is a symbolic link or not a
// file: a link could pull another data set (one this workload may also
// decrypt) or a file of the workload's own into the table.
var errNotRegular = errors.New("not a regular file (symbolic links are not followed)")

// regularFile checks that the last element of p is a regular file. (The
// directories on the way are the table's: a workload keeps its tables on
// storage it trusts, ideally a sealfs volume, see docs/analytics.md.)
func regularFile(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("--table: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("--table: %s: %w", p, errNotRegular)
	}
	return nil
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// options parses the PostgreSQL output: the table comes from the URL's
// table parameter, which is removed from the URL the driver sees.
func (f *pgOutFlags) options(out string) (*pgout.Options, string, error) {
	u, err := url.Parse(out)
	if err != nil {
		return nil, "", usagef("--out: %v", err)
	}
	q := u.Query()
	table := q.Get("table")
	if table == "" {
		return nil, "", usagef("--out %s: add ?table=NAME", u.Redacted())
	}
	q.Del("table")
	u.RawQuery = q.Encode()
	if len(f.encrypt) == 0 {
		return nil, "", usagef("--out postgres://…: --encrypt-columns is required (a result table with no encrypted column is a plain export: use a file)")
	}
	if f.cmk == "" {
		return nil, "", usagef("--out postgres://…: --cmk is required")
	}
	opts := &pgout.Options{Table: table, RowKey: f.rowKey, CMK: f.cmk, CEK: f.cek, Index: f.index, Encrypt: map[string]pgcol.Scheme{}}
	for _, spec := range f.encrypt {
		col, scheme, _ := strings.Cut(spec, ":")
		if scheme == "" {
			scheme = string(pgcol.SchemeV2)
		}
		opts.Encrypt[col] = pgcol.Scheme(scheme)
	}
	if err := checkDBURL(u.String(), f.allowPlain); err != nil {
		return nil, "", usageError{err}
	}
	return opts, u.String(), nil
}
