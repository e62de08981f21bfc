package main

import (
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	sealfuse "github.com/cofre-cc/cofre/sealfs/fuse"
)

// sparkDaemonFlags configure cofre spark master and cofre spark worker.
type sparkDaemonFlags struct {
	sparkHome, host, master, localDir, authSecretFile, memory string
	port, webUIPort, cores                                    int
	insecureLocal, printOnly                                  bool
}

func newSparkMasterCmd() *cobra.Command {
	var f sparkDaemonFlags
	cmd := &cobra.Command{
		Use:   "master --auth-secret-file F [--host H] [--port P]",
		Short: "Start a Spark standalone master that admits only processes holding the job's secret",
		Long: `Execs Spark's standalone master with spark.authenticate on and the shared
secret from --auth-secret-file (a file the policy writes): workers and drivers
that did not get the secret — because their attestation did not match the
policy — cannot register. Run it under cofre run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSparkDaemon(cmd.OutOrStdout(), &f, true)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.host, "host", "127.0.0.1", "address to listen on")
	fl.IntVar(&f.port, "port", 7077, "port to listen on")
	f.register(fl)
	return cmd
}

func newSparkWorkerCmd() *cobra.Command {
	var f sparkDaemonFlags
	cmd := &cobra.Command{
		Use:   "worker --master spark://HOST:PORT --auth-secret-file F --local-dir DIR",
		Short: "Start a Spark standalone worker whose executors inherit this attested workload",
		Long: `Execs a Spark standalone worker with spark.authenticate on and the shared secret
from --auth-secret-file. The executors it starts are its child processes: they
inherit this workload's environment — its certificate and the coordinator it
verified — so they unwrap Parquet keys through the KMS as this service, and
nothing else does. Shuffle, spill and the executors' work directories go to
--local-dir, which must be on a mounted sealfs volume. Run it under cofre run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSparkDaemon(cmd.OutOrStdout(), &f, false)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.master, "master", "", "the master's URL, spark://HOST:PORT (required)")
	fl.IntVar(&f.cores, "cores", 1, "cores for executors")
	fl.StringVar(&f.memory, "memory", "1g", "memory for executors")
	fl.StringVar(&f.localDir, "local-dir", "", "SPARK_LOCAL_DIRS and the work directory: on a mounted sealfs volume (required)")
	fl.BoolVar(&f.insecureLocal, "insecure-local-dir", false, "accept a --local-dir that is not on a sealfs volume (development only)")
	f.register(fl)
	return cmd
}

func (f *sparkDaemonFlags) register(fl interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	BoolVar(*bool, string, bool, string)
}) {
	fl.StringVar(&f.sparkHome, "spark-home", "", "Spark's home (default: $SPARK_HOME, else the directory of spark-submit on PATH)")
	fl.StringVar(&f.authSecretFile, "auth-secret-file", "", "file with the cluster's spark.authenticate secret (required)")
	fl.IntVar(&f.webUIPort, "webui-port", 0, "web UI port (0: Spark's default)")
	fl.BoolVar(&f.printOnly, "print", false, "print the command line, do not run it")
}

func runSparkDaemon(stdout io.Writer, f *sparkDaemonFlags, master bool) error {
	argv, env, err := sparkDaemonCommand(f, master)
	if err != nil {
		return err
	}
	if f.printOnly {
		_, err := io.WriteString(stdout, strings.Join(argv, " ")+"\n")
		return err
	}
	return syscall.Exec(argv[0], argv, env)
}

// sparkDaemonCommand builds the spark-class command line and environment
// of a standalone master or worker.
func sparkDaemonCommand(f *sparkDaemonFlags, master bool) ([]string, []string, error) {
	home, env, err := sparkBase(f)
	if err != nil {
		return nil, nil, err
	}
	class := filepath.Join(home, "bin", "spark-class")
	var argv []string
	if master {
		argv = []string{class, "org.apache.spark.deploy.master.Master", "--host", f.host, "--port", strconv.Itoa(f.port)}
		env = append(env, "SPARK_MASTER_OPTS="+sparkDaemonOpts())
	} else {
		if !strings.HasPrefix(f.master, "spark://") {
			return nil, nil, usagef("--master %q: want spark://HOST:PORT", f.master)
		}
		local, err := sparkLocalDir(f)
		if err != nil {
			return nil, nil, err
		}
		work := filepath.Join(local, "work")
		if err := os.MkdirAll(work, 0o700); err != nil {
			return nil, nil, usagef("--local-dir: %v", err)
		}
		argv = []string{class, "org.apache.spark.deploy.worker.Worker", f.master,
			"--cores", strconv.Itoa(f.cores), "--memory", f.memory, "--work-dir", work}
		env = append(env, "SPARK_WORKER_OPTS="+sparkDaemonOpts(), "SPARK_LOCAL_DIRS="+local)
	}
	if f.webUIPort > 0 {
		argv = append(argv, "--webui-port", strconv.Itoa(f.webUIPort))
	}
	return argv, env, nil
}

// sparkBase finds Spark's home and makes the environment every Spark
// process of a cluster gets: the shared secret, read from the policy's
// file (Spark's daemons and executors take it from _SPARK_AUTH_SECRET,
// never from the command line, which other processes can read).
func sparkBase(f *sparkDaemonFlags) (string, []string, error) {
	if f.authSecretFile == "" {
		return "", nil, usagef("--auth-secret-file is required: only holders of the secret may join the cluster")
	}
	secret, err := readSparkSecret(f.authSecretFile)
	if err != nil {
		return "", nil, err
	}
	home := f.sparkHome
	if home == "" {
		home = os.Getenv("SPARK_HOME")
	}
	if home == "" {
		submit, err := exec.LookPath("spark-submit")
		if err != nil {
			return "", nil, usagef("Spark not found: give --spark-home or set SPARK_HOME")
		}
		if submit, err = filepath.EvalSymlinks(submit); err != nil {
			return "", nil, usagef("Spark not found: %v", err)
		}
		home = filepath.Dir(filepath.Dir(submit))
	}
	if _, err := os.Stat(filepath.Join(home, "bin", "spark-class")); err != nil {
		return "", nil, usagef("--spark-home: %v", err)
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "SPARK_LOCAL_DIRS=") || strings.HasPrefix(kv, "SPARK_EXECUTOR_DIRS=")
	})
	return home, append(env, "_SPARK_AUTH_SECRET="+secret, "SPARK_HOME="+home), nil
}

// sparkLocalDir checks and resolves --local-dir: on a mounted sealfs volume
// (unless --insecure-local-dir), by its resolved path.
func sparkLocalDir(f *sparkDaemonFlags) (string, error) {
	if f.localDir == "" {
		return "", usagef("--local-dir is required: shuffle, spill and work files, on a sealfs volume")
	}
	local := workloadPath(f.localDir)
	if !f.insecureLocal {
		if _, err := sealfuse.OnVolume(local); err != nil {
			return "", usagef("--local-dir: %v (or --insecure-local-dir for development)", err)
		}
	}
	resolved, err := filepath.EvalSymlinks(local)
	if err != nil {
		return "", usagef("--local-dir: %v", err)
	}
	return resolved, nil
}

// sparkDaemonOpts are the JVM options of a cluster's processes: the
// secret is required, RPC encrypted (sparkRPC).
func sparkDaemonOpts() string {
	opts := "-Dspark.authenticate=true"
	for _, k := range slices.Sorted(maps.Keys(sparkRPC)) {
		opts += " -D" + k + "=" + sparkRPC[k]
	}
	return opts
}
