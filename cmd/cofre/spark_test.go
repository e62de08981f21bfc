package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/manifest"
)

func TestSparkCommand(t *testing.T) {
	dir := t.TempDir()
	jar := filepath.Join(dir, "kms.jar")
	submit := filepath.Join(dir, "spark-submit")
	secret := filepath.Join(dir, "secret")
	short := filepath.Join(dir, "short")
	for p, c := range map[string]string{jar: "jar", submit: "#!/bin/sh", secret: strings.Repeat("s", 64), short: "abc"} {
		if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := func() *sparkFlags {
		return &sparkFlags{sparkSubmit: submit, master: "local[2]", kmsJar: jar, localDir: dir, insecureLocal: true,
			pme: pmeFlags{footerKey: "trips_key", algorithm: "AES_GCM_V1", dataKeyBits: 256}}
	}
	argv, _, err := sparkCommand(base(), []string{"job.py", "arg"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"spark.authenticate=true", "spark.network.crypto.enabled=true", "spark.io.encryption.enabled=true",
		"spark.network.crypto.saslFallback=false", "spark.network.crypto.authEngineVersion=2",
		"spark.hadoop.parquet.crypto.factory.class=org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory",
		"spark.hadoop.parquet.encryption.kms.client.class=cc.cofre.spark.CofreKmsClient",
		"spark.hadoop.parquet.encryption.uniform.key=trips_key",
		"spark.hadoop.parquet.encryption.data.key.length.bits=256",
	} {
		if !slices.Contains(argv, want) {
			t.Errorf("missing --conf %s in %v", want, argv)
		}
	}
	if argv[0] != submit || argv[len(argv)-2] != "job.py" || argv[len(argv)-1] != "arg" {
		t.Errorf("argv %v", argv)
	}

	if !slices.Contains(argv, "spark.hadoop.parquet.page.row.count.limit=2147483647") {
		t.Errorf("encrypted output is not one page per chunk: %v", argv)
	}
	withDelta := base()
	withDelta.delta, withDelta.jars = true, []string{jar}
	if argv, _, err := sparkCommand(withDelta, []string{"job.py"}); err != nil ||
		!slices.Contains(argv, "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension") ||
		!slices.Contains(argv, "spark.databricks.delta.properties.defaults.dataSkippingNumIndexedCols=0") ||
		!slices.Contains(argv, jar+","+jar) {
		t.Errorf("delta: %v, %v", argv, err)
	}
	cluster := base()
	cluster.master, cluster.authSecretFile = "spark://127.0.0.1:7077", secret
	argv, _, err = sparkCommand(cluster, []string{"job.py"})
	props := filepath.Join(dir, ".spark-auth.properties")
	if err != nil || !slices.Contains(argv, props) || strings.Contains(strings.Join(argv, " "), strings.Repeat("s", 64)) {
		t.Errorf("cluster: %v, %v", argv, err)
	}
	if b, err := os.ReadFile(props); err != nil || string(b) != "spark.authenticate.secret="+strings.Repeat("s", 64)+"\n" {
		t.Errorf("properties file: %q, %v", b, err)
	}

	for name, mod := range map[string]func(f *sparkFlags){
		"cluster without a secret":  func(f *sparkFlags) { f.master = "spark://127.0.0.1:7077" },
		"short secret":              func(f *sparkFlags) { f.master, f.authSecretFile = "spark://h:7077", short },
		"local dir not on sealfs":   func(f *sparkFlags) { f.insecureLocal = false },
		"no local dir":              func(f *sparkFlags) { f.localDir = "" },
		"no kms jar":                func(f *sparkFlags) { f.kmsJar = "" },
		"missing kms jar":           func(f *sparkFlags) { f.kmsJar = filepath.Join(dir, "nope.jar") },
		"protected conf":            func(f *sparkFlags) { f.extraConf = []string{"spark.io.encryption.enabled=false"} },
		"encryption through --conf": func(f *sparkFlags) { f.extraConf = []string{"spark.hadoop.parquet.encryption.footer.key=k"} },
		"malformed conf":            func(f *sparkFlags) { f.extraConf = []string{"novalue"} },
		"column keys":               func(f *sparkFlags) { f.pme.columnKeys = "k:c" },
	} {
		f := base()
		mod(f)
		t.Setenv("COFRE_SPARK_KMS_JAR", "")
		var ue usageError
		if _, _, err := sparkCommand(f, []string{"job.py"}); !errors.As(err, &ue) {
			t.Errorf("%s: %v, want a usage error", name, err)
		}
	}
	readOnly := base()
	readOnly.pme.footerKey, readOnly.plaintextOutput = "", true
	if argv, _, err := sparkCommand(readOnly, []string{"job.py"}); err != nil || slices.ContainsFunc(argv, func(a string) bool { return strings.Contains(a, "uniform.key") }) {
		t.Errorf("--plaintext-output: %v, %v", argv, err)
	}
	t.Setenv("SPARK_LOCAL_DIRS", "/tmp/plain")
	if _, env, err := sparkCommand(base(), []string{"job.py"}); err != nil || slices.Contains(env, "SPARK_LOCAL_DIRS=/tmp/plain") {
		t.Errorf("SPARK_LOCAL_DIRS reached spark-submit: %v", err)
	}
	if _, _, err := sparkCommand(base(), []string{"job.jar"}); err == nil {
		t.Error("a non-Python job was accepted")
	}
}

func TestSparkDaemonCommand(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "bin", "spark-class"), []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	worker := func() *sparkDaemonFlags {
		return &sparkDaemonFlags{sparkHome: home, master: "spark://127.0.0.1:7077", authSecretFile: secret, localDir: local, insecureLocal: true, cores: 1, memory: "1g"}
	}
	argv, env, err := sparkDaemonCommand(worker(), false)
	if err != nil {
		t.Fatal(err)
	}
	if argv[1] != "org.apache.spark.deploy.worker.Worker" || !slices.Contains(env, "_SPARK_AUTH_SECRET=0123456789abcdef0123456789abcdef") ||
		!slices.Contains(env, "SPARK_LOCAL_DIRS="+local) || strings.Contains(strings.Join(argv, " "), "0123456789abcdef") {
		t.Errorf("worker: %v", argv)
	}
	argv, env, err = sparkDaemonCommand(&sparkDaemonFlags{sparkHome: home, host: "127.0.0.1", port: 7077, authSecretFile: secret}, true)
	if err != nil || argv[1] != "org.apache.spark.deploy.master.Master" || !slices.Contains(env, "SPARK_MASTER_OPTS=-Dspark.authenticate=true -Dspark.network.crypto.authEngineVersion=2 -Dspark.network.crypto.enabled=true -Dspark.network.crypto.saslFallback=false") {
		t.Errorf("master: %v %v", argv, err)
	}
	for name, mod := range map[string]func(f *sparkDaemonFlags){
		"no secret":               func(f *sparkDaemonFlags) { f.authSecretFile = "" },
		"missing secret file":     func(f *sparkDaemonFlags) { f.authSecretFile = filepath.Join(local, "nope") },
		"no local dir":            func(f *sparkDaemonFlags) { f.localDir = "" },
		"local dir not on sealfs": func(f *sparkDaemonFlags) { f.insecureLocal = false },
		"bad master URL":          func(f *sparkDaemonFlags) { f.master = "http://x" },
		"no spark home":           func(f *sparkDaemonFlags) { f.sparkHome = t.TempDir() },
	} {
		f := worker()
		mod(f)
		var ue usageError
		if _, _, err := sparkDaemonCommand(f, false); !errors.As(err, &ue) {
			t.Errorf("%s: %v, want a usage error", name, err)
		}
	}
}

func TestSparkExecutorCommand(t *testing.T) {
	home := t.TempDir()
	for _, d := range []string{"bin", "jars"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(home, "bin", "spark-class"), []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secret, jar := filepath.Join(dir, "secret"), filepath.Join(dir, "kms.jar")
	os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef"), 0o600)
	os.WriteFile(jar, []byte("jar"), 0o600)
	t.Setenv("JAVA_HOME", "/opt/java")
	base := func() *sparkExecutorFlags {
		return &sparkExecutorFlags{
			daemon:    sparkDaemonFlags{sparkHome: home, authSecretFile: secret, localDir: dir, insecureLocal: true, memory: "2g"},
			driverURL: "spark://CoarseGrainedScheduler@driver-svc.spark.svc:7078", executorID: "3", appID: "spark-0a1b2c",
			hostname: "10.1.2.3", podName: "job-exec-3", kmsJar: jar, cores: 2,
		}
	}
	argv, env, err := sparkExecutorCommand(base())
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(argv, " ")
	for _, want := range []string{"/opt/java/bin/java -Xms2g -Xmx2g -Dspark.authenticate=true", "-Dspark.network.crypto.saslFallback=false",
		"org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend --driver-url spark://CoarseGrainedScheduler@driver-svc.spark.svc:7078 --executor-id 3 --cores 2 --app-id spark-0a1b2c --hostname 10.1.2.3"} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing %q in %s", want, joined)
		}
	}
	if strings.Contains(joined, "0123456789abcdef") || !slices.Contains(env, "_SPARK_AUTH_SECRET=0123456789abcdef0123456789abcdef") {
		t.Errorf("the secret must be in the environment only: %s", joined)
	}
	for name, mod := range map[string]func(f *sparkExecutorFlags){
		"driver URL elsewhere":   func(f *sparkExecutorFlags) { f.driverURL = "http://evil:80" },
		"driver URL injection":   func(f *sparkExecutorFlags) { f.driverURL = "spark://CoarseGrainedScheduler@h:1 --x" },
		"executor id not number": func(f *sparkExecutorFlags) { f.executorID = "3;x" },
		"app id":                 func(f *sparkExecutorFlags) { f.appID = "app" },
		"hostname":               func(f *sparkExecutorFlags) { f.hostname = "a b" },
		"pod name":               func(f *sparkExecutorFlags) { f.podName = "Bad_Name" },
		"cores":                  func(f *sparkExecutorFlags) { f.cores = 0 },
		"memory":                 func(f *sparkExecutorFlags) { f.daemon.memory = "-XX:x" },
		"no secret":              func(f *sparkExecutorFlags) { f.daemon.authSecretFile = "" },
		"no local dir":           func(f *sparkExecutorFlags) { f.daemon.localDir = "" },
		"not on sealfs":          func(f *sparkExecutorFlags) { f.daemon.insecureLocal = false },
		"no kms jar":             func(f *sparkExecutorFlags) { f.kmsJar = ""; t.Setenv("COFRE_SPARK_KMS_JAR", "") },
	} {
		f := base()
		mod(f)
		var ue usageError
		if _, _, err := sparkExecutorCommand(f); !errors.As(err, &ue) {
			t.Errorf("%s: %v, want a usage error", name, err)
		}
	}
}

