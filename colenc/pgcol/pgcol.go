// Package pgcol stores encrypted columns in PostgreSQL: the client encrypts
// before COPY and decrypts after SELECT, so the database — its files, its
// administrators, its backups — holds only ciphertext (bytea), wrapped keys
// and key IDs, never a key or a plaintext value of an encrypted column.
//
// Each encrypted column declares its scheme:
//
//   - cofre-v2 (the default): colenc's AES-256-GCM cells, bound to the table,
//     column, row key and key ID, so a cell copied to another row, column or
//     table does not decrypt; optional HMAC blind index for equality lookups.
//   - ae-deterministic / ae-randomized: SQL Server Always Encrypted's
//     AEAD_AES_256_CBC_HMAC_SHA256 cells over SQL Server's value encodings,
//     for data that must interoperate with Always Encrypted. They are not
//     bound to a row (a DBA can swap them unnoticed: see the tests).
//
// Keys follow Always Encrypted's model: a column master key (CMK) that never
// leaves the coordinator's KMS wraps column encryption keys (CEKs); the
// database records the CMK's name, each CEK's wrapped value and which
// columns use which CEK (cofre_column_master_keys,
// cofre_column_encryption_keys, cofre_encrypted_columns). Only an attested
// workload granted the CMK can unwrap a CEK. A CEK name holds several
// values while a column is re-encrypted to a new one (Rotate); readers load
// every value and pick a cell's key by the key ID in it.
//
// What it does not do: hide row counts, value lengths or access patterns;
// encrypt the row key or plain columns; rotate blind-index keys or CMKs; run
// SQL over encrypted values (only equality lookups, through Lookup).
package pgcol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cofre-cc/cofre/colenc"
)

// Scheme is an encrypted column's cell format.
type Scheme string

// The schemes.
const (
	SchemeV2              Scheme = "cofre-v2"
	SchemeAEDeterministic Scheme = "ae-deterministic"
	SchemeAERandomized    Scheme = "ae-randomized"
)

// Errors. Every refusal wraps one of these or one of colenc's.
var (
	// ErrSchema reports a table or key definition this package cannot
	// store, or metadata in the database that does not fit.
	ErrSchema = errors.New("pgcol: invalid schema")
	// ErrValue reports a value that does not fit its column's type.
	ErrValue = errors.New("pgcol: invalid value")
)

// Column describes one column.
type Column struct {
	Name string
	Type Type
	// Scheme is empty for a plain column.
	Scheme Scheme
	// CEK names the column encryption key of an encrypted column.
	CEK string
	// Index keeps an HMAC blind index of a cofre-v2 column in
	// <name>_bidx, keyed by the CEK named CEK + ".index", for Lookup.
	Index bool
}

func (c Column) encrypted() bool { return c.Scheme != "" }

// Table describes a table with encrypted columns.
type Table struct {
	// Name: lowercase letters, digits and underscores.
	Name string
	// RowKey names its primary key: a plain text or bigint column. Its
	// value is bound into every cofre-v2 cell of the row, so it must never
	// change.
	RowKey  string
	Columns []Column
}

