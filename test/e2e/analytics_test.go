//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	s := &runStack{t: t, bin: os.Getenv("COFRE_BIN"), state: t.TempDir()}
	s.fleet = newFleet(t, s.state)
	s.coord = startCoordinator(t, s.state)
	s.fleet.loadPlatform()
	s.agent = startAgent(t, filepath.Join(s.state, "sim", "platform.pem"))
	shm, err := os.MkdirTemp("/dev/shm", "cofre-e2e-")
	if err != nil {
		t.Fatalf("/dev/shm is needed (memory-backed files): %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	digest := strings.TrimSpace(s.cofre(0, nil, "run", "--print-digest", "--", s.bin))

	work := t.TempDir()
	data, plain := filepath.Join(work, "taxi"), filepath.Join(work, "plain")
	const rows, seed = "300000", "7"
	const q1 = "SELECT passenger_count, count(*) AS trips, round(sum(total_amount), 2) AS revenue, round(avg(fare_amount), 2) AS avg_fare FROM taxi GROUP BY passenger_count ORDER BY passenger_count NULLS LAST"
	const fares = "fares_key:fare_amount,extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,Airport_fee"
	service := func(name, grants string, args ...string) string {
		q := make([]string, len(args))
		for i, a := range args {
			q[i] = fmt.Sprintf("%q", a)
		}
		return fmt.Sprintf(`  %s:
    package: cofre
    command: [%q, %s]
    workload_digests: [%s]
    env:
      COFRE_CERT: /etc/cofre/workload.pem
      COFRE_KEY: /etc/cofre/workload.key
    files:
      /etc/cofre/workload.pem: '{{ workload "chain-pem" }}'
      /etc/cofre/workload.key: '{{ workload "key-pem" }}'
    kms_grants: [%s]
`, name, s.bin, strings.Join(q, ", "), digest, grants)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: taxi\nversion: 1\nowners:\n")
	for i, k := range s.fleet.owners {
		fmt.Fprintf(&b, "  o%d:\n    public_key: |\n%s\n", i, indentLines(pemOf("PUBLIC KEY", mustPKIX(t, &k.PublicKey)), 6))
	}
	fmt.Fprintf(&b, "update_threshold: 2\npackages:\n  cofre:\n    references:\n      - tee: sim\n        measurements: [%s]\nservices:\n", digest)
	b.WriteString(service("ingest", "trips_key, fares_key", "datagen", "taxi", "--rows", rows, "--seed", seed, "--out", data, "--encrypt", "--footer-key", "trips_key", "--column-keys", fares))
	b.WriteString(service("query", "trips_key, fares_key", "query", "--quiet", "--table", "taxi="+data, "--sql", q1))
	b.WriteString(service("trips", "trips_key", "query", "--quiet", "--table", "taxi="+data, "--sql", "SELECT count(*) AS n, count(DISTINCT PULocationID) AS zones FROM taxi"))
	b.WriteString(service("fares", "trips_key", "query", "--quiet", "--table", "taxi="+data, "--sql", "SELECT sum(total_amount) FROM taxi"))
	b.WriteString("secrets:\n  trips_key: {kind: parquet-master-key}\n  fares_key: {kind: parquet-master-key}\nattestation:\n  allow_simulation: true\n")
	doc := []byte(b.String())
	admin := s.fleet.client(s.coord.url, &s.fleet.user)
	if _, err := admin.SetManifest(context.Background(), "taxi", doc, s.fleet.sign(t, doc)); err != nil {
		t.Fatalf("manifest: %v\n%s", err, doc)
	}
	run := func(want int, svc string) string {
		t.Helper()
		env := []string{
			"COFRE_COORDINATOR=" + s.coord.url,
			"COFRE_INSECURE_SIMULATION=true",
			"COFRE_RUN_SIM_ROOT=" + filepath.Join(s.state, "sim", "root-cert.pem"),
			"COFRE_RUN_MANIFEST=taxi",
			"COFRE_RUN_SERVICE=" + svc,
			"COFRE_RUN_AGENT=" + s.agent.addr,
			"COFRE_RUN_FILES_ROOT=" + filepath.Join(shm, svc),
		}
		return s.cofre(want, env, "run", "--", s.bin)
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
