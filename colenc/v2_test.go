package colenc

import (
	"bytes"
	"errors"
	"testing"
	"testing/cryptotest"
)

func testKey(t testing.TB, idByte, secretByte byte) *Key {
	t.Helper()
	var id KeyID
	id[0] = idByte
	k, err := NewKey(id, bytes.Repeat([]byte{secretByte}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var locA = Location{Table: "results", Column: "salary", RowKey: []byte("row-1")}

func TestV2RoundTrip(t *testing.T) {
	k := testKey(t, 1, 0x11)
	for _, pt := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte("z"), 1000)} {
		cell, err := k.Seal(pt, locA)
		if err != nil {
			t.Fatal(err)
		}
		if len(cell) != v2MinCell+len(pt) {
			t.Fatalf("cell length %d, want %d", len(cell), v2MinCell+len(pt))
		}
		got, err := k.Open(cell, locA)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("open: %v", err)
		}
	}
}

// TestV2Golden pins the v2 wire format under a seeded random source.
func TestV2Golden(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 1)
	k := testKey(t, 0xAB, 0x42)
	c1, err := k.Seal([]byte("golden"), locA)
	if err != nil {
		t.Fatal(err)
	}
	cryptotest.SetGlobalRandom(t, 1)
	c2, _ := k.Seal([]byte("golden"), locA)
	if !bytes.Equal(c1, c2) {
		t.Fatalf("seeded seal not reproducible")
	}
	if c1[0] != 0x02 || KeyID(c1[1:17]) != k.ID() {
		t.Fatalf("header %x", c1[:17])
	}
}

// TestV2MovedCellRefused is the contrast to
// TestAECellMovedBetweenRowsStillDecrypts: a v2 cell opens only where it was
// sealed.
func TestV2MovedCellRefused(t *testing.T) {
	k := testKey(t, 1, 0x11)
	cell, _ := k.Seal([]byte("salary=250000"), locA)
	moves := []struct {
		name string
		loc  Location
	}{
		{"other row", Location{Table: "results", Column: "salary", RowKey: []byte("row-2")}},
		{"other column", Location{Table: "results", Column: "bonus", RowKey: []byte("row-1")}},
		{"other table", Location{Table: "archive", Column: "salary", RowKey: []byte("row-1")}},
		{"shifted boundary", Location{Table: "resultss", Column: "alary", RowKey: []byte("row-1")}},
		{"empty row key", Location{Table: "results", Column: "salary"}},
	}
	for _, m := range moves {
		t.Run(m.name, func(t *testing.T) {
			if _, err := k.Open(cell, m.loc); !errors.Is(err, ErrAuthentication) {
				t.Fatalf("got %v, want ErrAuthentication", err)
			}
		})
	}
}

func TestV2Tamper(t *testing.T) {
	k := testKey(t, 1, 0x11)
	cell, _ := k.Seal([]byte("tamper me"), locA)
	r, _ := NewKeyring(k, testKey(t, 2, 0x22))
	for i := range cell {
		bad := bytes.Clone(cell)
		bad[i] ^= 0x01
		want := ErrAuthentication
		switch {
		case i == 0:
			want = ErrVersion
		case i < v2HeaderSize:
			// Any changed key ID names a key the keyring lacks
			// (byte 1 becomes 0, others become 1; key 2 is {2,0,…}).
			want = ErrUnknownKey
		}
		if _, err := r.Open(bad, locA); !errors.Is(err, want) {
			t.Fatalf("byte %d: got %v, want %v", i, err, want)
		}
	}
}

// TestV2KeyIDRelabelRefused re-labels a cell with another held key's ID: the
// header is in the associated data, so the tag fails.
func TestV2KeyIDRelabelRefused(t *testing.T) {
	k1, k2 := testKey(t, 1, 0x11), testKey(t, 2, 0x11) // same secret, other ID
	cell, _ := k1.Seal([]byte("v"), locA)
	bad := bytes.Clone(cell)
	bad[1] = 2
	if _, err := k2.Open(bad, locA); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("got %v, want ErrAuthentication", err)
	}
}