// deploy/spark/policy.yaml parses and validates, and its executor's host
// parameters take what Spark sets in an executor pod and refuse injected
// values.
func TestSparkKubernetesPolicy(t *testing.T) {
	doc, err := os.ReadFile("../../deploy/spark/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse("policy.yaml", doc)
	if err != nil {
		t.Fatal(err)
	}
	if problems := m.Validate(); len(problems) > 0 {
		t.Fatalf("validate: %v", problems)
	}
	if err := m.DryRun(); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	params := m.Services["executor"].HostParams
	match := func(name, v string) bool {
		return regexp.MustCompile(`^(?:` + params[name].Pattern + `)$`).MatchString(v)
	}
	good := map[string]string{
		"driver_url": "spark://CoarseGrainedScheduler@spark-6f1c-driver-svc.lake.svc:7078", "executor_id": "12",
		"cores": "2", "app_id": "spark-9b2f0e6c1d4a4c0f", "pod_ip": "10.244.1.17", "pod_name": "taxi-count-6f1c-exec-12",
	}
	for k, v := range good {
		if !match(k, v) {
			t.Errorf("%s=%q refused", k, v)
		}
	}
	for k, v := range map[string]string{
		"driver_url": "spark://CoarseGrainedScheduler@evil:1 --conf x", "executor_id": "1 2",
		"app_id": "spark-x;rm", "pod_ip": "10.0.0.1 --x", "pod_name": "A_B",
	} {
		if match(k, v) {
			t.Errorf("%s=%q accepted", k, v)
		}
	}
}
