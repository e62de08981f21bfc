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
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cofre-cc/cofre/colenc"
	"github.com/cofre-cc/cofre/internal/pgtest"
)

func keyring(t *testing.T) *colenc.Keyring {
	t.Helper()
	var id colenc.KeyID
	rand.Read(id[:])
	secret := make([]byte, 32)
	rand.Read(secret)
	k, err := colenc.NewKey(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	r, err := colenc.NewKeyring(k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// marker is recognisable plaintext: any copy of it on disk is a leak.
func marker(i int) []byte { return []byte(fmt.Sprintf("PHI-DIAGNOSIS-%06d", i)) }

// TestRoundTripAndNoPlaintext: rows written through pgcol read back
// exactly; after a checkpoint, no byte of the server's data directory holds
// an encrypted column's plaintext; the metadata names key IDs, not keys.
func TestRoundTripAndNoPlaintext(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tbl := Table{Name: "results", RowKey: "patient", Plain: []string{"ward"}, Encrypted: map[string]*colenc.Keyring{"diagnosis": keyring(t)}}
	if err := Create(ctx, conn, tbl); err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for i := range 1000 {
		rows = append(rows, Row{Key: fmt.Sprintf("p%04d", i), Plain: map[string]string{"ward": "w1"}, Encrypted: map[string][]byte{"diagnosis": marker(i)}})
	}
	if n, err := CopyFrom(ctx, conn, tbl, rows); err != nil || n != 1000 {
		t.Fatalf("copy: %d, %v", n, err)
	}
	got, err := Select(ctx, conn, tbl)
	if err != nil || len(got) != 1000 {
		t.Fatalf("select: %d rows, %v", len(got), err)
	}
	for i, r := range got {
		if r.Key != rows[i].Key || !bytes.Equal(r.Encrypted["diagnosis"], marker(i)) || r.Plain["ward"] != "w1" {
			t.Fatalf("row %d: %+v", i, r)
		}
	}
	var keyID string
	if err := conn.QueryRow(ctx, "SELECT key_id FROM cofre_encrypted_columns WHERE table_name='results' AND column_name='diagnosis'").Scan(&keyID); err != nil || keyID != tbl.Encrypted["diagnosis"].Current().String() {
		t.Errorf("metadata: %q, %v", keyID, err)
	}
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(srv.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte("PHI-DIAGNOSIS-")) {
			t.Errorf("plaintext of an encrypted column in %s", p)
		}
		return nil
	})
}

// TestMovedAndWrongKey: a DBA who copies one patient's ciphertext into
// another's row, or a reader with another key, gets an error, not data.
func TestMovedAndWrongKey(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tbl := Table{Name: "results", RowKey: "patient", Encrypted: map[string]*colenc.Keyring{"diagnosis": keyring(t), "notes": keyring(t)}}
	if err := Create(ctx, conn, tbl); err != nil {
		t.Fatal(err)
	}
	rows := []Row{
		{Key: "alice", Encrypted: map[string][]byte{"diagnosis": []byte("healthy"), "notes": []byte("n1")}},
		{Key: "bob", Encrypted: map[string][]byte{"diagnosis": []byte("malignant"), "notes": []byte("n2")}},
	}
	if _, err := CopyFrom(ctx, conn, tbl, rows); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, sql string }{
		{"row swap", "UPDATE results SET diagnosis = (SELECT diagnosis FROM results WHERE patient='bob') WHERE patient='alice'"},
		{"column swap", "UPDATE results SET diagnosis = notes WHERE patient='bob'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			if _, err := Select(ctx, tx.Conn(), tbl); !errors.Is(err, colenc.ErrAuthentication) && !errors.Is(err, colenc.ErrUnknownKey) {
				t.Fatalf("got %v, want a refusal", err)
			}
		})
	}
	other := tbl
	other.Encrypted = map[string]*colenc.Keyring{"diagnosis": keyring(t), "notes": tbl.Encrypted["notes"]}
	if _, err := Select(ctx, conn, other); !errors.Is(err, colenc.ErrUnknownKey) && !errors.Is(err, colenc.ErrAuthentication) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestInvalidTable(t *testing.T) {
	k := keyring(t)
	for name, tbl := range map[string]Table{
		"bad name":        {Name: "Results; DROP", RowKey: "id", Encrypted: map[string]*colenc.Keyring{"c": k}},
		"no encrypted":    {Name: "t", RowKey: "id"},
		"duplicate":       {Name: "t", RowKey: "id", Plain: []string{"c"}, Encrypted: map[string]*colenc.Keyring{"c": k}},
		"nil keyring":     {Name: "t", RowKey: "id", Encrypted: map[string]*colenc.Keyring{"c": nil}},
		"bad column name": {Name: "t", RowKey: "id", Encrypted: map[string]*colenc.Keyring{"C\"": k}},
	} {
		if err := tbl.check(); !errors.Is(err, ErrSchema) {
			t.Errorf("%s: %v, want ErrSchema", name, err)
		}
	}
}