func (t *Table) check() error {
	if !ident.MatchString(t.Name) || strings.HasPrefix(t.Name, "cofre_") {
		return fmt.Errorf("%w: table name %q: want a lowercase identifier not starting with cofre_", ErrSchema, t.Name)
	}
	seen := map[string]bool{}
	var key *Column
	enc := 0
	for i, c := range t.Columns {
		if !ident.MatchString(c.Name) || strings.HasSuffix(c.Name, "_bidx") {
			return fmt.Errorf("%w: column name %q: want a lowercase identifier not ending in _bidx", ErrSchema, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("%w: column %q twice", ErrSchema, c.Name)
		}
		seen[c.Name] = true
		if !c.Type.valid() {
			return fmt.Errorf("%w: column %q: type %q", ErrSchema, c.Name, c.Type)
		}
		if c.Name == t.RowKey {
			key = &t.Columns[i]
		}
		if !c.encrypted() {
			if c.Index || c.CEK != "" {
				return fmt.Errorf("%w: plain column %q has a key or an index", ErrSchema, c.Name)
			}
			continue
		}
		enc++
		switch c.Scheme {
		case SchemeV2:
		case SchemeAEDeterministic, SchemeAERandomized:
			if c.Index {
				return fmt.Errorf("%w: column %q: blind indexes are for %s columns (%s is searchable as it is)", ErrSchema, c.Name, SchemeV2, SchemeAEDeterministic)
			}
			if c.Type == Timestamptz || c.Type == Date {
				return fmt.Errorf("%w: column %q: %s cannot use %s (use %s)", ErrSchema, c.Name, c.Type, c.Scheme, SchemeV2)
			}
		default:
			return fmt.Errorf("%w: column %q: scheme %q (want %s, %s or %s)", ErrSchema, c.Name, c.Scheme, SchemeV2, SchemeAEDeterministic, SchemeAERandomized)
		}
		if err := checkKeyName(c.CEK); err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
	}
	if key == nil || key.encrypted() || (key.Type != Text && key.Type != BigInt) {
		return fmt.Errorf("%w: row key %q: want a plain text or bigint column of the table", ErrSchema, t.RowKey)
	}
	if enc == 0 {
		return fmt.Errorf("%w: table %q has no encrypted column", ErrSchema, t.Name)
	}
	return nil
}

func (t *Table) column(name string) (int, *Column) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return i, &t.Columns[i]
		}
	}
	return -1, nil
}

// rowKeyBytes is the row key as a cofre-v2 cell binds it: the row key
// column's name, a zero byte, and its value (text, or an integer in
// decimal). The name is bound too, so a DBA who makes another column the
// primary key (and gives it another row's value) does not get a moved cell
// accepted.
func rowKeyBytes(column string, v any) ([]byte, error) {
	b := append([]byte(column), 0)
	switch k := v.(type) {
	case string:
		return append(b, k...), nil
	case int64:
		return strconv.AppendInt(b, k, 10), nil
	}
	return nil, fmt.Errorf("%w: row key of type %T", ErrValue, v)
}

// Row holds one value per column, in Table.Columns order; nil is NULL.
type Row []any

// Handle reads and writes one table with its keys loaded. It is safe for
// concurrent use.
type Handle struct {
	db  *pgxpool.Pool
	kms KMS
	t   Table

	mu      sync.RWMutex
	ciphers map[string]*cipher // by column name; replaced whole on reload
}

// CreateOptions say how Create provides missing keys.
type CreateOptions struct {
	// CMK names the column master key under which Create generates each
	// column encryption key that does not exist yet. Empty: every CEK must
	// exist (NewCEK).
	CMK string
}

