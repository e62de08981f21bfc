package pgcol

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cofre-cc/cofre/colenc"
)

// RotateOptions tune a rotation.
type RotateOptions struct {
	// Batch is how many rows one transaction re-encrypts (DefaultBatch).
	Batch int
	// CMK wraps the new CEK value; empty keeps the current value's CMK.
	CMK string
	// Retire deletes the old CEK values once no cell of any column using
	// the CEK is sealed under them.
	Retire bool
	// Progress, if set, is called after each batch with the rows rewritten
	// so far.
	Progress func(rewritten int64)
}

// RotateStats report a rotation.
type RotateStats struct {
	NewKey    colenc.KeyID
	Rewritten int64 // cells re-encrypted
	Retired   int   // old CEK values deleted
}

// Rotate re-encrypts the columns of t that use column's CEK to a new value
// of that CEK, online:
//
//  1. a new CEK value is generated and recorded as the column's current key:
//     writers that open (or refresh) from then on seal under it;
//  2. rows are read in row-key order, Batch at a time, and each cell still
//     under an old key is re-sealed under the new one, in one transaction
//     per batch that updates a cell only if it still holds the ciphertext
//     that was read (a concurrent write wins, and the next pass sees it);
//  3. passes repeat until no cell is under an old key;
//  4. with Retire, the old values are deleted, after checking every column
//     that uses the CEK.
//
// Readers keep working throughout: a reader whose keys predate the rotation
// meets a cell under the new key, reloads its keys and carries on (Each).
// Rotate is idempotent: run again after an interruption, it continues.
func Rotate(ctx context.Context, db *pgxpool.Pool, kms KMS, t Table, column string, opts RotateOptions) (RotateStats, error) {
	var st RotateStats
	batch := opts.Batch
	if batch == 0 {
		batch = DefaultBatch
	}
	if batch < 1 || batch > MaxBatch {
		return st, fmt.Errorf("%w: batch %d outside 1..%d", ErrSchema, batch, MaxBatch)
	}
	_, c := t.column(column)
	if c == nil || !c.encrypted() {
		return st, fmt.Errorf("%w: %s.%s is not an encrypted column", ErrSchema, t.Name, column)
	}
	h, err := Open(ctx, db, kms, t)
	if err != nil {
		return st, err
	}
	cmk := opts.CMK
	if cmk == "" {
		// The current value's master key, as its authenticated metadata
		// says (not as the database's tables say).
		values, err := loadCEK(ctx, db, kms, c.CEK)
		if err != nil {
			return st, err
		}
		cmk = newest(values).cmk
		for _, v := range values {
			clear(v.secret)
		}
	}
	if st.NewKey, err = NewCEK(ctx, db, kms, c.CEK, cmk); err != nil {
		return st, err
	}
	// Every column sharing the CEK, in any table, moves to the new value: a
	// CEK value is current for all its columns or none. Other tables'
	// cells stay under the old value until they are rotated too (retiring
	// refuses until then).
	if _, err := db.Exec(ctx, `UPDATE cofre_encrypted_columns SET key_id = $1 WHERE cek = $2`, st.NewKey.String(), c.CEK); err != nil {
		return st, fmt.Errorf("pgcol: rotate: %w", err)
	}
	if err := h.reload(ctx); err != nil {
		return st, err
	}
	_, key := t.column(t.RowKey)
	for i, other := range t.Columns {
		if other.CEK != c.CEK || !other.encrypted() {
			continue
		}
		for {
			n, err := h.rewritePass(ctx, i, key.Type, batch, &st, opts.Progress)
			if err != nil {
				return st, err
			}
			if n == 0 {
				break
			}
		}
	}
	if opts.Retire {
		retired, err := retire(ctx, db, kms, c.CEK, st.NewKey)
		st.Retired = retired
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// rewritePass walks the table once and re-seals every cell of column ci
// not under the current key; it returns how many it found.
func (h *Handle) rewritePass(ctx context.Context, ci int, keyType Type, batch int, st *RotateStats, progress func(int64)) (int64, error) {
	c := h.t.Columns[ci]
	tbl := pgx.Identifier{h.t.Name}.Sanitize()
	col := pgx.Identifier{c.Name}.Sanitize()
	rk := pgx.Identifier{h.t.RowKey}.Sanitize()
	var found int64
	var last any
	for {
		q := fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s IS NOT NULL", rk, col, tbl, col)
		args := []any{batch}
		if last != nil {
			q += fmt.Sprintf(" AND %s > $2", rk)
			args = append(args, last)
		}
		q += fmt.Sprintf(" ORDER BY %s LIMIT $1", rk)
		rows, err := h.db.Query(ctx, q, args...)
		if err != nil {
			return found, fmt.Errorf("pgcol: rotate: read %s: %w", h.t.Name, err)
		}
		var keys []any
		var olds, news [][]byte
		n := 0
		for rows.Next() {
			n++
			var k any
			var cell []byte
			if err := rows.Scan(&k, &cell); err != nil {
				rows.Close()
				return found, fmt.Errorf("pgcol: rotate: %w", err)
			}
			last = normalize(k)
			ci := h.cipher(c.Name)
			id, err := ci.keyOf(cell)
			if err != nil {
				rows.Close()
				return found, fmt.Errorf("pgcol: rotate: %s.%s, row %v: %w", h.t.Name, c.Name, last, err)
			}
			if id == ci.current {
				continue
			}
			rkb, err := rowKeyBytes(h.t.RowKey, last)
			if err != nil {
				rows.Close()
				return found, err
			}
			loc := colenc.Location{Table: h.t.Name, Column: c.Name, RowKey: rkb}
			pt, err := ci.open(cell, loc)
			if err != nil {
				rows.Close()
				return found, fmt.Errorf("pgcol: rotate: %s.%s, row %v: %w", h.t.Name, c.Name, last, err)
			}
			fresh, err := ci.seal(pt, loc)
			clear(pt)
			if err != nil {
				rows.Close()
				return found, err
			}
			keys, olds, news = append(keys, last), append(olds, cell), append(news, fresh)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return found, fmt.Errorf("pgcol: rotate: %w", err)
		}
		found += int64(len(keys))
		if len(keys) > 0 {
			// Compare-and-swap per cell: a row written since the read keeps
			// its new value (the next pass re-checks it).
			keyArray := "text[]"
			if keyType == BigInt {
				keyArray = "bigint[]"
			}
			upd := fmt.Sprintf(`UPDATE %s AS t SET %s = v.new FROM unnest($1::%s, $2::bytea[], $3::bytea[]) AS v(k, old, new)
				WHERE t.%s = v.k AND t.%s = v.old`, tbl, col, keyArray, rk, col)
			tag, err := h.db.Exec(ctx, upd, keys, olds, news)
			if err != nil {
				return found, fmt.Errorf("pgcol: rotate: write %s: %w", h.t.Name, err)
			}
			st.Rewritten += tag.RowsAffected()
			if progress != nil {
				progress(st.Rewritten)
			}
		}
		if n < batch {
			return found, nil
		}
	}
}

// retire deletes every value of a CEK but keep, after checking that no
// cell of any column using the CEK is sealed under them.
func retire(ctx context.Context, db *pgxpool.Pool, kms KMS, cek string, keep colenc.KeyID) (int, error) {
	rows, err := db.Query(ctx, `SELECT table_name, column_name, scheme FROM cofre_encrypted_columns WHERE cek = $1`, cek)
	if err != nil {
		return 0, fmt.Errorf("pgcol: retire: %w", err)
	}
	type use struct{ table, column, scheme string }
	var uses []use
	for rows.Next() {
		var u use
		if err := rows.Scan(&u.table, &u.column, &u.scheme); err != nil {
			rows.Close()
			return 0, fmt.Errorf("pgcol: retire: %w", err)
		}
		uses = append(uses, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("pgcol: retire: %w", err)
	}
	// Always Encrypted cells name no key: they are checked by opening them
	// with the kept value.
	var keepAE *colenc.AEAD
	for _, u := range uses {
		if Scheme(u.scheme) != SchemeV2 && keepAE == nil {
			values, err := loadCEK(ctx, db, kms, cek)
			if err != nil {
				return 0, err
			}
			for _, v := range values {
				if v.id == keep {
					keepAE, err = colenc.NewAEAD(v.secret)
				}
				clear(v.secret)
			}
			if err != nil {
				return 0, err
			}
			if keepAE == nil {
				return 0, fmt.Errorf("%w: kept key %s is not a value of %q", ErrSchema, keep, cek)
			}
		}
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgcol: retire: %w", err)
	}
	defer tx.Rollback(ctx)
	// Delete first: the delete waits for writers that hold a share lock on
	// an old value (CopyFrom), so the cells they wrote are visible to the
	// count below, which undoes the delete if any cell is still stale.
	tag, err := tx.Exec(ctx, `DELETE FROM cofre_column_encryption_keys WHERE name = $1 AND key_id <> $2`, cek, keep.String())
	if err != nil {
		return 0, fmt.Errorf("pgcol: retire: %w", err)
	}
	for _, u := range uses {
		var stale int64
		tbl, col := pgx.Identifier{u.table}.Sanitize(), pgx.Identifier{u.column}.Sanitize()
		if Scheme(u.scheme) == SchemeV2 {
			// The key ID is in clear at bytes 2..17 of a v2 cell.
			err = tx.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NOT NULL AND substring(%s from 2 for 16) <> $1", tbl, col, col), keep[:]).Scan(&stale)
		} else {
			stale, err = staleAE(ctx, tx, keepAE, tbl, col)
		}
		if err != nil {
			return 0, fmt.Errorf("pgcol: retire: %w", err)
		}
		if stale > 0 {
			return 0, fmt.Errorf("%w: %s.%s still has %d cells under an old value of %q: not retired", ErrSchema, u.table, u.column, stale, cek)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("pgcol: retire: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func staleAE(ctx context.Context, tx pgx.Tx, keep *colenc.AEAD, tbl, col string) (int64, error) {
	rows, err := tx.Query(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE %s IS NOT NULL", col, tbl, col))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var stale int64
	for rows.Next() {
		var cell []byte
		if err := rows.Scan(&cell); err != nil {
			return 0, err
		}
		if _, err := keep.Decrypt(cell); err != nil {
			stale++
		}
	}
	return stale, rows.Err()
}