func TestV2Errors(t *testing.T) {
	k1, k2 := testKey(t, 1, 0x11), testKey(t, 2, 0x22)
	cell, _ := k1.Seal([]byte("v"), locA)
	wrongSecret := testKey(t, 1, 0x33)
	big := make([]byte, MaxLocationFieldSize+1)
	tests := []struct {
		name string
		key  *Key
		cell []byte
		loc  Location
		want error
	}{
		{"empty", k1, nil, locA, ErrFormat},
		{"ae cell", k1, append([]byte{1}, cell[1:]...), locA, ErrVersion},
		{"truncated header", k1, cell[:v2HeaderSize], locA, ErrFormat},
		{"below minimum", k1, cell[:v2MinCell-1], locA, ErrFormat},
		{"truncated tag", k1, cell[:len(cell)-1], locA, ErrAuthentication},
		{"other key id", k2, cell, locA, ErrUnknownKey},
		{"same id wrong secret", wrongSecret, cell, locA, ErrAuthentication},
		{"oversized row key", k1, cell, Location{RowKey: big}, ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.key.Open(tc.cell, tc.loc); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := NewKey(KeyID{}, make([]byte, 16)); !errors.Is(err, ErrKey) {
		t.Errorf("short secret: got %v, want ErrKey", err)
	}
	if _, err := k1.Seal(nil, Location{Table: string(big)}); !errors.Is(err, ErrFormat) {
		t.Errorf("oversized table: got %v, want ErrFormat", err)
	}
}

// TestV2Rotation shows a column moving from old to new key while a reader
// holding both keeps reading every row.
func TestV2Rotation(t *testing.T) {
	oldKey, newKey := testKey(t, 1, 0x11), testKey(t, 2, 0x22)
	before, _ := NewKeyring(oldKey)
	during, err := NewKeyring(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := NewKeyring(newKey)
	rows := make([][]byte, 4)
	for i := range rows {
		rows[i], _ = before.Seal([]byte{byte(i)}, Location{Table: "t", Column: "c", RowKey: []byte{byte(i)}})
	}
	for i := range rows { // the rewriter, one row at a time
		loc := Location{Table: "t", Column: "c", RowKey: []byte{byte(i)}}
		pt, err := during.Open(rows[i], loc)
		if err != nil {
			t.Fatal(err)
		}
		rows[i], _ = during.Seal(pt, loc)
		for j := range rows { // a reader sees every row, mixed keys
			if _, err := during.Open(rows[j], Location{Table: "t", Column: "c", RowKey: []byte{byte(j)}}); err != nil {
				t.Fatalf("after rewriting %d, row %d: %v", i, j, err)
			}
		}
	}
	for j := range rows {
		if _, err := after.Open(rows[j], Location{Table: "t", Column: "c", RowKey: []byte{byte(j)}}); err != nil {
			t.Fatalf("row %d not on new key: %v", j, err)
		}
	}
	if _, err := NewKeyring(oldKey, oldKey); !errors.Is(err, ErrKey) {
		t.Errorf("duplicate: got %v, want ErrKey", err)
	}
	if _, err := NewKeyring(nil); !errors.Is(err, ErrKey) {
		t.Errorf("nil: got %v, want ErrKey", err)
	}
}

func TestBlindIndex(t *testing.T) {
	k1, _ := NewIndexKey(bytes.Repeat([]byte{1}, 32))
	k2, _ := NewIndexKey(bytes.Repeat([]byte{2}, 32))
	a := BlindIndex(k1, "email", []byte("a@example.org"))
	if len(a) != 32 {
		t.Fatalf("length %d", len(a))
	}
	if !bytes.Equal(a, BlindIndex(k1, "email", []byte("a@example.org"))) {
		t.Error("not deterministic")
	}
	for name, other := range map[string][]byte{
		"other value":  BlindIndex(k1, "email", []byte("b@example.org")),
		"other column": BlindIndex(k1, "email2", []byte("a@example.org")),
		"shifted":      BlindIndex(k1, "emaila", []byte("@example.org")),
		"other key":    BlindIndex(k2, "email", []byte("a@example.org")),
	} {
		if bytes.Equal(a, other) {
			t.Errorf("%s: same index", name)
		}
	}
	if _, err := NewIndexKey(make([]byte, 31)); !errors.Is(err, ErrKey) {
		t.Errorf("short key: got %v, want ErrKey", err)
	}
}

func FuzzOpen(f *testing.F) {
	k := testKey(f, 1, 0x11)
	r, _ := NewKeyring(k)
	cell, _ := k.Seal([]byte("seed"), locA)
	f.Add(cell, "results", "salary", []byte("row-1"))
	f.Fuzz(func(t *testing.T, cell []byte, table, column string, rowKey []byte) {
		loc := Location{Table: table, Column: column, RowKey: rowKey}
		id, idErr := CellKeyID(cell)
		pt, err := r.Open(cell, loc)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrAuthentication) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if idErr != nil || id != k.ID() {
			t.Fatalf("opened a cell whose header does not parse to the key")
		}
		again, err := k.Seal(pt, loc)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := k.Open(again, loc); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("re-seal round trip: %v", err)
		}
	})
}
