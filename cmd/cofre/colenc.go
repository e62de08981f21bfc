package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cofre-cc/cofre/colenc"
	"github.com/cofre-cc/cofre/colenc/pgcol"
)

// dbFlags name a PostgreSQL database.
type dbFlags struct {
	url                 string
	allowPlainTransport bool
}

func (f *dbFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.url, "db", "", "PostgreSQL URL postgres://USER@HOST:PORT/DB?sslmode=verify-full (password from PGPASSWORD or ~/.pgpass, never the command line)")
	fl.BoolVar(&f.allowPlainTransport, "allow-plaintext-transport", false, "allow a non-loopback database without sslmode=verify-full (plain columns and metadata would cross the network readable)")
}

// connectDB opens a pool after checking the URL: no password in it (it
// would be visible in the process list and the policy), and TLS with
// certificate verification to any host that is not on this machine.
func connectDB(ctx context.Context, raw string, allowPlain bool) (*pgxpool.Pool, error) {
	if raw == "" {
		return nil, usagef("--db is required")
	}
	if err := checkDBURL(raw, allowPlain); err != nil {
		return nil, usageError{err}
	}
	cfg, err := pgxpool.ParseConfig(raw)
	if err != nil {
		return nil, usagef("--db: %v", err)
	}
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
}

func checkDBURL(raw string, allowPlain bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("--db: want a postgres:// URL")
	}
	// The checks run on what pgx will do, not on net/url's reading: the
	// two parse some URLs differently (a host= parameter, an '@' in the
	// query, a repeated sslmode).
	cfg, err := pgconn.ParseConfig(raw)
	if err != nil {
		return fmt.Errorf("--db: %v", err)
	}
	// (cfg.Password may come from PGPASSWORD: that is the way to give one.)
	if _, set := u.User.Password(); set || u.Query().Has("password") {
		return fmt.Errorf("--db: no password in the URL (it shows in the process list): use PGPASSWORD or a passfile")
	}
	if allowPlain {
		return nil
	}
	targets := []*pgconn.FallbackConfig{{Host: cfg.Host, Port: cfg.Port, TLSConfig: cfg.TLSConfig}}
	targets = append(targets, cfg.Fallbacks...)
	for _, t := range targets {
		if localHost(t.Host) {
			continue
		}
		// verify-full is the one mode that checks both the chain and the
		// host name; require and verify-ca (without a pinned root) do not.
		if t.TLSConfig == nil || t.TLSConfig.InsecureSkipVerify || t.TLSConfig.ServerName == "" {
			return fmt.Errorf("--db: host %s is not on this machine: set sslmode=verify-full (or pass --allow-plaintext-transport)", t.Host)
		}
	}
	return nil
}

// localHost reports whether a database host is this machine: a loopback
// address, localhost, or a unix socket directory.
func localHost(h string) bool {
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback()
	}
	return h == "localhost" || strings.HasPrefix(h, "/")
}

type colencFlags struct {
	coord  coordFlags
	db     dbFlags
	table  string
	column string
	cmk    string
	batch  int
	retire bool
	lookup string
	limit  int
}

func newColencCmd() *cobra.Command {
	return newGroup("colenc", "Encrypted columns in PostgreSQL: keys, rotation, reading",
		newColencInitCmd(), newColencRotateCmd(), newColencShowCmd(), newColencReadCmd())
}

func (f *colencFlags) common(cmd *cobra.Command) *pflag.FlagSet {
	fl := cmd.Flags()
	f.coord.register(fl, "key")
	f.db.register(fl)
	return fl
}

func newColencInitCmd() *cobra.Command {
	var f colencFlags
	cmd := &cobra.Command{
		Use:   "init --db URL --cmk NAME",
		Short: "Create the key metadata tables and record a column master key (a KMS key)",
		Long: `Creates cofre_column_master_keys, cofre_column_encryption_keys and
cofre_encrypted_columns if they do not exist, and records --cmk: the name of a
master key the coordinator's KMS holds (a parquet-master-key or symmetric
secret of the policy). The database never sees the key itself.`,
		Args: cobra.NoArgs,
		RunE: workloadRunE(&f.coord, func(ctx context.Context, stdout, stderr io.Writer) error {
			if f.cmk == "" {
				return usagef("--cmk is required")
			}
			db, err := connectDB(ctx, f.db.url, f.db.allowPlainTransport)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := pgcol.Init(ctx, db); err != nil {
				return err
			}
			if err := pgcol.CreateCMK(ctx, db, f.cmk); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "column master key %s recorded (provider %s)\n", f.cmk, pgcol.ProviderKMS)
			return nil
		}),
	}
	fl := f.common(cmd)
	fl.StringVar(&f.cmk, "cmk", "", "KMS master key name to record as a column master key")
	return cmd
}

