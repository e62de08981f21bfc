package pgtest

import (
	"bytes"
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The server runs, takes the password, stores bytea, and refuses a wrong
// password.
func TestStart(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY, v bytea)"); err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 1, 2, 0xff}
	if _, err := conn.Exec(ctx, "INSERT INTO t VALUES (1, $1)", want); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := conn.QueryRow(ctx, "SELECT v FROM t WHERE id = 1").Scan(&got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %x, %v", got, err)
	}
	cfg, err := pgx.ParseConfig(s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = "wrong"
	if c, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		c.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}
}
