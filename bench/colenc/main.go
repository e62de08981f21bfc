// Command colenc measures column encryption, in one run:
//
//	bench/colenc/run.sh [-rows 1000000] [-runs 5]
//
// Cells: rows/s to seal and open a 24-byte text value with cofre-v2
// (AES-256-GCM, associated data binding table/column/row) and Always
// Encrypted (AES-256-CBC + HMAC-SHA-256, deterministic and randomized),
// one core.
//
// PostgreSQL: COPY of -rows rows (a text row key, a text ward, a text
// diagnosis and a double score) into a fresh table, plaintext (pgx
// CopyFrom, the baseline) against pgcol with the diagnosis and score
// encrypted (cofre-v2), then reading every row back (SELECT) both ways.
// Each figure is the median of -runs runs, the baseline measured in the
// same run, and the ratio is encrypted/plaintext time.
//
// The column key is wrapped by an in-memory KMS (pme.MemoryKMS): the
// coordinator's KMS would add one round trip per key load, not per row.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cofre-cc/cofre/analytics/pme"
	"github.com/cofre-cc/cofre/colenc"
	"github.com/cofre-cc/cofre/colenc/pgcol"
)

func main() {
	dsn := flag.String("db", "", "PostgreSQL URL of a scratch database (run.sh starts one)")
	rows := flag.Int("rows", 1_000_000, "rows per COPY")
	cells := flag.Int("cells", 1_000_000, "cells per cell benchmark")
	runs := flag.Int("runs", 5, "runs per figure (the median is reported)")
	flag.Parse()
	cellBench(*cells, *runs)
	if *dsn != "" {
		copyBench(*dsn, *rows, *runs)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func timeIt(runs int, f func()) time.Duration {
	var ds []time.Duration
	for range runs {
		start := time.Now()
		f()
		ds = append(ds, time.Since(start))
	}
	return median(ds)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func cellBench(n, runs int) {
	secret := make([]byte, 32)
	rand.Read(secret)
	var id colenc.KeyID
	rand.Read(id[:])
	v2, err := colenc.NewKey(id, secret)
	must(err)
	ae, err := colenc.NewAEAD(secret)
	must(err)
	value := []byte("PHI-DIAGNOSIS-0000000001")
	loc := colenc.Location{Table: "results", Column: "diagnosis", RowKey: []byte("p0000000001")}
	fmt.Printf("## Cells (%d cells of %d bytes, one core, median of %d)\n\n| scheme | seal cells/s | open cells/s |\n|---|---:|---:|\n", n, len(value), runs)
	cellV2, _ := v2.Seal(value, loc)
	cellDet, _ := ae.Encrypt(value, true)
	cellRnd, _ := ae.Encrypt(value, false)
	for _, c := range []struct {
		name       string
		seal, open func() error
	}{
		{"cofre-v2 (AES-256-GCM)", func() error { _, err := v2.Seal(value, loc); return err }, func() error { _, err := v2.Open(cellV2, loc); return err }},
		{"ae-deterministic (CBC+HMAC)", func() error { _, err := ae.Encrypt(value, true); return err }, func() error { _, err := ae.Decrypt(cellDet); return err }},
		{"ae-randomized (CBC+HMAC)", func() error { _, err := ae.Encrypt(value, false); return err }, func() error { _, err := ae.Decrypt(cellRnd); return err }},
	} {
		loop := func(f func() error) func() {
			return func() {
				for range n {
					must(f())
				}
			}
		}
		s := timeIt(runs, loop(c.seal))
		o := timeIt(runs, loop(c.open))
		fmt.Printf("| %s | %.2f M | %.2f M |\n", c.name, float64(n)/s.Seconds()/1e6, float64(n)/o.Seconds()/1e6)
	}
	fmt.Println()
}

type memKMS struct{ m *pme.MemoryKMS }

func (k memKMS) Wrap(ctx context.Context, cmk string, cek []byte) ([]byte, error) {
	s, err := k.m.WrapKey(ctx, cek, cmk)
	return []byte(s), err
}

func (k memKMS) Unwrap(ctx context.Context, cmk string, w []byte) ([]byte, error) {
	return k.m.UnwrapKey(ctx, string(w), cmk)
}

func copyBench(dsn string, n, runs int) {
	ctx := context.Background()
	db, err := pgxpool.New(ctx, dsn)
	must(err)
	defer db.Close()
	master := make([]byte, 32)
	rand.Read(master)
	m, err := pme.NewMemoryKMS(map[string][]byte{"bench": master})
	must(err)
	kms := memKMS{m}
	must(pgcol.Init(ctx, db))
	must(pgcol.CreateCMK(ctx, db, "bench"))

	plainRows := make([][]any, n)
	encRows := make([]pgcol.Row, n)
	for i := range n {
		key, diag, score := fmt.Sprintf("p%010d", i), fmt.Sprintf("PHI-DIAGNOSIS-%010d", i), float64(i)/7
		plainRows[i] = []any{key, "ward-7", diag, score}
		encRows[i] = pgcol.Row{key, "ward-7", diag, score}
	}
	tbl := pgcol.Table{Name: "enc", RowKey: "patient", Columns: []pgcol.Column{
		{Name: "patient", Type: pgcol.Text}, {Name: "ward", Type: pgcol.Text},
		{Name: "diagnosis", Type: pgcol.Text, Scheme: pgcol.SchemeV2, CEK: "bench-cek"},
		{Name: "score", Type: pgcol.Double, Scheme: pgcol.SchemeV2, CEK: "bench-cek"},
	}}
	reset := func() {
		_, err := db.Exec(ctx, "DROP TABLE IF EXISTS plain; DROP TABLE IF EXISTS enc; DELETE FROM cofre_encrypted_columns; DELETE FROM cofre_column_encryption_keys")
		must(err)
		_, err = db.Exec(ctx, "CREATE TABLE plain (patient text PRIMARY KEY, ward text, diagnosis text, score double precision)")
		must(err)
	}
	var h *pgcol.Handle
	var copyPlain, copyEnc, readPlain, readEnc []time.Duration
	for range runs {
		reset()
		h, err = pgcol.Create(ctx, db, kms, tbl, pgcol.CreateOptions{CMK: "bench"})
		must(err)
		start := time.Now()
		_, err = db.CopyFrom(ctx, pgx.Identifier{"plain"}, []string{"patient", "ward", "diagnosis", "score"}, pgx.CopyFromRows(plainRows))
		must(err)
		copyPlain = append(copyPlain, time.Since(start))
		start = time.Now()
		_, err = h.CopyRows(ctx, encRows)
		must(err)
		copyEnc = append(copyEnc, time.Since(start))
		for _, t := range []string{"plain", "enc"} {
			_, err = db.Exec(ctx, "VACUUM ANALYZE "+t)
			must(err)
		}

		start = time.Now()
		got := 0
		rs, err := db.Query(ctx, "SELECT patient, ward, diagnosis, score FROM plain ORDER BY patient")
		must(err)
		for rs.Next() {
			var k, w, d string
			var s float64
			must(rs.Scan(&k, &w, &d, &s))
			got++
		}
		must(rs.Err())
		readPlain = append(readPlain, time.Since(start))
		start = time.Now()
		got2 := 0
		must(h.Each(ctx, func(pgcol.Row) error { got2++; return nil }))
		readEnc = append(readEnc, time.Since(start))
		if got != n || got2 != n {
			log.Fatalf("read %d and %d rows, want %d", got, got2, n)
		}
	}
	fmt.Printf("## PostgreSQL (%d rows; diagnosis and score encrypted, cofre-v2; median of %d)\n\n", n, runs)
	fmt.Println("| operation | plaintext | encrypted | plaintext rows/s | encrypted rows/s | ratio |\n|---|---:|---:|---:|---:|---:|")
	for _, r := range []struct {
		name       string
		plain, enc []time.Duration
	}{{"COPY in", copyPlain, copyEnc}, {"SELECT all", readPlain, readEnc}} {
		p, e := median(r.plain), median(r.enc)
		fmt.Printf("| %s | %.2f s | %.2f s | %.0f k | %.0f k | %.2f× |\n", r.name, p.Seconds(), e.Seconds(), float64(n)/p.Seconds()/1e3, float64(n)/e.Seconds()/1e3, e.Seconds()/p.Seconds())
	}
}