// Create creates the key metadata (once), the table and its encryption
// metadata, generating missing CEKs under opts.CMK, and returns a handle.
func Create(ctx context.Context, db *pgxpool.Pool, kms KMS, t Table, opts CreateOptions) (*Handle, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if err := Init(ctx, db); err != nil {
		return nil, err
	}
	ceks := map[string]bool{}
	for _, c := range t.Columns {
		if c.encrypted() {
			ceks[c.CEK] = true
			if c.Index {
				ceks[c.CEK+".index"] = true
			}
		}
	}
	for name := range ceks {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM cofre_column_encryption_keys WHERE name = $1`, name).Scan(&n); err != nil {
			return nil, fmt.Errorf("pgcol: %w", err)
		}
		if n > 0 {
			if opts.CMK != "" {
				// An existing key is reused only under the master key the
				// caller asked for, as its authenticated metadata says.
				values, err := loadCEK(ctx, db, kms, name)
				if err != nil {
					return nil, err
				}
				cur := newest(values)
				for _, v := range values {
					clear(v.secret)
				}
				if cur.cmk != opts.CMK {
					return nil, fmt.Errorf("%w: column encryption key %q exists under column master key %q, not %q", ErrSchema, name, cur.cmk, opts.CMK)
				}
			}
			continue
		}
		if opts.CMK == "" {
			return nil, fmt.Errorf("%w: no column encryption key %q (create it, or give a CMK)", ErrSchema, name)
		}
		if _, err := NewCEK(ctx, db, kms, name, opts.CMK); err != nil {
			return nil, err
		}
	}
	var cols []string
	for _, c := range t.Columns {
		typ := string(c.Type)
		if c.encrypted() {
			typ = "bytea"
		}
		def := pgx.Identifier{c.Name}.Sanitize() + " " + typ
		if c.Name == t.RowKey {
			def += " PRIMARY KEY"
		}
		cols = append(cols, def)
		if c.Index {
			cols = append(cols, pgx.Identifier{c.Name + "_bidx"}.Sanitize()+" bytea")
		}
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgcol: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", pgx.Identifier{t.Name}.Sanitize(), strings.Join(cols, ", "))); err != nil {
		return nil, fmt.Errorf("pgcol: create %s: %w", t.Name, err)
	}
	for _, c := range t.Columns {
		if !c.encrypted() {
			continue
		}
		if c.Index {
			if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE INDEX ON %s (%s)", pgx.Identifier{t.Name}.Sanitize(), pgx.Identifier{c.Name + "_bidx"}.Sanitize())); err != nil {
				return nil, fmt.Errorf("pgcol: create index: %w", err)
			}
		}
		var indexCEK *string
		if c.Index {
			s := c.CEK + ".index"
			indexCEK = &s
		}
		// The newest value of the CEK is the column's current key.
		if _, err := tx.Exec(ctx, `INSERT INTO cofre_encrypted_columns (table_name, column_name, data_type, scheme, cek, key_id, index_cek)
			SELECT $1, $2, $3, $4, $5, key_id, $6 FROM cofre_column_encryption_keys WHERE name = $5 ORDER BY created DESC, key_id DESC LIMIT 1`,
			t.Name, c.Name, string(c.Type), string(c.Scheme), c.CEK, indexCEK); err != nil {
			return nil, fmt.Errorf("pgcol: metadata: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("pgcol: create %s: %w", t.Name, err)
	}
	return Open(ctx, db, kms, t)
}

// Open returns a handle on an existing table. The table's encrypted columns
// must match what the database records for it (scheme, type, CEK), so a
// caller's declaration and a DBA's metadata cannot silently disagree.
func Open(ctx context.Context, db *pgxpool.Pool, kms KMS, t Table) (*Handle, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	h := &Handle{db: db, kms: kms, t: t}
	if err := h.reload(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Describe reads a table's declaration back from the database: its columns
// and types from the catalog, its encrypted columns from the metadata.
func Describe(ctx context.Context, db *pgxpool.Pool, table string) (Table, error) {
	t := Table{Name: table}
	if !ident.MatchString(table) {
		return t, fmt.Errorf("%w: table name %q", ErrSchema, table)
	}
	rows, err := db.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), COALESCE(e.scheme, ''), COALESCE(e.cek, ''), COALESCE(e.data_type, ''), e.index_cek IS NOT NULL,
			COALESCE((SELECT true FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY(i.indkey)), false)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN cofre_encrypted_columns e ON e.table_name = c.relname AND e.column_name = a.attname
		WHERE c.relname = $1 AND n.nspname = current_schema() AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, table)
	if err != nil {
		return t, fmt.Errorf("pgcol: describe %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, sqlType, scheme, cek, dataType string
		var indexed, primary bool
		if err := rows.Scan(&name, &sqlType, &scheme, &cek, &dataType, &indexed, &primary); err != nil {
			return t, fmt.Errorf("pgcol: describe %s: %w", table, err)
		}
		if strings.HasSuffix(name, "_bidx") {
			continue
		}
		if sqlType == "timestamp with time zone" {
			sqlType = string(Timestamptz) // format_type's long spelling
		}
		c := Column{Name: name, Type: Type(sqlType), Scheme: Scheme(scheme), CEK: cek, Index: indexed}
		if scheme != "" {
			c.Type = Type(dataType)
		}
		if primary {
			t.RowKey = name
		}
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("pgcol: describe %s: %w", table, err)
	}
	if len(t.Columns) == 0 {
		return t, fmt.Errorf("%w: no table %q", ErrSchema, table)
	}
	return t, t.check()
}

// Table returns the handle's table declaration.
func (h *Handle) Table() Table { return h.t }

// reload loads every encrypted column's keys afresh.
func (h *Handle) reload(ctx context.Context) error {
	meta, err := h.metadata(ctx)
	if err != nil {
		return err
	}
	loaded := map[string][]cekValue{}
	load := func(name string) ([]cekValue, error) {
		if v, ok := loaded[name]; ok {
			return v, nil
		}
		v, err := loadCEK(ctx, h.db, h.kms, name)
		if err != nil {
			return nil, err
		}
		loaded[name] = v
		return v, nil
	}
	ciphers := map[string]*cipher{}
	for _, c := range h.t.Columns {
		if !c.encrypted() {
			continue
		}
		m, ok := meta[c.Name]
		if !ok {
			return fmt.Errorf("%w: %s.%s is not recorded as encrypted", ErrSchema, h.t.Name, c.Name)
		}
		if m.scheme != c.Scheme || m.typ != c.Type || m.cek != c.CEK || m.indexed != c.Index {
			return fmt.Errorf("%w: %s.%s is recorded as %s %s under %s (index %t), declared %s %s under %s (index %t)",
				ErrSchema, h.t.Name, c.Name, m.scheme, m.typ, m.cek, m.indexed, c.Scheme, c.Type, c.CEK, c.Index)
		}
		values, err := load(c.CEK)
		if err != nil {
			return err
		}
		ci, err := newCipher(c, newest(values).id, values)
		if err != nil {
			return err
		}
		if c.Index {
			iv, err := load(c.CEK + ".index")
			if err != nil {
				return err
			}
			if ci.index, err = colenc.NewIndexKey(iv[0].secret); err != nil {
				return err
			}
		}
		ciphers[c.Name] = ci
	}
	for _, vs := range loaded {
		for _, v := range vs {
			clear(v.secret)
		}
	}
	h.mu.Lock()
	h.ciphers = ciphers
	h.mu.Unlock()
	return nil
}

type columnMeta struct {
	scheme  Scheme
	typ     Type
	cek     string
	current colenc.KeyID
	indexed bool
}

func (h *Handle) metadata(ctx context.Context) (map[string]columnMeta, error) {
	rows, err := h.db.Query(ctx, `SELECT column_name, scheme, data_type, cek, key_id, index_cek IS NOT NULL FROM cofre_encrypted_columns WHERE table_name = $1`, h.t.Name)
	if err != nil {
		return nil, fmt.Errorf("pgcol: metadata of %s: %w", h.t.Name, err)
	}
	defer rows.Close()
	meta := map[string]columnMeta{}
	for rows.Next() {
		var col, scheme, typ, cek, keyID string
		var indexed bool
		if err := rows.Scan(&col, &scheme, &typ, &cek, &keyID, &indexed); err != nil {
			return nil, fmt.Errorf("pgcol: metadata of %s: %w", h.t.Name, err)
		}
		id, err := parseKeyID(keyID)
		if err != nil {
			return nil, err
		}
		meta[col] = columnMeta{scheme: Scheme(scheme), typ: Type(typ), cek: cek, current: id, indexed: indexed}
	}
	return meta, rows.Err()
}

func (h *Handle) cipher(col string) *cipher {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.ciphers[col]
}

// seal encodes and encrypts the row's encrypted values, and computes blind
// indexes, returning the values COPY or INSERT writes.
func (h *Handle) seal(r Row) ([]any, error) {
	if len(r) != len(h.t.Columns) {
		return nil, fmt.Errorf("%w: %d values for %d columns", ErrValue, len(r), len(h.t.Columns))
	}
	ki, _ := h.t.column(h.t.RowKey)
	if r[ki] == nil {
		return nil, fmt.Errorf("%w: row key %s is NULL", ErrValue, h.t.RowKey)
	}
	rk, err := rowKeyBytes(h.t.RowKey, r[ki])
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(r)+1)
	for i, c := range h.t.Columns {
		v := r[i]
		if !c.encrypted() {
			out = append(out, v)
			continue
		}
		if v == nil {
			out = append(out, nil)
			if c.Index {
				out = append(out, nil)
			}
			continue
		}
		ci := h.cipher(c.Name)
		pt, err := encode(c.Scheme, c.Type, v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		cell, err := ci.seal(pt, colenc.Location{Table: h.t.Name, Column: c.Name, RowKey: rk})
		if err != nil {
			return nil, fmt.Errorf("pgcol: %s.%s: %w", h.t.Name, c.Name, err)
		}
		out = append(out, cell)
		if c.Index {
			out = append(out, colenc.BlindIndex(ci.index, h.t.Name+"."+c.Name, pt))
		}
	}
	return out, nil
}

// storedColumns lists the table's columns as stored, with blind indexes.
func (h *Handle) storedColumns() []string {
	var cols []string
	for _, c := range h.t.Columns {
		cols = append(cols, c.Name)
		if c.Index {
			cols = append(cols, c.Name+"_bidx")
		}
	}
	return cols
}

// CopyFrom writes rows with COPY, sealing each encrypted value for its row,
// column and table on the client. next returns the next row, or false at
// the end. Before it starts, the handle reloads its keys if a newer value
// of a column's key exists (a rotation began), so it seals under it.
//
// The copy runs in a transaction that holds a share lock on the key values
// it seals under, so a rotation cannot retire them until it commits (and
// then finds its cells, and refuses to retire).
func (h *Handle) CopyFrom(ctx context.Context, next func() (Row, bool, error)) (int64, error) {
	if err := h.refreshIfRotated(ctx); err != nil {
		return 0, err
	}
	tx, err := h.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgcol: copy into %s: %w", h.t.Name, err)
	}
	defer tx.Rollback(ctx)
	if ok, err := h.lockKeys(ctx, tx); err != nil {
		return 0, err
	} else if !ok {
		// A key was retired since the handle loaded: load the current
		// ones and lock them instead.
		tx.Rollback(ctx)
		if err := h.reload(ctx); err != nil {
			return 0, err
		}
		if tx, err = h.db.Begin(ctx); err != nil {
			return 0, fmt.Errorf("pgcol: copy into %s: %w", h.t.Name, err)
		}
		defer tx.Rollback(ctx)
		if ok, err := h.lockKeys(ctx, tx); err != nil || !ok {
			return 0, fmt.Errorf("%w: the keys of %s changed during the copy: %v", ErrSchema, h.t.Name, err)
		}
	}
	// pgx reports a source error through the server's COPY failure; the
	// source's own error is kept to return it unwrapped by that.
	var srcErr error
	src := pgx.CopyFromFunc(func() ([]any, error) {
		r, ok, err := next()
		if err == nil && ok {
			var row []any
			if row, err = h.seal(r); err == nil {
				return row, nil
			}
		}
		srcErr = err
		return nil, err
	})
	n, err := tx.CopyFrom(ctx, pgx.Identifier{h.t.Name}, h.storedColumns(), src)
	if srcErr != nil {
		return 0, srcErr
	}
	if err != nil {
		return n, fmt.Errorf("pgcol: copy into %s: %w", h.t.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("pgcol: copy into %s: %w", h.t.Name, err)
	}
	return n, nil
}

// lockKeys takes a share lock on the key value each encrypted column seals
// under; false if one of them no longer exists.
func (h *Handle) lockKeys(ctx context.Context, tx pgx.Tx) (bool, error) {
	for _, c := range h.t.Columns {
		if !c.encrypted() {
			continue
		}
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM cofre_column_encryption_keys WHERE name = $1 AND key_id = $2 FOR KEY SHARE`, c.CEK, h.cipher(c.Name).current.String()).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("pgcol: lock keys of %s: %w", h.t.Name, err)
		}
	}
	return true, nil
}

