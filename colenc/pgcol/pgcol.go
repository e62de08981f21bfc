// Package pgcol stores columns encrypted with colenc's v2 cells in
// PostgreSQL: the client encrypts before COPY and decrypts after SELECT, so
// the database — its files, its administrators, its backups — holds only
// ciphertext (bytea) and key IDs, never a key.
//
// A table has an immutable text primary key (the row key), which each cell's
// associated data binds, with the table and column names: a cell copied to
// another row or column, or another table, does not decrypt. Which columns
// are encrypted, under which key ID, is recorded in cofre_encrypted_columns,
// the like of SQL Server's sys.column_encryption_keys metadata (but with no
// wrapped keys: those stay in the coordinator's KMS).
//
// What it does not do: hide row counts, value lengths or access patterns;
// encrypt the row key; search (see colenc.BlindIndex for equality).
package pgcol

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/cofre-cc/cofre/colenc"
)

// Table describes an encrypted table.
type Table struct {
	// Name is the table's name: lowercase letters, digits and underscores.
	Name string
	// RowKey is its text primary key column.
	RowKey string
	// Encrypted maps each encrypted column to its keyring (Seal uses the
	// current key; Open accepts older ones during a rotation).
	Encrypted map[string]*colenc.Keyring
	// Plain lists its other columns, stored as text.
	Plain []string
}

var ident = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ErrSchema reports a table definition this package cannot store.
var ErrSchema = errors.New("pgcol: invalid table")

func (t *Table) check() error {
	names := map[string]bool{}
	for _, n := range append([]string{t.Name, t.RowKey}, t.Plain...) {
		if !ident.MatchString(n) {
			return fmt.Errorf("%w: %q is not a plain lowercase identifier", ErrSchema, n)
		}
	}
	for c, k := range t.Encrypted {
		if !ident.MatchString(c) || k == nil {
			return fmt.Errorf("%w: encrypted column %q", ErrSchema, c)
		}
	}
	for _, n := range t.columns() {
		if names[n] {
			return fmt.Errorf("%w: column %q twice", ErrSchema, n)
		}
		names[n] = true
	}
	if len(t.Encrypted) == 0 {
		return fmt.Errorf("%w: no encrypted column", ErrSchema)
	}
	return nil
}

// columns lists the table's columns: the row key, plain, then encrypted
// (sorted).
func (t *Table) columns() []string {
	cols := append([]string{t.RowKey}, t.Plain...)
	return append(cols, t.encrypted()...)
}

func (t *Table) encrypted() []string {
	var cols []string
	for c := range t.Encrypted {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	return cols
}

// Create creates the metadata table (once) and the table, and records its
// encrypted columns with their current key IDs.
func Create(ctx context.Context, conn *pgx.Conn, t Table) error {
	if err := t.check(); err != nil {
		return err
	}
	ddl := `CREATE TABLE IF NOT EXISTS cofre_encrypted_columns (
		table_name text NOT NULL, column_name text NOT NULL, scheme text NOT NULL, key_id text NOT NULL,
		PRIMARY KEY (table_name, column_name))`
	if _, err := conn.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("pgcol: metadata: %w", err)
	}
	cols := fmt.Sprintf("%s text PRIMARY KEY", pgx.Identifier{t.RowKey}.Sanitize())
	for _, c := range t.Plain {
		cols += fmt.Sprintf(", %s text", pgx.Identifier{c}.Sanitize())
	}
	for _, c := range t.encrypted() {
		cols += fmt.Sprintf(", %s bytea", pgx.Identifier{c}.Sanitize())
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", pgx.Identifier{t.Name}.Sanitize(), cols)); err != nil {
		return fmt.Errorf("pgcol: create %s: %w", t.Name, err)
	}
	for _, c := range t.encrypted() {
		id := t.Encrypted[c].Current()
		if _, err := conn.Exec(ctx, `INSERT INTO cofre_encrypted_columns VALUES ($1, $2, 'cofre-v2', $3)
			ON CONFLICT (table_name, column_name) DO UPDATE SET key_id = EXCLUDED.key_id`, t.Name, c, id.String()); err != nil {
			return fmt.Errorf("pgcol: metadata: %w", err)
		}
	}
	return nil
}

// Row is one row to write: the row key, plain values, encrypted values.
type Row struct {
	Key       string
	Plain     map[string]string
	Encrypted map[string][]byte
}

// CopyFrom writes rows with COPY, sealing each encrypted value for its
// row, column and table on the client.
func CopyFrom(ctx context.Context, conn *pgx.Conn, t Table, rows []Row) (int64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	enc := t.encrypted()
	src := make([][]any, 0, len(rows))
	for i, r := range rows {
		vals := []any{r.Key}
		for _, c := range t.Plain {
			vals = append(vals, r.Plain[c])
		}
		for _, c := range enc {
			v, ok := r.Encrypted[c]
			if !ok {
				vals = append(vals, nil)
				continue
			}
			cell, err := t.Encrypted[c].Seal(v, colenc.Location{Table: t.Name, Column: c, RowKey: []byte(r.Key)})
			if err != nil {
				return 0, fmt.Errorf("pgcol: row %d, column %s: %w", i, c, err)
			}
			vals = append(vals, cell)
		}
		src = append(src, vals)
	}
	return conn.CopyFrom(ctx, pgx.Identifier{t.Name}, t.columns(), pgx.CopyFromRows(src))
}

// Select reads every row, opening each encrypted value for the row it was
// read from: a cell moved to another row, column or table is refused
// (colenc.ErrAuthentication), and so is the whole read.
func Select(ctx context.Context, conn *pgx.Conn, t Table) ([]Row, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	cols := t.columns()
	q := "SELECT "
	for i, c := range cols {
		if i > 0 {
			q += ", "
		}
		q += pgx.Identifier{c}.Sanitize()
	}
	q += " FROM " + pgx.Identifier{t.Name}.Sanitize() + " ORDER BY 1"
	rs, err := conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("pgcol: select %s: %w", t.Name, err)
	}
	defer rs.Close()
	enc := t.encrypted()
	var out []Row
	for rs.Next() {
		key := ""
		plain := make([]*string, len(t.Plain))
		cells := make([][]byte, len(enc))
		dest := []any{&key}
		for i := range plain {
			dest = append(dest, &plain[i])
		}
		for i := range cells {
			dest = append(dest, &cells[i])
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, fmt.Errorf("pgcol: %w", err)
		}
		r := Row{Key: key, Plain: map[string]string{}, Encrypted: map[string][]byte{}}
		for i, c := range t.Plain {
			if plain[i] != nil {
				r.Plain[c] = *plain[i]
			}
		}
		for i, c := range enc {
			if cells[i] == nil {
				continue
			}
			v, err := t.Encrypted[c].Open(cells[i], colenc.Location{Table: t.Name, Column: c, RowKey: []byte(key)})
			if err != nil {
				// The row key is the table's, not a secret; the value is not
				// named.
				return nil, fmt.Errorf("pgcol: %s.%s, row %q: %w", t.Name, c, key, err)
			}
			r.Encrypted[c] = v
		}
		out = append(out, r)
	}
	return out, rs.Err()
}
