package pgout

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cofre-cc/cofre/analytics/pme"
	"github.com/cofre-cc/cofre/colenc/pgcol"
	"github.com/cofre-cc/cofre/internal/pgtest"
)

// kms is analytics/pme's in-memory KMS behind pgcol.KMS.
type kms struct{ m *pme.MemoryKMS }

func (k kms) Wrap(ctx context.Context, cmk string, cek []byte) ([]byte, error) {
	s, err := k.m.WrapKey(ctx, cek, cmk)
	return []byte(s), err
}

func (k kms) Unwrap(ctx context.Context, cmk string, w []byte) ([]byte, error) {
	return k.m.UnwrapKey(ctx, string(w), cmk)
}

func newKMS(t *testing.T) kms {
	key := make([]byte, 32)
	rand.Read(key)
	m, err := pme.NewMemoryKMS(map[string][]byte{"results_key": key})
	if err != nil {
		t.Fatal(err)
	}
	return kms{m}
}

// result builds a two-batch result: zone (string), trips (int64),
// revenue (float64, one NULL), day (date32), at (timestamp µs).
func result(t *testing.T) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "zone", Type: arrow.BinaryTypes.String},
		{Name: "trips", Type: arrow.PrimitiveTypes.Int64},
		{Name: "revenue", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	var recs []arrow.RecordBatch
	for batch := range 2 {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := range 3 {
			n := batch*3 + i
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("ZONE-SECRET-%d", n))
			b.Field(1).(*array.Int64Builder).Append(int64(100 + n))
			if n == 4 {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.Float64Builder).Append(float64(n) + 0.5)
			}
			b.Field(3).(*array.Date32Builder).Append(arrow.Date32(20000 + n))
			b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + int64(n)))
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	rr, err := array.NewRecordReader(schema, recs)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}

func TestWrite(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	db, err := pgxpool.New(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k := newKMS(t)
	n, err := Write(ctx, db, k, result(t), Options{Table: "zones", CMK: "results_key",
		Encrypt: map[string]pgcol.Scheme{"zone": pgcol.SchemeV2, "revenue": pgcol.SchemeV2, "trips": pgcol.SchemeAERandomized}, Index: []string{"zone"}})
	if err != nil || n != 6 {
		t.Fatalf("write: %d, %v", n, err)
	}
	// Another process reads it back knowing only the table's name.
	tbl, err := pgcol.Describe(ctx, db, "zones")
	if err != nil {
		t.Fatal(err)
	}
	h, err := pgcol.Open(ctx, db, k, tbl)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := h.Select(ctx)
	if err != nil || len(rows) != 6 {
		t.Fatalf("select: %d rows, %v", len(rows), err)
	}
	r := rows[4]
	want := []any{int64(5), "ZONE-SECRET-4", int64(104), nil, time.Unix(20004*86400, 0).UTC(), time.UnixMicro(1_700_000_000_000_004).UTC()}
	for i := range want {
		if fmt.Sprint(r[i]) != fmt.Sprint(want[i]) {
			t.Errorf("column %s: %v, want %v", tbl.Columns[i].Name, r[i], want[i])
		}
	}
	if got, err := h.Lookup(ctx, "zone", "ZONE-SECRET-2"); err != nil || len(got) != 1 || got[0][0] != int64(3) {
		t.Errorf("lookup: %v %v", got, err)
	}
	// The database holds no plaintext of the encrypted columns.
	var leaked int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM zones WHERE position('ZONE-SECRET' in encode(zone, 'escape')) > 0").Scan(&leaked); err != nil || leaked != 0 {
		t.Fatalf("plaintext in the table: %d (%v)", leaked, err)
	}
	// A second write to the same table is refused (no silent append).
	if _, err := Write(ctx, db, k, result(t), Options{Table: "zones", CMK: "results_key", Encrypt: map[string]pgcol.Scheme{"zone": pgcol.SchemeV2}}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second write: %v", err)
	}
}

func TestDeclareRefusals(t *testing.T) {
	dec := arrow.NewSchema([]arrow.Field{{Name: "amount", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}}}, nil)
	str := arrow.NewSchema([]arrow.Field{{Name: "zone", Type: arrow.BinaryTypes.String}, {Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	enc := map[string]pgcol.Scheme{"zone": pgcol.SchemeV2}
	for name, tc := range map[string]struct {
		s    *arrow.Schema
		opts Options
	}{
		"decimal":           {dec, Options{Table: "t", CMK: "k", Encrypt: map[string]pgcol.Scheme{"amount": pgcol.SchemeV2}}},
		"no cmk":            {str, Options{Table: "t", Encrypt: enc}},
		"nothing encrypted": {str, Options{Table: "t", CMK: "k"}},
		"unknown column":    {str, Options{Table: "t", CMK: "k", Encrypt: map[string]pgcol.Scheme{"nope": pgcol.SchemeV2}}},
		"index on plain":    {str, Options{Table: "t", CMK: "k", Encrypt: enc, Index: []string{"n"}}},
	} {
		if _, _, err := declare(tc.s, tc.opts); !errors.Is(err, pgcol.ErrSchema) {
			t.Errorf("%s: %v, want ErrSchema", name, err)
		}
	}
}
