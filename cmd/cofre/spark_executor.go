package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// sparkExecutorFlags configure cofre spark executor: what Spark's
// Kubernetes entrypoint passes a KubernetesExecutorBackend, taken as the
// policy's declared host parameters.
type sparkExecutorFlags struct {
	daemon                                                  sparkDaemonFlags
	driverURL, executorID, appID, hostname, podName, kmsJar string
	cores, resourceProfileID                                int
}

// Shapes of the values Spark gives an executor pod (the policy's
// host_params patterns should be at least as strict).
var (
	sparkDriverURL = regexp.MustCompile(`^spark://CoarseGrainedScheduler@[A-Za-z0-9.-]{1,253}:[0-9]{1,5}$`)
	sparkAppID     = regexp.MustCompile(`^spark-[a-f0-9]{1,64}$`)
	sparkHostname  = regexp.MustCompile(`^[A-Za-z0-9.:-]{1,253}$`)
	sparkPodName   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?$`)
)

func newSparkExecutorCmd() *cobra.Command {
	var f sparkExecutorFlags
	cmd := &cobra.Command{
		Use:   "executor --driver-url URL --executor-id N --app-id ID --hostname IP --auth-secret-file F --local-dir DIR",
		Short: "Start a Spark executor on Kubernetes as its own attested workload",
		Long: `Execs Spark's Kubernetes executor backend. On Kubernetes each executor is a pod,
so each is its own workload: the pod runs cofre run, which attests it, and the
policy's command is this one, with the values Spark sets in the pod
(SPARK_DRIVER_URL, SPARK_EXECUTOR_ID, …) passed as declared host parameters
(deploy/spark/). The executor proves the job's secret (spark.authenticate,
from --auth-secret-file), keeps shuffle and spill on a sealfs volume, and reaches
the KMS with its own certificate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			argv, env, err := sparkExecutorCommand(&f)
			if err != nil {
				return err
			}
			if f.daemon.printOnly {
				_, err := io.WriteString(cmd.OutOrStdout(), strings.Join(argv, " ")+"\n")
				return err
			}
			return syscall.Exec(argv[0], argv, env)
		},
	}
	fl := cmd.Flags()
	f.daemon.register(fl)
	fl.StringVar(&f.driverURL, "driver-url", "", "spark://CoarseGrainedScheduler@HOST:PORT (SPARK_DRIVER_URL)")
	fl.StringVar(&f.executorID, "executor-id", "", "the executor's ID (SPARK_EXECUTOR_ID)")
	fl.StringVar(&f.appID, "app-id", "", "the application's ID (SPARK_APPLICATION_ID)")
	fl.StringVar(&f.hostname, "hostname", "", "the pod's IP (SPARK_EXECUTOR_POD_IP)")
	fl.StringVar(&f.podName, "pod-name", "", "the pod's name (SPARK_EXECUTOR_POD_NAME)")
	fl.IntVar(&f.cores, "cores", 1, "cores (SPARK_EXECUTOR_CORES)")
	fl.IntVar(&f.resourceProfileID, "resource-profile-id", 0, "SPARK_RESOURCE_PROFILE_ID")
	fl.StringVar(&f.daemon.memory, "memory", "1g", "the JVM's heap (SPARK_EXECUTOR_MEMORY)")
	fl.StringVar(&f.daemon.localDir, "local-dir", "", "SPARK_LOCAL_DIRS: on a mounted sealfs volume (required)")
	fl.StringVar(&f.kmsJar, "kms-jar", "", "cofre's Spark KMS client jar (env COFRE_SPARK_KMS_JAR)")
	return cmd
}

// sparkExecutorCommand builds the java command line and environment.
func sparkExecutorCommand(f *sparkExecutorFlags) ([]string, []string, error) {
	switch {
	case !sparkDriverURL.MatchString(f.driverURL):
		return nil, nil, usagef("--driver-url %q: want spark://CoarseGrainedScheduler@HOST:PORT", f.driverURL)
	case f.executorID == "" || strings.Trim(f.executorID, "0123456789") != "" || len(f.executorID) > 18:
		return nil, nil, usagef("--executor-id %q: want a number", f.executorID)
	case !sparkAppID.MatchString(f.appID):
		return nil, nil, usagef("--app-id %q: want spark-<hex>", f.appID)
	case !sparkHostname.MatchString(f.hostname):
		return nil, nil, usagef("--hostname %q: want an address", f.hostname)
	case f.podName != "" && !sparkPodName.MatchString(f.podName):
		return nil, nil, usagef("--pod-name %q: want a Kubernetes name", f.podName)
	case f.cores < 1 || f.cores > 1024 || f.resourceProfileID < 0:
		return nil, nil, usagef("--cores must be 1 to 1024, --resource-profile-id not negative")
	case !regexp.MustCompile(`^[0-9]{1,6}[kmgt]?$`).MatchString(f.daemon.memory):
		return nil, nil, usagef("--memory %q: want e.g. 4g", f.daemon.memory)
	}
	// The worker's rules (secret, sealfs local dir, Spark home) apply.
	home, env, err := sparkBase(&f.daemon)
	if err != nil {
		return nil, nil, err
	}
	local, err := sparkLocalDir(&f.daemon)
	if err != nil {
		return nil, nil, err
	}
	env = append(env, "SPARK_LOCAL_DIRS="+local)
	jar := f.kmsJar
	if jar == "" {
		jar = os.Getenv("COFRE_SPARK_KMS_JAR")
	}
	if jar == "" {
		return nil, nil, usagef("--kms-jar (or COFRE_SPARK_KMS_JAR) is required")
	}
	jar = workloadPath(jar)
	if _, err := os.Stat(jar); err != nil {
		return nil, nil, usagef("--kms-jar: %v", err)
	}
	java, err := exec.LookPath("java")
	if jh := os.Getenv("JAVA_HOME"); jh != "" {
		java, err = filepath.Join(jh, "bin", "java"), nil
	}
	if err != nil {
		return nil, nil, usagef("java not found: set JAVA_HOME or PATH in the policy")
	}
	cmd := []string{java, "-Xms" + f.daemon.memory, "-Xmx" + f.daemon.memory}
	cmd = append(cmd, strings.Fields(sparkDaemonOpts())...)
	cmd = append(cmd, "-cp", filepath.Join(home, "jars", "*")+":"+jar,
		"org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend",
		"--driver-url", f.driverURL, "--executor-id", f.executorID, "--cores", strconv.Itoa(f.cores),
		"--app-id", f.appID, "--hostname", f.hostname, "--resourceProfileId", strconv.Itoa(f.resourceProfileID))
	if f.podName != "" {
		cmd = append(cmd, "--podName", f.podName)
	}
	return cmd, env, nil
}