// CopyRows writes rows with COPY (see CopyFrom).
func (h *Handle) CopyRows(ctx context.Context, rows []Row) (int64, error) {
	i := 0
	return h.CopyFrom(ctx, func() (Row, bool, error) {
		if i == len(rows) {
			return nil, false, nil
		}
		i++
		return rows[i-1], true, nil
	})
}

// refreshIfRotated reloads the keys when a column's CEK has a newer value
// than the one the handle seals with. The database's word only triggers
// the reload; the reload authenticates what it loads.
func (h *Handle) refreshIfRotated(ctx context.Context) error {
	for _, c := range h.t.Columns {
		if !c.encrypted() {
			continue
		}
		var newestID string
		err := h.db.QueryRow(ctx, `SELECT key_id FROM cofre_column_encryption_keys WHERE name = $1 ORDER BY created DESC, key_id DESC LIMIT 1`, c.CEK).Scan(&newestID)
		if err != nil {
			return fmt.Errorf("pgcol: keys of %s: %w", h.t.Name, err)
		}
		if ci := h.cipher(c.Name); ci != nil && ci.current.String() != newestID {
			return h.reload(ctx)
		}
	}
	return nil
}

// Each reads every row in row-key order and calls fn with it decrypted.
// A cell that does not authenticate for the row, column and table it was
// read from (moved, tampered, wrong key) stops the read with an error
// wrapping colenc.ErrAuthentication. A cell under a key the handle does not
// hold yet (a rotation started after it loaded) makes it reload its keys
// once and retry that cell: readers keep working through a rotation.
func (h *Handle) Each(ctx context.Context, fn func(Row) error) error {
	return h.query(ctx, "", nil, fn)
}

