// Command spark measures the reference queries on Apache Spark (PySpark,
// local mode) over the taxi data set, encrypted and in plaintext, against
// cofre's embedded engine on the same files, in one run:
//
//	go run -tags duckdb_arrow ./bench/spark -rows 20000000 -runs 5 -kms-jar bin/cofre-spark-kms.jar
//
// The encrypted files are what `cofre datagen --encrypt` writes (one key,
// 256-bit data keys). Spark decrypts them with parquet-java's
// PropertiesDrivenCryptoFactory and cofre's KMS client; the KMS here is an
// in-process stand-in speaking the coordinator's KMS API over mutual TLS
// with keys in memory (pme.MemoryKMS): with double wrapping it is called
// once per master key per job, as the coordinator would be. Spark's figure
// is the job's own timing of the query (taxi_q1.py), without JVM start-up.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/parquet"

	"github.com/cofre-cc/cofre/analytics/engine"
	"github.com/cofre-cc/cofre/analytics/pme"
	"github.com/cofre-cc/cofre/analytics/taxi"
)

const q1 = "SELECT passenger_count, count(*), round(sum(total_amount), 2), round(avg(fare_amount), 2) FROM taxi GROUP BY passenger_count"

func main() {
	rows := flag.Int64("rows", 20_000_000, "rows in the data set")
	runs := flag.Int("runs", 5, "runs per target")
	jar := flag.String("kms-jar", "bin/cofre-spark-kms.jar", "cofre's Spark KMS client jar (make spark-kms)")
	job := flag.String("job", "spark/examples/taxi_q1.py", "the PySpark Q1 job")
	flag.Parse()
	if err := run(*rows, *runs, *jar, *job); err != nil {
		log.Fatal(err)
	}
}

func run(rows int64, runs int, jar, job string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "spark-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	key := make([]byte, 32)
	rand.Read(key)
	kms, err := pme.NewMemoryKMS(map[string][]byte{"trips_key": key})
	if err != nil {
		return err
	}
	plain, enc := filepath.Join(dir, "plain"), filepath.Join(dir, "encrypted")
	if _, err := taxi.Generate(ctx, taxi.Options{Rows: rows, Seed: 1, Dir: plain}); err != nil {
		return err
	}
	wf := pme.NewFactory(kms, pme.FactoryOptions{})
	if _, err := taxi.Generate(ctx, taxi.Options{Rows: rows, Seed: 1, Dir: enc, Encryption: func(string) (*parquet.FileEncryptionProperties, error) {
		return wf.EncryptionProperties(ctx, pme.Config{UniformKey: "trips_key", DataKeyLength: 256})
	}}); err != nil {
		return err
	}
	env, stop, err := kmsStandIn(kms, dir)
	if err != nil {
		return err
	}
	defer stop()
	if jar, err = filepath.Abs(jar); err != nil {
		return err
	}

	seconds := regexp.MustCompile(`(?m)^seconds=([0-9.]+)$`)
	spark := func(path string) (float64, error) {
		cmd := exec.Command("spark-submit", "--master", "local[*]", "--jars", jar,
			"--conf", "spark.ui.enabled=false",
			"--conf", "spark.hadoop.parquet.crypto.factory.class=org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory",
			"--conf", "spark.hadoop.parquet.encryption.kms.client.class=cc.cofre.spark.CofreKmsClient",
			job, path)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			e := stderr.Bytes()
			return 0, fmt.Errorf("spark-submit: %w\n%s", err, e[max(0, len(e)-3000):])
		}
		m := seconds.FindSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("spark-submit printed no timing:\n%s", out)
		}
		return strconv.ParseFloat(string(m[1]), 64)
	}
	cofre := func(path string, encrypted bool) (float64, error) {
		var files []engine.File
		filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(p) == ".parquet" {
				files = append(files, engine.File{Path: p})
			}
			return err
		})
		e, err := engine.Open(engine.Options{})
		if err != nil {
			return 0, err
		}
		defer e.Close()
		t := engine.Table{Name: "taxi", Files: files}
		if encrypted {
			f := pme.NewFactory(kms, pme.FactoryOptions{})
			t.Decryption = func() *parquet.FileDecryptionProperties { return f.DecryptionProperties(ctx) }
		}
		began := time.Now()
		if err := e.Register(ctx, t); err != nil {
			return 0, err
		}
		rr, err := e.Query(ctx, q1)
		if err != nil {
			return 0, err
		}
		for rr.Next() {
		}
		rr.Release()
		return time.Since(began).Seconds(), rr.Err()
	}
	targets := []struct {
		name string
		run  func() (float64, error)
	}{
		{"Spark, encrypted (parquet-java + cofre KMS client)", func() (float64, error) { return spark(enc) }},
		{"Spark, plaintext", func() (float64, error) { return spark(plain) }},
		{"cofre, encrypted", func() (float64, error) { return cofre(enc, true) }},
		{"cofre, plaintext", func() (float64, error) { return cofre(plain, false) }},
	}
	secs := make([][]float64, len(targets))
	for r := 0; r < runs; r++ {
		for i, t := range targets {
			s, err := t.run()
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			secs[i] = append(secs[i], s)
			fmt.Fprintf(os.Stderr, "run %d %-52s %.2f s\n", r+1, t.name, s)
		}
	}
	fmt.Printf("%d rows, Q1, %d runs per target (interleaved), medians; Spark local[*] (driver JVM start-up excluded)\n\n", rows, runs)
	fmt.Printf("| target | median s | rows/s |\n|---|---:|---:|\n")
	med := make([]float64, len(targets))
	for i, t := range targets {
		s := slices.Clone(secs[i])
		slices.Sort(s)
		med[i] = s[len(s)/2]
		fmt.Printf("| %s | %.2f | %.1f M |\n", t.name, med[i], float64(rows)/med[i]/1e6)
	}
	fmt.Printf("\nSpark encrypted / plaintext %.2f×; cofre encrypted / Spark encrypted %.2f×\n", med[0]/med[1], med[2]/med[0])
	return nil
}

