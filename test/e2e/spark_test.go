//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/internal/fusetest"
)

// requireSpark finds spark-submit (PyPI pyspark) and cofre's Spark KMS
// client jar, or skips — fails with COFRE_REQUIRE_SPARK=1, as CI sets.
func requireSpark(t *testing.T) (submit, jar string) {
	t.Helper()
	submit, err := exec.LookPath("spark-submit")
	jar = os.Getenv("COFRE_SPARK_KMS_JAR")
	_, jerr := os.Stat(jar)
	if err == nil && jar != "" && jerr == nil {
		return submit, jar
	}
	msg := "needs spark-submit (pip install pyspark) and COFRE_SPARK_KMS_JAR (make spark-kms)"
	if os.Getenv("COFRE_REQUIRE_SPARK") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return "", ""
}

// TestSparkInterop runs real PySpark jobs as attested workloads under cofre
// run (cofre spark submit, local mode, spark.local.dir on a sealfs scratch
// volume), both ways: Spark — parquet-java's PropertiesDrivenCryptoFactory
// with cofre's KMS client — writes encrypted Parquet that cofre query reads
// exactly; Spark reads what cofre datagen encrypted and prints the same
// aggregates cofre query does. A Spark job without the grant for the fare
// key gets no key, and nothing readable is left in spark.local.dir.
func TestSparkInterop(t *testing.T) {
	submit, jar := requireSpark(t)
	deltaJars := os.Getenv("COFRE_DELTA_JARS") // delta-spark and delta-storage, comma-separated
	if deltaJars == "" && os.Getenv("COFRE_REQUIRE_SPARK") != "" {
		t.Fatal("COFRE_DELTA_JARS is not set (make delta-jars)")
	}
	fusetest.Require(t) // spark.local.dir is a sealfs mount
	l := newLakeStack(t)
	work := t.TempDir()
	fromSpark, fromCofre, fromDelta := filepath.Join(work, "from-spark"), filepath.Join(work, "from-cofre"), filepath.Join(work, "from-delta")
	examples, err := filepath.Abs(repoPath("spark/examples"))
	if err != nil {
		t.Fatal(err)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatal(err)
	}
	// The policy's environment is all the job gets: PATH must reach java
	// and the Python that has pyspark.
	env := map[string]string{
		"PATH":           strings.Join([]string{filepath.Dir(python), filepath.Dir(submit), filepath.Dir(java), "/usr/bin", "/bin"}, ":"),
		"PYSPARK_PYTHON": python,
		"HOME":           work,
	}
	spark := func(pme []string, job string, args ...string) []string {
		a := []string{"spark", "submit", "--master", "local[2]", "--spark-submit", submit, "--kms-jar", jar, "--local-dir", "/var/spark-local"}
		a = append(a, pme...)
		return append(append(a, filepath.Join(examples, job)), args...)
	}
	vol := map[string]string{"spark-local": "/var/spark-local"}
	const fares = "fares_key:fare_amount,extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,Airport_fee"
	const q1 = "SELECT passenger_count, count(*) AS trips, round(sum(total_amount), 2) AS revenue, round(avg(fare_amount), 2) AS avg_fare FROM taxi GROUP BY passenger_count ORDER BY passenger_count NULLS LAST"
	l.setManifest("lake", []lakeService{
		{name: "spark-write", grants: "trips_key, fares_key", env: env, volumes: vol,
			args: spark([]string{"--footer-key", "trips_key"}, "write_trips.py", fromSpark, "5000")},
		{name: "query-spark", grants: "trips_key, fares_key",
			args: []string{"query", "--quiet", "--table", "t=" + fromSpark, "--sql", "SELECT count(*), sum(fare_amount), sum(total_amount), sum(passenger_count) FROM t"}},
		{name: "ingest", grants: "trips_key, fares_key",
			args: []string{"datagen", "taxi", "--rows", "200000", "--seed", "3", "--out", fromCofre, "--encrypt", "--footer-key", "trips_key", "--column-keys", fares}},
		{name: "query-cofre", grants: "trips_key, fares_key", args: []string{"query", "--quiet", "--table", "taxi=" + fromCofre, "--sql", q1}},
		{name: "spark-q1", grants: "trips_key, fares_key", env: env, volumes: vol, args: spark([]string{"--plaintext-output"}, "taxi_q1.py", fromCofre)},
		{name: "spark-nogrant", grants: "trips_key", env: env, volumes: vol, args: spark([]string{"--plaintext-output"}, "taxi_q1.py", fromCofre)},
		{name: "spark-delta", grants: "trips_key", env: env, volumes: vol,
			args: spark([]string{"--footer-key", "trips_key", "--delta", "--jars", deltaJars}, "write_delta.py", fromDelta, "5000")},
		{name: "query-delta", grants: "trips_key",
			args: []string{"query", "--quiet", "--table", "t=" + fromDelta, "--sql", "SELECT count(*), sum(fare_amount), sum(total_amount), sum(passenger_count) FROM t"}},
	}, "  trips_key: {kind: parquet-master-key}\n  fares_key: {kind: parquet-master-key}\n")

	// Spark writes under one key (see cofre spark submit); every file is
	// encrypted, footer included; cofre reads exactly the values the job
	// wrote: fare = id%100 + 0.5, total = 2 fare, passengers = id%7, id < 5000.
	if out := l.run(0, "lake", "spark-write"); !strings.Contains(out, "wrote=5000") {
		t.Fatalf("spark write: %s", tail(out))
	}
	parts, _ := filepath.Glob(filepath.Join(fromSpark, "*.parquet"))
	if len(parts) == 0 {
		t.Fatal("spark wrote no parquet file")
	}
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(b, []byte("PARE")) || bytes.Contains(b, []byte("fare_amount")) {
			t.Fatalf("%s: not fully encrypted", p)
		}
	}
	out := l.run(0, "lake", "query-spark")
	if !regexp.MustCompile(`5000\s+250000\s+500000\s+14995`).MatchString(out) {
		t.Fatalf("cofre query over Spark's files:\n%s", out)
	}

	// cofre writes; Spark reads and computes Q1 as cofre does.
	l.run(0, "lake", "ingest")
	want := l.run(0, "lake", "query-cofre")
	got := l.run(0, "lake", "spark-q1")
	lines := regexp.MustCompile(`(?m)^q1:(.*)$`).FindAllStringSubmatch(got, -1)
	if len(lines) < 7 {
		t.Fatalf("spark Q1 printed %d groups:\n%s", len(lines), tail(got))
	}
	for _, m := range lines {
		f := strings.Split(m[1], ",")
		row := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(f[0]) + `\s+` + f[1] + `\s+` + strings.TrimRight(strings.TrimRight(f[2], "0"), ".") + `\s+` + strings.TrimRight(strings.TrimRight(f[3], "0"), ".") + `\s*$`)
		if !row.MatchString(want) {
			t.Errorf("spark group %s not in cofre's answer:\n%s", m[1], want)
		}
	}

	// delta-spark writes an encrypted Delta table (two commits) with no
	// statistics in its log; cofre replays the log and reads the files.
	if deltaJars != "" {
		if out := l.run(0, "lake", "spark-delta"); !strings.Contains(out, "wrote=5000") {
			t.Fatalf("spark delta write: %s", tail(out))
		}
		logs, _ := filepath.Glob(filepath.Join(fromDelta, "_delta_log", "*.json"))
		if len(logs) < 2 {
			t.Fatalf("delta log: %v", logs)
		}
		for _, p := range logs {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte("minValues")) {
				t.Errorf("%s keeps plaintext statistics", p)
			}
		}
		out := l.run(0, "lake", "query-delta")
		if !regexp.MustCompile(`5000\s+250000\s+500000\s+14995`).MatchString(out) {
			t.Fatalf("cofre query over delta-spark's table:\n%s", out)
		}
	}

	// Without the fare key's grant the job fails; the KMS refused it.
	out = l.run(1, "lake", "spark-nogrant")
	if !strings.Contains(out, "fares_key") {
		t.Errorf("spark without the fares grant:\n%s", tail(out))
	}
	// spark.local.dir was a sealfs scratch volume: its backing directory
	// holds ciphertext only (no column name, no Spark block header).
	filepath.Walk(filepath.Join(l.state, "volumes"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte("passenger_count")) || bytes.Contains(b, []byte("fare_amount")) {
			t.Errorf("plaintext in spark.local.dir's backing store: %s", p)
		}
		return nil
	})
}

// tail is the end of a long output, for failure messages.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