// Select returns every row (see Each).
func (h *Handle) Select(ctx context.Context) ([]Row, error) {
	var out []Row
	err := h.Each(ctx, func(r Row) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// Lookup returns the rows whose column equals value: through the blind
// index of an indexed cofre-v2 column, or by ciphertext for an
// ae-deterministic column (under each key the column holds, so lookups
// keep working during a rotation). Other columns are refused.
func (h *Handle) Lookup(ctx context.Context, column string, value any) ([]Row, error) {
	_, c := h.t.column(column)
	if c == nil || !c.encrypted() || !(c.Index || c.Scheme == SchemeAEDeterministic) {
		return nil, fmt.Errorf("%w: %s.%s is not searchable (an indexed %s or an %s column)", ErrSchema, h.t.Name, column, SchemeV2, SchemeAEDeterministic)
	}
	pt, err := encode(c.Scheme, c.Type, value)
	if err != nil {
		return nil, err
	}
	if err := h.refreshIfRotated(ctx); err != nil {
		return nil, err
	}
	ci := h.cipher(column)
	var where string
	var probes [][]byte
	if c.Index {
		where = pgx.Identifier{column + "_bidx"}.Sanitize() + " = ANY($1)"
		probes = [][]byte{colenc.BlindIndex(ci.index, h.t.Name+"."+column, pt)}
	} else {
		where = pgx.Identifier{column}.Sanitize() + " = ANY($1)"
		for _, k := range ci.ae {
			cell, err := k.aead.Encrypt(pt, true)
			if err != nil {
				return nil, err
			}
			probes = append(probes, cell)
		}
	}
	ci2, _ := h.t.column(column)
	var out []Row
	err = h.query(ctx, where, []any{probes}, func(r Row) error {
		// The index and deterministic cells are the database's to edit:
		// a row is returned only if its authenticated value is the one
		// searched for.
		got, err := encode(c.Scheme, c.Type, r[ci2])
		if r[ci2] == nil || err != nil || !bytes.Equal(got, pt) {
			return fmt.Errorf("pgcol: %s.%s lookup: a row the index matched holds another value (index tampered): %w", h.t.Name, column, colenc.ErrAuthentication)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func (h *Handle) query(ctx context.Context, where string, args []any, fn func(Row) error) error {
	var sel []string
	for _, c := range h.t.Columns {
		sel = append(sel, pgx.Identifier{c.Name}.Sanitize())
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + pgx.Identifier{h.t.Name}.Sanitize()
	if where != "" {
		q += " WHERE " + where
	}
	q += " ORDER BY " + pgx.Identifier{h.t.RowKey}.Sanitize()
	rows, err := h.db.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("pgcol: select from %s: %w", h.t.Name, err)
	}
	defer rows.Close()
	ki, _ := h.t.column(h.t.RowKey)
	reloaded := false // at most one key reload per query: a DBA's bad cells must not flood the KMS
	// Scan targets, reused for every row: plain columns decode as pgx's
	// default Go types; encrypted cells stay in the driver's buffer
	// (DriverBytes, valid until the next row) — open copies what it keeps.
	plain := make([]any, len(h.t.Columns))
	cells := make([]pgtype.DriverBytes, len(h.t.Columns))
	dest := make([]any, len(h.t.Columns))
	for i, c := range h.t.Columns {
		if c.encrypted() {
			dest[i] = &cells[i]
		} else {
			dest[i] = &plain[i]
		}
	}
	for rows.Next() {
		clear(plain)
		clear(cells)
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("pgcol: %w", err)
		}
		rk, err := rowKeyBytes(h.t.RowKey, normalize(plain[ki]))
		if err != nil {
			return err
		}
		r := make(Row, len(h.t.Columns))
		for i, c := range h.t.Columns {
			if !c.encrypted() {
				r[i] = normalize(plain[i])
				continue
			}
			if cells[i] == nil {
				continue // NULL
			}
			v, err := h.open(ctx, c, cells[i], rk, &reloaded)
			if err != nil {
				// The row key is the table's, not a secret; the value is
				// not named.
				return fmt.Errorf("pgcol: %s.%s, row %q: %w", h.t.Name, c.Name, rk, err)
			}
			r[i] = v
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// open decrypts and decodes one cell, reloading keys once if the cell
// names a key the handle does not hold.
func (h *Handle) open(ctx context.Context, c Column, cell, rowKey []byte, reloaded *bool) (any, error) {
	loc := colenc.Location{Table: h.t.Name, Column: c.Name, RowKey: rowKey}
	pt, err := h.cipher(c.Name).open(cell, loc)
	if !*reloaded && (errors.Is(err, colenc.ErrUnknownKey) || (err != nil && c.Scheme != SchemeV2)) {
		*reloaded = true
		// A reload needs its own connection: this one is streaming rows.
		if rerr := h.reload(ctx); rerr != nil {
			return nil, rerr
		}
		pt, err = h.cipher(c.Name).open(cell, loc)
	}
	if err != nil {
		return nil, err
	}
	return decode(c.Scheme, c.Type, pt)
}

// normalize turns what pgx returns for plain columns into the Go types
// Row documents (pgx gives dates and timestamps as time.Time already).
func normalize(v any) any {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v
}