// kmsStandIn serves the coordinator's KMS API (wrap, unwrap) over TLS with
// a fresh root, and returns the environment cofre's KMS client needs.
func kmsStandIn(kms *pme.MemoryKMS, dir string) ([]string, func(), error) {
	mk := func(tmpl, parent *x509.Certificate, signer *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		if parent == nil {
			parent, signer = tmpl, k
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &k.PublicKey, signer)
		if err != nil {
			return nil, nil, err
		}
		c, err := x509.ParseCertificate(der)
		return c, k, err
	}
	now := time.Now()
	root, rootKey, err := mk(&x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench root"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	srv, srvKey, err := mk(&x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "bench kms"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, root, rootKey)
	if err != nil {
		return nil, nil, err
	}
	cli, cliKey, err := mk(&x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "bench workload"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, root, rootKey)
	if err != nil {
		return nil, nil, err
	}
	type request struct {
		Key       string `json:"key"`
		Plaintext []byte `json:"plaintext"`
		Wrapped   string `json:"wrapped"`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/kms/wrap", func(w http.ResponseWriter, r *http.Request) {
		var q request
		if json.NewDecoder(r.Body).Decode(&q) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s, err := kms.WrapKey(r.Context(), q.Plaintext, q.Key)
		if err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"wrapped": s, "key_version": 1})
	})
	mux.HandleFunc("POST /v1/kms/unwrap", func(w http.ResponseWriter, r *http.Request) {
		var q request
		if json.NewDecoder(r.Body).Decode(&q) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		p, err := kms.UnwrapKey(r.Context(), q.Wrapped, q.Key)
		if err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"plaintext": p, "key_version": 1})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	hs := &http.Server{Handler: mux, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.RequireAnyClientCert,
		Certificates: []tls.Certificate{{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey}}}}
	go hs.ServeTLS(ln, "", "")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cliKey)
	if err != nil {
		return nil, nil, err
	}
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cli.Raw}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, nil, err
	}
	env := []string{
		"COFRE_COORDINATOR=https://" + ln.Addr().String(),
		"COFRE_PINNED_ROOT=" + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})),
		"COFRE_CERT=" + certFile, "COFRE_KEY=" + keyFile,
	}
	return env, func() { hs.Close() }, nil
}