func newColencRotateCmd() *cobra.Command {
	var f colencFlags
	cmd := &cobra.Command{
		Use:   "rotate --db URL --table T --column C [--batch N] [--cmk NAME] [--retire]",
		Short: "Re-encrypt a table's columns to a new column encryption key, online",
		Long: `Generates a new value of the column encryption key that --column uses,
wrapped by the KMS (under --cmk, or the current value's master key), makes it
the current key of every column using it, and re-encrypts the table's cells
in batches of --batch rows, one transaction each. Readers and writers keep
working throughout: they load the new key when they meet it. Interrupted, it
can be run again. --retire deletes the old key values once no cell of any
column using the key is under them.

Run it under cofre run: the KMS unwraps keys only for attested workloads
granted the master key.`,
		Args: cobra.NoArgs,
		RunE: workloadRunE(&f.coord, func(ctx context.Context, stdout, stderr io.Writer) error {
			return runColencRotate(ctx, stdout, stderr, &f)
		}),
	}
	fl := f.common(cmd)
	fl.StringVar(&f.table, "table", "", "table to re-encrypt")
	fl.StringVar(&f.column, "column", "", "an encrypted column: its key is rotated")
	fl.StringVar(&f.cmk, "cmk", "", "column master key for the new key (default: the current one's)")
	fl.IntVar(&f.batch, "batch", pgcol.DefaultBatch, "rows per transaction")
	fl.BoolVar(&f.retire, "retire", false, "delete the old key values when no cell uses them")
	return cmd
}

// colencHandle connects to the coordinator and the database and opens a
// table as the database describes it.
func colencHandle(ctx context.Context, stderr io.Writer, f *colencFlags) (*pgxpool.Pool, pgcol.KMS, pgcol.Table, error) {
	if f.table == "" {
		return nil, nil, pgcol.Table{}, usagef("--table is required")
	}
	if f.coord.url == "" {
		return nil, nil, pgcol.Table{}, usagef("encrypted columns need the coordinator's KMS: run under cofre run, or give --coordinator and --cert")
	}
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return nil, nil, pgcol.Table{}, err
	}
	db, err := connectDB(ctx, f.db.url, f.db.allowPlainTransport)
	if err != nil {
		return nil, nil, pgcol.Table{}, err
	}
	t, err := pgcol.Describe(ctx, db, f.table)
	if err != nil {
		db.Close()
		return nil, nil, t, err
	}
	return db, &pgcol.CoordinatorKMS{C: c}, t, nil
}

func runColencRotate(ctx context.Context, stdout, stderr io.Writer, f *colencFlags) error {
	if f.column == "" {
		return usagef("--column is required")
	}
	db, kms, t, err := colencHandle(ctx, stderr, f)
	if err != nil {
		return err
	}
	defer db.Close()
	began := time.Now()
	st, err := pgcol.Rotate(ctx, db, kms, t, f.column, pgcol.RotateOptions{Batch: f.batch, CMK: f.cmk, Retire: f.retire,
		Progress: func(n int64) { fmt.Fprintf(stderr, "re-encrypted %d cells\n", n) }})
	if err != nil {
		return colencError(stderr, err)
	}
	fmt.Fprintf(stdout, "%s.%s: new key %s, %d cells re-encrypted in %.2f s, %d old key values retired\n",
		t.Name, f.column, st.NewKey, st.Rewritten, time.Since(began).Seconds(), st.Retired)
	return nil
}

