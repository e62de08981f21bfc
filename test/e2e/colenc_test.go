//go:build e2e

package e2e

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cofre-cc/cofre/internal/pgtest"
)

// TestResultsToPostgres is the last hop of the analytics scenario: an
// attested query job writes its result into PostgreSQL with encrypted
// columns (keys from the coordinator's KMS), another attested job reads it
// back and finds rows by a blind index, a third rotates the column key
// while the table stays readable, and a service without the grant is
// refused. The database never holds a key or a plaintext revenue.
func TestResultsToPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	l := newLakeStack(t)
	s := l.runStack
	work := t.TempDir()
	data, plain := filepath.Join(work, "taxi"), filepath.Join(work, "plain")
	const rows, seed = "100000", "11"
	const q = "SELECT PULocationID AS zone, count(*) AS trips, round(sum(total_amount), 2) AS revenue FROM taxi GROUP BY 1"
	// The password reaches the job through its policy's environment (in
	// production a secret template), never its command line.
	_, pw := splitPassword(t, pg.DSN)
	db := fmt.Sprintf("postgres://cofre@127.0.0.1:%d/postgres?sslmode=disable", pg.Port)
	env := map[string]string{"PGPASSWORD": pw}
	l.setManifest("results", []lakeService{
		{name: "ingest", grants: "trips_key", args: []string{"datagen", "taxi", "--rows", rows, "--seed", seed, "--out", data, "--encrypt", "--footer-key", "trips_key"}},
		{name: "upload", grants: "trips_key, results_cmk", env: env, args: []string{"query", "--quiet", "--table", "taxi=" + data, "--sql", q,
			"--out", db + "&table=zone_revenue", "--row-key", "zone", "--encrypt-columns", "revenue,trips:ae-randomized", "--index-columns", "revenue", "--cmk", "results_cmk"}},
		{name: "read", grants: "results_cmk", env: env, args: []string{"colenc", "read", "--db", db, "--table", "zone_revenue", "--limit", "100000"}},
		{name: "rotate", grants: "results_cmk", env: env, args: []string{"colenc", "rotate", "--db", db, "--table", "zone_revenue", "--column", "revenue", "--batch", "50", "--retire"}},
		{name: "nogrant", grants: "trips_key", env: env, args: []string{"colenc", "read", "--db", db, "--table", "zone_revenue"}},
	}, "  trips_key: {kind: parquet-master-key}\n  results_cmk: {kind: parquet-master-key}\n")

	l.run(0, "results", "ingest")
	l.run(0, "results", "upload")

	// The reference: the same query over the same data in plaintext.
	s.cofre(0, nil, "datagen", "taxi", "--rows", rows, "--seed", seed, "--out", plain)
	ref := filepath.Join(work, "ref.csv")
	s.cofre(0, nil, "query", "--quiet", "--table", "taxi="+plain, "--sql", q+" ORDER BY zone", "--out", ref)
	want := readCSVRows(t, ref)

	check := func(out string) {
		t.Helper()
		got := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] != "zone" {
				got[f[0]] = f[1] + "," + f[2]
			}
		}
		if len(got) != len(want) {
			t.Fatalf("read %d rows, want %d:\n%s", len(got), len(want), out)
		}
		for zone, v := range want {
			if !sameRow(got[zone], v) {
				t.Fatalf("zone %s: %q, want %q", zone, got[zone], v)
			}
		}
	}
	check(l.run(0, "results", "read"))

	// The database: encrypted columns are bytea ciphertext, the metadata
	// holds wrapped keys, and no revenue figure appears in clear.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var zone int64
	var revenue, trips []byte
	if err := conn.QueryRow(ctx, "SELECT zone, revenue, trips FROM zone_revenue ORDER BY zone LIMIT 1").Scan(&zone, &revenue, &trips); err != nil {
		t.Fatal(err)
	}
	if revenue[0] != 0x02 || trips[0] != 0x01 || len(revenue) < 40 || len(trips) < 60 {
		t.Fatalf("cells are not cofre-v2 and Always Encrypted ciphertexts: %x / %x", revenue, trips)
	}
	var dump string
	if err := conn.QueryRow(ctx, "SELECT string_agg(encode(revenue, 'hex') || encode(trips, 'hex'), '') FROM zone_revenue").Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for zone, v := range want {
		r, _ := strconv.ParseFloat(strings.Split(v, ",")[1], 64)
		var be, le [8]byte
		binary.BigEndian.PutUint64(be[:], math.Float64bits(r))
		binary.LittleEndian.PutUint64(le[:], math.Float64bits(r))
		if strings.Contains(dump, hex.EncodeToString(be[:])) || strings.Contains(dump, hex.EncodeToString(le[:])) {
			t.Fatalf("zone %s: its revenue is in the table in clear", zone)
		}
	}

	// Rotation: a new key value, every cell re-encrypted, the old value
	// retired; the table reads back the same.
	out := l.run(0, "results", "rotate")
	t.Log(strings.TrimSpace(out))
	if !regexp.MustCompile(`new key colkey:[0-9a-f]{32}, \d+ cells re-encrypted .* 1 old key values retired`).MatchString(out) {
		t.Fatalf("rotate: %s", out)
	}
	var values int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM cofre_column_encryption_keys WHERE name = 'zone_revenue'").Scan(&values); err != nil || values != 1 {
		t.Fatalf("%d key values after retiring (%v)", values, err)
	}
	check(l.run(0, "results", "read"))

	// The KMS unwraps the column key only for services granted its CMK.
	if out := l.run(1, "results", "nogrant"); !strings.Contains(out, "REFUSED") {
		t.Fatalf("a service without the grant: %s", out)
	}
	// A DBA who swaps two rows' revenue cells stops the read.
	if _, err := conn.Exec(ctx, "UPDATE zone_revenue SET revenue = (SELECT revenue FROM zone_revenue ORDER BY zone DESC LIMIT 1) WHERE zone = $1", zone); err != nil {
		t.Fatal(err)
	}
	if out := l.run(1, "results", "read"); !strings.Contains(out, "REFUSED") || !strings.Contains(out, "authentication failed") {
		t.Fatalf("a swapped cell: %s", out)
	}
}

func splitPassword(t *testing.T, dsn string) (string, string) {
	t.Helper()
	m := regexp.MustCompile(`^postgres://([^:]+):([^@]+)@`).FindStringSubmatch(dsn)
	if m == nil {
		t.Fatalf("unexpected DSN shape")
	}
	return m[1], m[2]
}

// readCSVRows reads the reference result: zone → "trips,revenue".
func readCSVRows(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 3 {
			t.Fatalf("reference row %q", line)
		}
		rows[f[0]] = f[1] + "," + f[2]
	}
	return rows
}

// sameRow compares "trips,revenue" numerically (a float prints the same
// value in more than one way).
func sameRow(a, b string) bool {
	as, bs := strings.Split(a, ","), strings.Split(b, ",")
	if len(as) != 2 || len(bs) != 2 || as[0] != bs[0] {
		return false
	}
	x, err1 := strconv.ParseFloat(as[1], 64)
	y, err2 := strconv.ParseFloat(bs[1], 64)
	return err1 == nil && err2 == nil && x == y
}
