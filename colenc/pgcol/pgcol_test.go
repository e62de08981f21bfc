package pgcol

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cofre-cc/cofre/analytics/pme"
	"github.com/cofre-cc/cofre/colenc"
	"github.com/cofre-cc/cofre/internal/pgtest"
)

// memKMS is analytics/pme's in-memory KMS (parquet-java's InMemoryKMS
// format: AES-GCM with the master key's name as associated data) behind
// the KMS interface; the coordinator's KMS is exercised end to end in
// test/e2e.
type memKMS struct {
	m     *pme.MemoryKMS
	calls atomic.Int64
}

func newKMS(t *testing.T, names ...string) *memKMS {
	t.Helper()
	keys := map[string][]byte{}
	for _, n := range names {
		k := make([]byte, 32)
		rand.Read(k)
		keys[n] = k
	}
	m, err := pme.NewMemoryKMS(keys)
	if err != nil {
		t.Fatal(err)
	}
	return &memKMS{m: m}
}

func (k *memKMS) Wrap(ctx context.Context, cmk string, cek []byte) ([]byte, error) {
	k.calls.Add(1)
	s, err := k.m.WrapKey(ctx, cek, cmk)
	return []byte(s), err
}

func (k *memKMS) Unwrap(ctx context.Context, cmk string, wrapped []byte) ([]byte, error) {
	k.calls.Add(1)
	return k.m.UnwrapKey(ctx, string(wrapped), cmk)
}

type fixture struct {
	srv *pgtest.Server
	db  *pgxpool.Pool
	kms *memKMS
}

