//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAnalytics is the confidential analytics flow across processes: a
// coordinator (SIMULATION), the node agent, and cofre itself as the
// attested workloads. The ingest job writes an encrypted taxi data set with
// keys from the coordinator's KMS; the query job reads it and must print
// exactly what the same query prints over the same data in plaintext;
// a service without the fares key, a process that is no workload, and a
// tampered file are refused.
func TestAnalytics(t *testing.T) {
	l := newLakeStack(t)
	s := l.runStack
	work := t.TempDir()
	data, plain, report := filepath.Join(work, "taxi"), filepath.Join(work, "plain"), filepath.Join(work, "report.parquet")
	const rows, seed = "300000", "7"
	const q1 = "SELECT passenger_count, count(*) AS trips, round(sum(total_amount), 2) AS revenue, round(avg(fare_amount), 2) AS avg_fare FROM taxi GROUP BY passenger_count ORDER BY passenger_count NULLS LAST"
	const fares = "fares_key:fare_amount,extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,Airport_fee"
	l.setManifest("taxi", []lakeService{
		{name: "ingest", grants: "trips_key, fares_key", args: []string{"datagen", "taxi", "--rows", rows, "--seed", seed, "--out", data, "--encrypt", "--footer-key", "trips_key", "--column-keys", fares}},
		{name: "query", grants: "trips_key, fares_key", args: []string{"query", "--quiet", "--table", "taxi=" + data, "--sql", q1}},
		{name: "trips", grants: "trips_key", args: []string{"query", "--quiet", "--table", "taxi=" + data, "--sql", "SELECT count(*) AS n, count(DISTINCT PULocationID) AS zones FROM taxi"}},
		{name: "fares", grants: "trips_key", args: []string{"query", "--quiet", "--table", "taxi=" + data, "--sql", "SELECT sum(total_amount) FROM taxi"}},
		{name: "report", grants: "trips_key, fares_key", args: []string{"query", "--quiet", "--table", "taxi=" + data, "--sql", q1, "--out", report, "--encrypt-out", "--out-footer-key", "trips_key"}},
		{name: "read-report", grants: "trips_key", args: []string{"query", "--quiet", "--table", "r=" + report, "--sql", "SELECT count(*) AS groups, sum(trips) AS trips FROM r"}},
	}, "  trips_key: {kind: parquet-master-key}\n  fares_key: {kind: parquet-master-key}\n")
	run := func(want int, svc string) string {
		t.Helper()
		return l.run(want, "taxi", svc)
	}

	run(0, "ingest")
	// Every file is encrypted, footer included: no column name in clear.
	files, _ := filepath.Glob(filepath.Join(data, "year=*", "month=*", "*.parquet"))
	if len(files) == 0 {
		t.Fatal("ingest wrote no files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(b), "PARE") || strings.Contains(string(b), "fare_amount") {
			t.Fatalf("%s is not fully encrypted", f)
		}
	}

	// The same data in plaintext (the generator is deterministic for a
	// seed), queried outside any workload: the reference answer.
	s.cofre(0, nil, "datagen", "taxi", "--rows", rows, "--seed", seed, "--out", plain)
	want := s.cofre(0, nil, "query", "--quiet", "--table", "taxi="+plain, "--sql", q1)
	got := run(0, "query")
	if !strings.Contains(got, strings.TrimSpace(want)) {
		t.Fatalf("encrypted query printed\n%s\nwant (plaintext)\n%s", got, want)
	}

	// A result written encrypted (--encrypt-out) is ciphertext on disk and
	// reads back, through the KMS, as the aggregate it is.
	run(0, "report")
	if b, err := os.ReadFile(report); err != nil || !strings.HasSuffix(string(b), "PARE") || strings.Contains(string(b), "revenue") {
		t.Fatalf("encrypted result: %v", err)
	}
	if out := run(0, "read-report"); !regexp.MustCompile(`(?m)^\s*8\s+` + rows + `\s*$`).MatchString(out) {
		t.Errorf("reading the encrypted result: %s", out)
	}

	// Granted the trips key only: trip columns yes, fare columns no.
	if out := run(0, "trips"); !strings.Contains(out, rows) {
		t.Errorf("trips-only service: %s", out)
	}
	if out := run(1, "fares"); !strings.Contains(out, "REFUSED") {
		t.Errorf("fares without the grant: %s", out)
	}
	// A process that verified the coordinator but is no attested workload
	// has no client certificate: the KMS gives it nothing.
	out := s.cofre(1, []string{"COFRE_COORDINATOR=" + s.coord.url, "COFRE_INSECURE_SIMULATION=true"},
		"query", "--quiet", "--sim-root", filepath.Join(s.state, "sim", "root-cert.pem"), "--table", "taxi="+data, "--sql", q1)
	if !strings.Contains(out, "REFUSED") {
		t.Errorf("unattested query: %s", out)
	}

	// One flipped byte in the (encrypted) footer: refused, no result
	// printed. (A flip in a column the query does not read goes unnoticed
	// by that query: only what is read is authenticated.)
	victim, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	victim[len(victim)-40] ^= 1
	if err := os.WriteFile(files[0], victim, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(1, "query"); !strings.Contains(out, "REFUSED") || strings.Contains(out, "revenue") {
		t.Errorf("tampered file: %s", out)
	}
}
