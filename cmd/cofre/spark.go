package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/analytics/pme"
	sealfuse "github.com/cofre-cc/cofre/sealfs/fuse"
)

// sparkFlags configure `cofre spark submit`.
type sparkFlags struct {
	pme             pmeFlags
	sparkSubmit     string
	master          string
	executors       int
	kmsJar          string
	localDir        string
	authSecretFile  string
	insecureLocal   bool
	extraConf       []string
	printOnly       bool
	jars            []string
	delta           bool
	plaintextOutput bool
}

func newSparkCmd() *cobra.Command {
	return newGroup("spark", "Run Apache Spark jobs as confidential workloads", newSparkSubmitCmd(), newSparkMasterCmd(), newSparkWorkerCmd(), newSparkExecutorCmd())
}

func newSparkSubmitCmd() *cobra.Command {
	var f sparkFlags
	cmd := &cobra.Command{
		Use:   "submit [flags] JOB.py [ARGS…]",
		Short: "Start spark-submit with the confidential configuration (run it under cofre run)",
		Long: `Starts spark-submit with a configuration that keeps a Spark job's data
encrypted, for a job that runs as an attested workload (the policy's command is
"cofre spark submit …", so cofre run measures cofre and hands it the
coordinator and the workload certificate):

  - Parquet modular encryption through parquet-java's PropertiesDrivenCryptoFactory
    with cofre's KmsClient (spark/kms-client): data keys are wrapped by the
    coordinator's KMS under the policy's parquet-master-key secrets, for the
    services the policy grants them; --footer-key and --column-keys set what
    the job writes (the same flags as cofre datagen).
  - spark.authenticate with the job's secret (--auth-secret-file: a file the
    policy writes, e.g. a per-activation symmetric secret), RPC encryption
    (spark.network.crypto.enabled) and I/O encryption of shuffle, spill and
    broadcast files (spark.io.encryption.enabled).
  - spark.local.dir on a mounted sealfs volume (--local-dir; checked), so even
    what Spark writes to local disk is authenticated ciphertext.

--print prints the spark-submit command line instead of running it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flagsFromEnv(cmd.Flags(), "COFRE_SPARK_"); err != nil {
				return err
			}
			return runSparkSubmit(cmd.OutOrStdout(), &f, args)
		},
	}
	fl := cmd.Flags()
	f.pme.register(fl, "", "")
	fl.StringVar(&f.sparkSubmit, "spark-submit", "", "the spark-submit program (default: $SPARK_HOME/bin/spark-submit, else spark-submit on PATH)")
	fl.StringVar(&f.master, "master", "local[*]", "Spark master URL")
	fl.IntVar(&f.executors, "executors", 0, "number of executors (spark.executor.instances; 0: Spark's default)")
	fl.StringVar(&f.kmsJar, "kms-jar", "", "cofre's Spark KMS client jar (spark/kms-client; env COFRE_SPARK_KMS_JAR)")
	fl.StringVar(&f.localDir, "local-dir", "", "spark.local.dir: a directory on a mounted sealfs volume (required)")
	fl.BoolVar(&f.insecureLocal, "insecure-local-dir", false, "accept a --local-dir that is not on a sealfs volume (development only: shuffle and spill files are then only AES-CTR-encrypted by Spark, not authenticated, and their key is in memory only)")
	fl.StringVar(&f.authSecretFile, "auth-secret-file", "", "file with the job's spark.authenticate secret (required unless the master is local)")
	fl.StringArrayVar(&f.extraConf, "conf", nil, "more KEY=VALUE Spark properties (the confidential ones cannot be overridden)")
	fl.BoolVar(&f.printOnly, "print", false, "print the spark-submit command line, do not run it")
	fl.StringSliceVar(&f.jars, "jars", nil, "more jars for the job (e.g. delta-spark and delta-storage)")
	fl.BoolVar(&f.plaintextOutput, "plaintext-output", false, "allow no --footer-key: Parquet the job writes is then plaintext (for jobs that only read encrypted data and print results)")
	fl.BoolVar(&f.delta, "delta", false, "enable Delta Lake (delta-spark in --jars), with no per-file statistics in the log (they would be plaintext min/max values)")
	return cmd
}

// sparkPageBytes is parquet.page.size for encrypted output: parquet-java's
// default row group size (parquet.block.size, 128 MiB), so a column chunk
// is one page. parquet-java buffers a row group in memory whatever the
// page size, so this costs no memory.
const sparkPageBytes = 128 << 20

// sparkProtectedPrefixes are the properties --conf may not set: what cofre
// sets for the job's confidentiality, and what would leak plaintext or
// swap the code that handles keys. Keys are compared after trimming and
// with "spark.hadoop." also stripped (Hadoop trims names, Spark strips the
// prefix), so no spelling slips through.
var sparkProtectedPrefixes = []string{
	"spark.authenticate", "spark.network.crypto.", "spark.io.encryption.", "spark.local.dir",
	"parquet.crypto.", "parquet.encryption.", "cofre.", "spark.hadoop.",
	"spark.eventLog.", "spark.ui.", "spark.executorEnv.", "spark.driverEnv.",
	"spark.driver.extraClassPath", "spark.executor.extraClassPath",
	"spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions",
	"spark.driver.userClassPathFirst", "spark.executor.userClassPathFirst",
	"spark.jars", "spark.databricks.delta.properties.defaults.",
}

// sparkRPC is Spark's RPC protection: encryption after authentication
// with the shared secret (key exchange version 2), and no fallback to
// SASL, which a network attacker could force and which then sends
// everything unencrypted. The cipher stays Spark's default, AES-CTR, which
// does not detect altered bytes: Spark 3.5.8's AES-GCM transport hangs
// when several files stream at once (measured: a job with three --jars
// never starts), so integrity of RPC between the job's processes is not
// provided yet.
var sparkRPC = map[string]string{
	"spark.network.crypto.enabled":           "true",
	"spark.network.crypto.saslFallback":      "false",
	"spark.network.crypto.authEngineVersion": "2",
}

// checkSparkConf refuses a --conf key that is protected, however spelled.
func checkSparkConf(k string) error {
	if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return usagef("--conf %q: a key is printable, without spaces", k)
	}
	for _, name := range []string{k, strings.TrimPrefix(k, "spark.hadoop.")} {
		for _, p := range sparkProtectedPrefixes {
			if strings.HasPrefix(name, p) {
				return usagef("--conf %s: cofre sets it, or it could weaken the job's confidentiality (set encryption with --footer-key and the other flags)", k)
			}
		}
	}
	return nil
}

func runSparkSubmit(stdout io.Writer, f *sparkFlags, args []string) error {
	argv, env, err := sparkCommand(f, args)
	if err != nil {
		return err
	}
	if f.printOnly {
		fmt.Fprintln(stdout, strings.Join(argv, " "))
		return nil
	}
	// exec: the job becomes this process, so cofre run supervises Spark
	// itself and its exit status is the job's.
	return syscall.Exec(argv[0], argv, env)
}

// sparkCommand builds the spark-submit command line and environment.
func sparkCommand(f *sparkFlags, args []string) ([]string, []string, error) {
	local := f.master == "local" || strings.HasPrefix(f.master, "local[")
	submit := f.sparkSubmit
	if submit == "" {
		if home := os.Getenv("SPARK_HOME"); home != "" {
			submit = filepath.Join(home, "bin", "spark-submit")
		} else if p, err := exec.LookPath("spark-submit"); err == nil {
			submit = p
		} else {
			return nil, nil, usagef("spark-submit not found: give --spark-submit or set SPARK_HOME")
		}
	}
	jar := f.kmsJar
	if jar == "" {
		jar = os.Getenv("COFRE_SPARK_KMS_JAR")
	}
	if jar == "" {
		return nil, nil, usagef("--kms-jar (or COFRE_SPARK_KMS_JAR) is required: the Spark KMS client that reaches the coordinator")
	}
	jar = workloadPath(jar)
	if _, err := os.Stat(jar); err != nil {
		return nil, nil, usagef("--kms-jar: %v", err)
	}
	if f.localDir == "" {
		return nil, nil, usagef("--local-dir is required: Spark's shuffle and spill directory, on a sealfs volume")
	}
	localDir := workloadPath(f.localDir)
	if !f.insecureLocal {
		if _, err := sealfuse.OnVolume(localDir); err != nil {
			return nil, nil, usagef("--local-dir: %v (or --insecure-local-dir for development)", err)
		}
	}
	resolved, err := filepath.EvalSymlinks(localDir)
	if err != nil {
		return nil, nil, usagef("--local-dir: %v", err)
	}

	conf := map[string]string{
		"spark.io.encryption.enabled":                          "true",
		"spark.io.encryption.keySizeBits":                      "256",
		"spark.local.dir":                                      resolved,
		"spark.hadoop.parquet.crypto.factory.class":            "org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory",
		"spark.hadoop.parquet.encryption.kms.client.class":     "cc.cofre.spark.CofreKmsClient",
		"spark.hadoop.parquet.encryption.plaintext.footer":     strconv.FormatBool(f.pme.plaintextFooter),
		"spark.hadoop.parquet.encryption.double.wrapping":      strconv.FormatBool(!f.pme.singleWrapping),
		"spark.hadoop.parquet.encryption.data.key.length.bits": strconv.Itoa(f.pme.dataKeyBits),
		"spark.ui.enabled":                                     "false",
	}
	if f.pme.algorithm != "" {
		conf["spark.hadoop.parquet.encryption.algorithm"] = f.pme.algorithm
	}
	// Column keys are refused: parquet-java 1.13 (Spark 3.5) does not
	// implement parquet.encryption.complete.columns, so the columns a job
	// did not list would be written in plaintext (measured), and arrow-go
	// v18.8.0 misreads the padded page headers parquet-java writes for
	// them. One key encrypts every column; a chunk per page makes the
	// files readable by DuckDB's reader in cofre query, whose decryption
	// handles only single-page chunks (docs/analytics.md).
	// Without a key, parquet-java writes plaintext Parquet without a word.
	if f.pme.footerKey == "" && !f.plaintextOutput {
		return nil, nil, usagef("--footer-key is required: without it the job writes Parquet in plaintext (--plaintext-output if it writes nothing secret)")
	}
	if f.pme.plaintextFooter || f.pme.algorithm == pme.AlgorithmGCMCTR {
		return nil, nil, usagef("--plaintext-footer and AES_GCM_CTR_V1 are not offered for Spark: readers would see the schema, or accept altered pages")
	}
	if f.pme.columnKeys != "" {
		return nil, nil, usagef("--column-keys: not with Spark 3.5 (parquet-java 1.13 would leave unlisted columns in plaintext); use --footer-key alone")
	}
	if f.pme.footerKey != "" {
		conf["spark.hadoop.parquet.encryption.uniform.key"] = f.pme.footerKey
		conf["spark.hadoop.parquet.page.size"] = strconv.Itoa(sparkPageBytes)
		conf["spark.hadoop.parquet.page.row.count.limit"] = strconv.Itoa(math.MaxInt32)
	}
	maps.Copy(conf, sparkRPC)
	if f.executors > 0 {
		conf["spark.executor.instances"] = strconv.Itoa(f.executors)
	}
	// Spark's own variables would override spark.local.dir.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "SPARK_LOCAL_DIRS=") || strings.HasPrefix(kv, "SPARK_EXECUTOR_DIRS=")
	})
	// Every process of the job — driver, executors, the external shuffle
	// service — proves it holds the job's secret; with it, RPC is
	// encrypted (AES-GCM, keys from the secret).
	conf["spark.authenticate"] = "true"
	var propsFile string
	if f.authSecretFile != "" {
		secret, err := readSparkSecret(f.authSecretFile)
		if err != nil {
			return nil, nil, err
		}
		// The driver takes the secret only as configuration
		// (spark.authenticate.secret; the .file variant is Kubernetes
		// only): a properties file next to the policy's secret file, in
		// the same memory-backed directory, keeps it off the command line.
		propsFile = filepath.Join(filepath.Dir(workloadPath(f.authSecretFile)), ".spark-auth.properties")
		if err := os.WriteFile(propsFile, []byte("spark.authenticate.secret="+secret+"\n"), 0o600); err != nil {
			return nil, nil, fmt.Errorf("spark: %w", err)
		}
	} else if !local {
		// In local mode Spark makes a random secret itself (one process,
		// no peer to authenticate).
		return nil, nil, usagef("--auth-secret-file is required with master %s: executors must prove they belong to this job", f.master)
	}
	for _, kv := range f.extraConf {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, nil, usagef("--conf %q: want KEY=VALUE", kv)
		}
		if err := checkSparkConf(k); err != nil {
			return nil, nil, err
		}
		conf[k] = v
	}
	if f.delta {
		conf["spark.sql.extensions"] = "io.delta.sql.DeltaSparkSessionExtension"
		conf["spark.sql.catalog.spark_catalog"] = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
		// New tables keep no column statistics in their (plaintext) log.
		conf["spark.databricks.delta.properties.defaults.dataSkippingNumIndexedCols"] = "0"
	}
	jars := []string{jar}
	for _, j := range f.jars {
		j = workloadPath(j)
		if _, err := os.Stat(j); err != nil {
			return nil, nil, usagef("--jars: %v", err)
		}
		jars = append(jars, j)
	}
	argv := []string{submit, "--master", f.master, "--jars", strings.Join(jars, ",")}
	if propsFile != "" {
		argv = append(argv, "--properties-file", propsFile)
	}
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		argv = append(argv, "--conf", k+"="+conf[k])
	}
	job := args[0]
	if !strings.HasSuffix(job, ".py") {
		return nil, nil, usagef("%s: a PySpark job (.py) is expected", job)
	}
	argv = append(argv, workloadPath(job))
	argv = append(argv, args[1:]...)
	return argv, env, nil
}

// readSparkSecret reads the job's shared secret (the policy writes it, e.g.
// {{ secret "spark_secret" "hex" }}): printable, without spaces, at least
// 16 characters.
func readSparkSecret(path string) (string, error) {
	b, err := os.ReadFile(workloadPath(path))
	if err != nil {
		return "", usagef("--auth-secret-file: %v", err)
	}
	secret := strings.TrimSpace(string(b))
	if len(secret) < 16 || strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return "", usagef("--auth-secret-file: want at least 16 printable characters without spaces (e.g. a hex secret)")
	}
	return secret, nil
}

// workloadPath finds a path the policy names where the launcher put it:
// below COFRE_FILES_ROOT when cofre run was given --files-root
// (simulation only), else where it says.
//
// A path with nothing below the files root is the host image's own (a job
// script, a jar) and is taken as it is.
func workloadPath(p string) string {
	if fr := os.Getenv(envFilesRoot); fr != "" && filepath.IsAbs(p) {
		if q := underFilesRoot(fr, p); fileExists(q) {
			return q
		}
	}
	return p
}

// underFilesRoot is where the launcher put the policy's absolute path p
// below root: "..", however spelled, stays inside root.
func underFilesRoot(root, p string) string {
	return filepath.Join(root, filepath.Clean("/"+p))
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