func setup(t *testing.T) *fixture {
	t.Helper()
	srv := pgtest.Start(t)
	db, err := pgxpool.New(context.Background(), srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	f := &fixture{srv: srv, db: db, kms: newKMS(t, "cmk-1", "cmk-2")}
	if err := Init(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"cmk-1", "cmk-2"} {
		if err := CreateCMK(context.Background(), db, n); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// results is a table with every scheme and several types.
var results = Table{Name: "results", RowKey: "patient", Columns: []Column{
	{Name: "patient", Type: Text},
	{Name: "ward", Type: Text},
	{Name: "diagnosis", Type: Text, Scheme: SchemeV2, CEK: "cek-diag", Index: true},
	{Name: "score", Type: Double, Scheme: SchemeV2, CEK: "cek-diag"},
	{Name: "seen", Type: Timestamptz, Scheme: SchemeV2, CEK: "cek-diag"},
	{Name: "mrn", Type: Text, Scheme: SchemeAEDeterministic, CEK: "cek-ae"},
	{Name: "visits", Type: BigInt, Scheme: SchemeAERandomized, CEK: "cek-ae"},
}}

// marker is recognisable plaintext: any copy of it on disk is a leak.
func marker(i int) string { return fmt.Sprintf("PHI-DIAGNOSIS-%06d", i) }
func mrn(i int) string    { return fmt.Sprintf("MRN%07d", i) }

func row(i int) Row {
	return Row{fmt.Sprintf("p%05d", i), "w1", marker(i), float64(i) / 4, time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), mrn(i), int64(i)}
}

func fill(t *testing.T, f *fixture, n int) *Handle {
	t.Helper()
	ctx := context.Background()
	h, err := Create(ctx, f.db, f.kms, results, CreateOptions{CMK: "cmk-1"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for i := range n {
		rows = append(rows, row(i))
	}
	if got, err := h.CopyRows(ctx, rows); err != nil || got != int64(n) {
		t.Fatalf("copy: %d, %v", got, err)
	}
	return h
}

func checkRows(t *testing.T, got []Row, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	for i, r := range got {
		want := row(i)
		for j := range want {
			if fmt.Sprint(r[j]) != fmt.Sprint(want[j]) {
				t.Fatalf("row %d column %s: %v, want %v", i, results.Columns[j].Name, r[j], want[j])
			}
		}
	}
}

// TestRoundTripAndNoPlaintext: rows written through pgcol read back
// exactly, in every scheme; after a checkpoint no byte of the server's data
// directory or WAL holds an encrypted column's plaintext; the metadata holds
// wrapped keys and key IDs, and no key.
func TestRoundTripAndNoPlaintext(t *testing.T) {
	f := setup(t)
	h := fill(t, f, 1000)
	got, err := h.Select(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, got, 1000)
	if _, err := f.db.Exec(context.Background(), "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	needles := [][]byte{[]byte("PHI-DIAGNOSIS-"), []byte("MRN00"), utf16le("MRN00")}
	filepath.WalkDir(f.srv.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("plaintext %q of an encrypted column in %s", n, p)
			}
		}
		return nil
	})
}

func utf16le(s string) []byte {
	var b []byte
	for _, c := range s {
		b = append(b, byte(c), 0)
	}
	return b
}

// TestMovedCells: a DBA who copies one patient's cofre-v2 ciphertext into
// another's row or column gets an error for the reader, not data; the same
// with an Always Encrypted cell goes unnoticed (the weakness v2 fixes).
func TestMovedCells(t *testing.T) {
	f := setup(t)
	h := fill(t, f, 3)
	ctx := context.Background()
	for _, tc := range []struct {
		name, sql string
		refused   bool
	}{
		{"v2 row swap", "UPDATE results SET diagnosis = (SELECT diagnosis FROM results WHERE patient='p00001') WHERE patient='p00000'", true},
		{"v2 column swap", "UPDATE results SET score = seen WHERE patient='p00002'", true},
		{"v2 flipped byte", "UPDATE results SET diagnosis = set_byte(diagnosis, 30, get_byte(diagnosis, 30) # 1) WHERE patient='p00001'", true},
		{"v2 key id relabelled", "UPDATE results SET diagnosis = set_byte(diagnosis, 3, get_byte(diagnosis, 3) # 1) WHERE patient='p00001'", true},
		{"ae flipped byte", "UPDATE results SET mrn = set_byte(mrn, 40, get_byte(mrn, 40) # 1) WHERE patient='p00001'", true},
		{"ae row swap (undetectable)", "UPDATE results SET mrn = (SELECT mrn FROM results WHERE patient='p00001') WHERE patient='p00000'", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.db.Exec(ctx, "BEGIN; CREATE TABLE backup AS SELECT * FROM results; COMMIT"); err != nil {
				t.Fatal(err)
			}
			defer f.db.Exec(ctx, "BEGIN; DELETE FROM results; INSERT INTO results SELECT * FROM backup; DROP TABLE backup; COMMIT")
			if _, err := f.db.Exec(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			got, err := h.Select(ctx)
			if !tc.refused {
				if err != nil {
					t.Fatal(err)
				}
				if got[0][5] != mrn(1) {
					t.Fatalf("the swapped AE cell reads %v", got[0][5])
				}
				return
			}
			if !errors.Is(err, colenc.ErrAuthentication) && !errors.Is(err, colenc.ErrUnknownKey) {
				t.Fatalf("got %v, want a refusal", err)
			}
		})
	}
}

// TestKeyRefusals: another KMS (another master key under the same name)
// cannot unwrap the CEKs; CEK values swapped or relabelled by a DBA fail
// their metadata MAC; a declaration that disagrees with the recorded
// metadata is refused.
func TestKeyRefusals(t *testing.T) {
	f := setup(t)
	fill(t, f, 2)
	ctx := context.Background()
	if _, err := Open(ctx, f.db, newKMS(t, "cmk-1"), results); err == nil {
		t.Fatal("another KMS's master key opened the table")
	}
	for _, tc := range []struct{ name, sql string }{
		{"values swapped", `UPDATE cofre_column_encryption_keys a SET encrypted_value = b.encrypted_value, mac = b.mac
			FROM cofre_column_encryption_keys b WHERE a.name = 'cek-diag' AND b.name = 'cek-ae'`},
		{"mac edited", `UPDATE cofre_column_encryption_keys SET mac = set_byte(mac, 0, get_byte(mac, 0) # 1) WHERE name = 'cek-ae'`},
		{"key id relabelled", `UPDATE cofre_column_encryption_keys SET key_id = 'colkey:' || repeat('ab', 16) WHERE name = 'cek-ae';
			UPDATE cofre_encrypted_columns SET key_id = 'colkey:' || repeat('ab', 16) WHERE cek = 'cek-ae'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			fill(t, f, 1)
			if _, err := f.db.Exec(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(ctx, f.db, f.kms, results); !errors.Is(err, colenc.ErrAuthentication) {
				t.Fatalf("got %v, want ErrAuthentication", err)
			}
		})
	}

	f3 := setup(t)
	fill(t, f3, 1)
	for name, mutate := range map[string]func(*Table){
		"scheme":  func(t *Table) { t.Columns[5].Scheme = SchemeAERandomized },
		"type":    func(t *Table) { t.Columns[3].Type = BigInt },
		"cek":     func(t *Table) { t.Columns[2].CEK = "cek-ae" },
		"index":   func(t *Table) { t.Columns[2].Index = false },
		"unknown": func(t *Table) { t.Columns[1] = Column{Name: "ward", Type: Text, Scheme: SchemeV2, CEK: "cek-diag"} },
	} {
		tbl := results
		tbl.Columns = append([]Column(nil), results.Columns...)
		mutate(&tbl)
		if _, err := Open(ctx, f3.db, f3.kms, tbl); !errors.Is(err, ErrSchema) {
			t.Errorf("declared %s differs: %v, want ErrSchema", name, err)
		}
	}
	if _, err := f3.db.Exec(ctx, `UPDATE cofre_encrypted_columns SET scheme = 'ae-randomized' WHERE column_name = 'mrn'`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, f3.db, f3.kms, results); !errors.Is(err, ErrSchema) {
		t.Errorf("metadata edited by a DBA: %v, want ErrSchema", err)
	}
}

// TestLookup finds rows by an indexed v2 column and by a deterministic AE
// column, without decrypting the table.
func TestLookup(t *testing.T) {
	f := setup(t)
	h := fill(t, f, 50)
	ctx := context.Background()
	for _, tc := range []struct {
		col  string
		val  any
		want string
	}{
		{"diagnosis", marker(17), "p00017"},
		{"mrn", mrn(33), "p00033"},
	} {
		got, err := h.Lookup(ctx, tc.col, tc.val)
		if err != nil || len(got) != 1 || got[0][0] != tc.want {
			t.Errorf("lookup %s: %v, %v", tc.col, got, err)
		}
	}
	if got, err := h.Lookup(ctx, "diagnosis", "absent"); err != nil || len(got) != 0 {
		t.Errorf("absent value: %v, %v", got, err)
	}
	for _, col := range []string{"score", "visits", "ward", "nope"} {
		if _, err := h.Lookup(ctx, col, "x"); !errors.Is(err, ErrSchema) {
			t.Errorf("lookup on %s: %v, want ErrSchema", col, err)
		}
	}
	if _, err := h.Lookup(ctx, "diagnosis", int64(3)); !errors.Is(err, ErrValue) {
		t.Errorf("lookup with a wrong type: %v, want ErrValue", err)
	}
}

// TestRotateOnline rotates both CEKs while a reader reads the whole table
// again and again and a writer adds rows: the reader never fails, every
// cell ends under the new key, lookups still work, and the old values are
// retired.
func TestRotateOnline(t *testing.T) {
	f := setup(t)
	const n = 3000
	h := fill(t, f, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The reader opened before the rotation: its keys are the old ones.
	reader, err := Open(ctx, f.db, f.kms, results)
	if err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int64
	var wg sync.WaitGroup
	readErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			got, err := reader.Select(ctx)
			if ctx.Err() != nil {
				return
			}
			if err == nil && len(got) < n {
				err = fmt.Errorf("%d rows", len(got))
			}
			if err != nil {
				readErr <- err
				return
			}
			reads.Add(1)
		}
	}()
	// A writer with its own handle keeps adding rows.
	wg.Add(1)
	go func() {
		defer wg.Done()
		w, err := Open(ctx, f.db, f.kms, results)
		if err != nil {
			readErr <- err
			return
		}
		for i := n; ctx.Err() == nil && i < n+20; i++ {
			if _, err := w.CopyRows(ctx, []Row{row(i)}); err != nil && ctx.Err() == nil {
				readErr <- err
				return
			}
		}
	}()

	var stats []RotateStats
	for _, col := range []string{"diagnosis", "mrn"} {
		st, err := Rotate(context.Background(), f.db, f.kms, results, col, RotateOptions{Batch: 256, CMK: "cmk-2", Retire: false})
		if err != nil {
			t.Fatal(err)
		}
		stats = append(stats, st)
	}
	// Let the reader complete one full read after the rotation.
	for start := reads.Load(); reads.Load() < start+2; runtime.Gosched() {
		select {
		case err := <-readErr:
			t.Fatalf("reader or writer failed during the rotation: %v", err)
		default:
		}
	}
	cancel()
	wg.Wait()
	select {
	case err := <-readErr:
		t.Fatalf("reader or writer failed during the rotation: %v", err)
	default:
	}
	if stats[0].Rewritten < n || stats[1].Rewritten < n {
		t.Fatalf("rewrote %d and %d cells, want at least %d each", stats[0].Rewritten, stats[1].Rewritten, n)
	}
	t.Logf("rotation: %d and %d cells rewritten while the reader completed %d full reads", stats[0].Rewritten, stats[1].Rewritten, reads.Load())

	// Rotating again with Retire finds nothing stale for the new key but
	// moves to a third one; retiring then removes both older values.
	st, err := Rotate(context.Background(), f.db, f.kms, results, "diagnosis", RotateOptions{Retire: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Retired != 2 {
		t.Fatalf("retired %d values, want 2", st.Retired)
	}
	var stale int
	if err := f.db.QueryRow(context.Background(), "SELECT count(*) FROM results WHERE substring(diagnosis from 2 for 16) <> $1", st.NewKey[:]).Scan(&stale); err != nil || stale != 0 {
		t.Fatalf("%d cells not under the new key (%v)", stale, err)
	}
	got, err := h.Select(context.Background())
	if err != nil {
		t.Fatalf("a handle from before the rotation, after retirement: %v", err)
	}
	checkRows(t, got[:n], n)
	if got, err := h.Lookup(context.Background(), "mrn", mrn(7)); err != nil || len(got) != 1 {
		t.Fatalf("lookup after rotation: %v, %v", got, err)
	}
}

// TestRetireRefusesStaleCells: retiring is refused while a cell is still
// under an old value.
func TestRetireRefusesStaleCells(t *testing.T) {
	f := setup(t)
	fill(t, f, 10)
	ctx := context.Background()
	if _, err := f.db.Exec(ctx, "CREATE TABLE saved AS SELECT patient, diagnosis FROM results"); err != nil {
		t.Fatal(err)
	}
	st, err := Rotate(ctx, f.db, f.kms, results, "diagnosis", RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A DBA (or a backup restore) puts an old-key cell back.
	if _, err := f.db.Exec(ctx, "UPDATE results r SET diagnosis = s.diagnosis FROM saved s WHERE r.patient = s.patient AND r.patient = 'p00003'"); err != nil {
		t.Fatal(err)
	}
	if _, err := retire(ctx, f.db, f.kms, "cek-diag", st.NewKey); !errors.Is(err, ErrSchema) {
		t.Fatalf("retire with a stale cell: %v, want ErrSchema", err)
	}
	var values int
	f.db.QueryRow(ctx, "SELECT count(*) FROM cofre_column_encryption_keys WHERE name = 'cek-diag'").Scan(&values)
	if values != 2 {
		t.Fatalf("%d values left, want both", values)
	}
}

func TestDescribe(t *testing.T) {
	f := setup(t)
	fill(t, f, 1)
	got, err := Describe(context.Background(), f.db, "results")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(results) {
		t.Fatalf("described\n%v\nwant\n%v", got, results)
	}
	if _, err := Describe(context.Background(), f.db, "absent"); !errors.Is(err, ErrSchema) {
		t.Fatalf("absent table: %v", err)
	}
}

func TestInvalidTable(t *testing.T) {
	enc := Column{Name: "c", Type: Text, Scheme: SchemeV2, CEK: "k"}
	id := Column{Name: "id", Type: Text}
	for name, tbl := range map[string]Table{
		"bad name":          {Name: "Results; DROP", RowKey: "id", Columns: []Column{id, enc}},
		"reserved name":     {Name: "cofre_x", RowKey: "id", Columns: []Column{id, enc}},
		"no encrypted":      {Name: "t", RowKey: "id", Columns: []Column{id}},
		"duplicate":         {Name: "t", RowKey: "id", Columns: []Column{id, enc, enc}},
		"no row key":        {Name: "t", RowKey: "x", Columns: []Column{id, enc}},
		"encrypted row key": {Name: "t", RowKey: "c", Columns: []Column{id, enc}},
		"double row key":    {Name: "t", RowKey: "id", Columns: []Column{{Name: "id", Type: Double}, enc}},
		"bad scheme":        {Name: "t", RowKey: "id", Columns: []Column{id, {Name: "c", Type: Text, Scheme: "rot13", CEK: "k"}}},
		"bad type":          {Name: "t", RowKey: "id", Columns: []Column{id, {Name: "c", Type: "money", Scheme: SchemeV2, CEK: "k"}}},
		"no cek":            {Name: "t", RowKey: "id", Columns: []Column{id, {Name: "c", Type: Text, Scheme: SchemeV2}}},
		"indexed ae":        {Name: "t", RowKey: "id", Columns: []Column{id, {Name: "c", Type: Text, Scheme: SchemeAEDeterministic, CEK: "k", Index: true}}},
		"ae timestamp":      {Name: "t", RowKey: "id", Columns: []Column{id, {Name: "c", Type: Timestamptz, Scheme: SchemeAERandomized, CEK: "k"}}},
		"plain with key":    {Name: "t", RowKey: "id", Columns: []Column{id, enc, {Name: "p", Type: Text, CEK: "k"}}},
		"bidx suffix":       {Name: "t", RowKey: "id", Columns: []Column{id, {Name: "c_bidx", Type: Text, Scheme: SchemeV2, CEK: "k"}}},
		"bad column name":   {Name: "t", RowKey: "id", Columns: []Column{id, {Name: "C\"", Type: Text, Scheme: SchemeV2, CEK: "k"}}},
	} {
		if err := tbl.check(); !errors.Is(err, ErrSchema) {
			t.Errorf("%s: %v, want ErrSchema", name, err)
		}
	}
}

func TestBadValues(t *testing.T) {
	f := setup(t)
	h := fill(t, f, 0)
	ctx := context.Background()
	good := row(1)
	for name, mutate := range map[string]func(Row) Row{
		"short row":     func(r Row) Row { return r[:3] },
		"null row key":  func(r Row) Row { r[0] = nil; return r },
		"wrong type":    func(r Row) Row { r[2] = int64(5); return r },
		"invalid utf-8": func(r Row) Row { r[2] = "\xff"; return r },
	} {
		r := mutate(append(Row(nil), good...))
		if _, err := h.CopyRows(ctx, []Row{r}); !errors.Is(err, ErrValue) {
			t.Errorf("%s: %v, want ErrValue", name, err)
		}
	}
	// Nothing was written by the refused copies.
	if got, err := h.Select(ctx); err != nil || len(got) != 0 {
		t.Fatalf("%d rows after refused copies (%v)", len(got), err)
	}
}

// BenchmarkEach reads 100,000 rows with three encrypted cells each (the
// figures are bench/colenc's; this is for profiling).
func BenchmarkEach(b *testing.B) {
	srv := pgtest.Start(b)
	ctx := context.Background()
	db, err := pgxpool.New(ctx, srv.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	f := &fixture{srv: srv, db: db, kms: newKMS(&testing.T{}, "cmk-1")}
	Init(ctx, db)
	CreateCMK(ctx, db, "cmk-1")
	h, err := Create(ctx, db, f.kms, results, CreateOptions{CMK: "cmk-1"})
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]Row, 100_000)
	for i := range rows {
		rows[i] = row(i)
	}
	if _, err := h.CopyRows(ctx, rows); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if err := h.Each(ctx, func(Row) error { n++; return nil }); err != nil || n != len(rows) {
			b.Fatal(n, err)
		}
	}
}

// TestDBARefusals: what a DBA can edit besides cells does not make the
// client accept a moved cell, return a row that does not match a lookup,
// seal under an older key, or wrap under another master key.
func TestDBARefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("another column made the row key", func(t *testing.T) {
		f := setup(t)
		fill(t, f, 3)
		// rk2 becomes the primary key; row 1 gets row 0's rk2 value and
		// row 0's diagnosis cell.
		if _, err := f.db.Exec(ctx, `ALTER TABLE results DROP CONSTRAINT results_pkey;
			ALTER TABLE results ADD COLUMN rk2 text;
			UPDATE results SET rk2 = 'moved-' || patient;
			UPDATE results SET rk2 = 'p00000', diagnosis = (SELECT diagnosis FROM results WHERE patient = 'p00000') WHERE patient = 'p00001';
			ALTER TABLE results ADD PRIMARY KEY (rk2)`); err != nil {
			t.Fatal(err)
		}
		tbl, err := Describe(ctx, f.db, "results")
		if err != nil {
			t.Fatal(err)
		}
		if tbl.RowKey != "rk2" {
			t.Fatalf("row key %s", tbl.RowKey)
		}
		h, err := Open(ctx, f.db, f.kms, tbl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Select(ctx); !errors.Is(err, colenc.ErrAuthentication) {
			t.Fatalf("got %v, want ErrAuthentication", err)
		}
	})
	t.Run("blind index copied to another row", func(t *testing.T) {
		f := setup(t)
		h := fill(t, f, 20)
		if _, err := f.db.Exec(ctx, `UPDATE results SET diagnosis_bidx = (SELECT diagnosis_bidx FROM results WHERE patient = 'p00017') WHERE patient = 'p00018'`); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Lookup(ctx, "diagnosis", marker(17)); !errors.Is(err, colenc.ErrAuthentication) {
			t.Fatalf("got %v, want ErrAuthentication", err)
		}
	})
	t.Run("current key pointed back at an old value", func(t *testing.T) {
		f := setup(t)
		fill(t, f, 2)
		var old string
		f.db.QueryRow(ctx, `SELECT key_id FROM cofre_encrypted_columns WHERE column_name = 'diagnosis'`).Scan(&old)
		st, err := Rotate(ctx, f.db, f.kms, results, "diagnosis", RotateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Exec(ctx, `UPDATE cofre_encrypted_columns SET key_id = $1 WHERE cek = 'cek-diag'`, old); err != nil {
			t.Fatal(err)
		}
		h, err := Open(ctx, f.db, f.kms, results)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.CopyRows(ctx, []Row{row(5)}); err != nil {
			t.Fatal(err)
		}
		var cell []byte
		f.db.QueryRow(ctx, `SELECT diagnosis FROM results WHERE patient = 'p00005'`).Scan(&cell)
		if id, err := colenc.CellKeyID(cell); err != nil || id != st.NewKey {
			t.Fatalf("a new cell sealed under %v (%v), want the newest key %v", id, err, st.NewKey)
		}
	})
	t.Run("master key path redirected", func(t *testing.T) {
		f := setup(t)
		fill(t, f, 1)
		if _, err := f.db.Exec(ctx, `UPDATE cofre_column_master_keys SET key_path = 'cmk-2' WHERE name = 'cmk-1'`); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, f.db, f.kms, results); !errors.Is(err, ErrSchema) {
			t.Fatalf("got %v, want ErrSchema", err)
		}
	})
	t.Run("existing key under another master key", func(t *testing.T) {
		f := setup(t)
		fill(t, f, 1)
		other := results
		other.Name = "results2"
		if _, err := Create(ctx, f.db, f.kms, other, CreateOptions{CMK: "cmk-2"}); !errors.Is(err, ErrSchema) {
			t.Fatalf("got %v, want ErrSchema", err)
		}
	})
}