func newColencShowCmd() *cobra.Command {
	var f colencFlags
	cmd := &cobra.Command{
		Use:   "show --db URL",
		Short: "List encrypted columns, their schemes and keys (no key is unwrapped)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := connectDB(ctx, f.db.url, f.db.allowPlainTransport)
			if err != nil {
				return err
			}
			defer db.Close()
			rows, err := db.Query(ctx, `SELECT e.table_name, e.column_name, e.data_type, e.scheme, e.cek, e.key_id, k.cmk,
				(SELECT count(*) FROM cofre_column_encryption_keys v WHERE v.name = e.cek)
				FROM cofre_encrypted_columns e JOIN cofre_column_encryption_keys k ON k.name = e.cek AND k.key_id = e.key_id
				ORDER BY 1, 2`)
			if err != nil {
				return fmt.Errorf("database: %w", err)
			}
			defer rows.Close()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "TABLE\tCOLUMN\tTYPE\tSCHEME\tCEK\tCURRENT KEY\tCMK\tKEY VALUES")
			for rows.Next() {
				var tbl, col, typ, scheme, cek, key, cmk string
				var values int64
				if err := rows.Scan(&tbl, &col, &typ, &scheme, &cek, &key, &cmk, &values); err != nil {
					return fmt.Errorf("database: %w", err)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", tbl, col, typ, scheme, cek, key, cmk, values)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("database: %w", err)
			}
			return w.Flush()
		},
	}
	f.db.register(cmd.Flags())
	return cmd
}

func newColencReadCmd() *cobra.Command {
	var f colencFlags
	cmd := &cobra.Command{
		Use:   "read --db URL --table T [--lookup COLUMN=VALUE] [--limit N]",
		Short: "Print a table's rows decrypted (as an attested workload)",
		Long: `Reads the table, decrypting its encrypted columns with keys the KMS unwraps,
and prints it as a table. Every cell is checked against the row, column and
table it was read from (cofre-v2): a moved or edited cell stops the read.
--lookup finds rows by an indexed cofre-v2 or an ae-deterministic column
(integer and text values).`,
		Args: cobra.NoArgs,
		RunE: workloadRunE(&f.coord, func(ctx context.Context, stdout, stderr io.Writer) error {
			return runColencRead(ctx, stdout, stderr, &f)
		}),
	}
	fl := f.common(cmd)
	fl.StringVar(&f.table, "table", "", "table to read")
	fl.StringVar(&f.lookup, "lookup", "", "COLUMN=VALUE: only rows whose column equals VALUE")
	fl.IntVar(&f.limit, "limit", 1000, "print at most this many rows")
	return cmd
}

func runColencRead(ctx context.Context, stdout, stderr io.Writer, f *colencFlags) error {
	db, kms, t, err := colencHandle(ctx, stderr, f)
	if err != nil {
		return err
	}
	defer db.Close()
	h, err := pgcol.Open(ctx, db, kms, t)
	if err != nil {
		return colencError(stderr, err)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	var names []string
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	fmt.Fprintln(w, strings.Join(names, "\t"))
	printed := 0
	print := func(r pgcol.Row) error {
		if printed == f.limit {
			return nil
		}
		printed++
		cells := make([]string, len(r))
		for i, v := range r {
			switch x := v.(type) {
			case nil:
				cells[i] = "NULL"
			case time.Time:
				cells[i] = x.Format(time.RFC3339Nano)
			case []byte:
				cells[i] = fmt.Sprintf("\\x%x", x)
			default:
				cells[i] = fmt.Sprint(x)
			}
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
		return nil
	}
	if f.lookup != "" {
		col, val, ok := strings.Cut(f.lookup, "=")
		if !ok {
			return usagef("--lookup %q: want COLUMN=VALUE", f.lookup)
		}
		var v any = val
		for _, c := range t.Columns {
			if c.Name == col && c.Type == pgcol.BigInt {
				var n int64
				if _, err := fmt.Sscan(val, &n); err != nil {
					return usagef("--lookup: %s is a bigint column", col)
				}
				v = n
			}
		}
		rows, err := h.Lookup(ctx, col, v)
		if err != nil {
			return colencError(stderr, err)
		}
		for _, r := range rows {
			print(r)
		}
	} else if err := h.Each(ctx, print); err != nil {
		return colencError(stderr, err)
	}
	return w.Flush()
}

// colencError reports the KMS's refusals and cells that fail
// authentication as refusals (exit 1).
func colencError(stderr io.Writer, err error) error {
	if errors.Is(err, colenc.ErrAuthentication) || errors.Is(err, colenc.ErrUnknownKey) {
		fmt.Fprintln(stderr, "REFUSED:", err)
		return refusedError{}
	}
	return coordError(stderr, err)
}
