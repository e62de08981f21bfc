package main

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/agent"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/guest"
	"github.com/cofre-cc/cofre/attest/sgx"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/attest/snp"
	"github.com/cofre-cc/cofre/attest/tdx"
	"github.com/cofre-cc/cofre/coordinator/client"
	"github.com/cofre-cc/cofre/launch"
	"github.com/cofre-cc/cofre/sealfs"
	sealfsfuse "github.com/cofre-cc/cofre/sealfs/fuse"
)

// runEnvPrefix prefixes the environment variable of every cofre run flag
// (COFRE_RUN_MANIFEST, COFRE_RUN_SERVICE…), so a pod spec sets them once.
// The coordinator flags keep their own (COFRE_COORDINATOR…).
const runEnvPrefix = "COFRE_RUN_"

type runFlags struct {
	coord                  coordFlags
	manifest, service, tee string
	agent, simPlatform     string
	filesRoot, tokenFile   string
	hostParams, measure    []string
	volumeDirs             []string
	supervise, printDigest bool
	logLevel, logFormat    string
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --coordinator URL --manifest NAME --service NAME [--tee auto|sim|sevsnp|tdx|sgx] [flags] -- CMD [ARGS…]",
		Short: "Attest, activate and run a program as a confidential workload",
		Long: `Run measures CMD (the SHA-256 of its executable and of every --measure file:
the workload digest), verifies the coordinator, proves with evidence from
this TEE that a fresh key and that digest run here, and on admission writes
the files the coordinator released (memory-backed storage only; the
workload key into the configuration's key files), sets the policy's
environment (nothing of the host's) and runs the policy's command — whose
executable must be the one measured. ARGS are ignored: the policy decides
the command line, and the host fills only the placeholders it declares
(--host-param).

Without --supervise cofre replaces itself with the program. With it, cofre
stays as the parent: it renews the workload certificate before it expires
(rewriting the files that hold it, and --token-file with the fresh token
that comes with the renewal), forwards signals and exits with the
program's status.

A refused activation exits 1 with the coordinator's reasons; nothing runs.
--print-digest prints the workload digest (for a manifest's
workload_digests) and exits.

Every flag can also be set in the environment: COFRE_RUN_ and the flag name
in capitals with _ for - (COFRE_RUN_MANIFEST, COFRE_RUN_HOST_PARAM=a=1,b=2);
the coordinator flags use COFRE_COORDINATOR, COFRE_INSECURE_SIMULATION….`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flagsFromEnv(cmd.Flags(), runEnvPrefix); err != nil {
				return err
			}
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			ctx := cmd.Context()
			if !f.supervise {
				// Supervise forwards signals to the program itself; a
				// context cancelled by the same signal would deliver it twice.
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
			}
			code, err := runRun(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f, args)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitCodeError(code)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	f.coord.register(fl, "key")
	fl.StringVar(&f.manifest, "manifest", "", "manifest (policy) name")
	fl.StringVar(&f.service, "service", "", "service name in the manifest")
	fl.StringVar(&f.tee, "tee", "auto", "where evidence comes from: auto, sim (the node agent or --sim-platform), sevsnp, tdx, sgx")
	fl.StringVar(&f.agent, "agent", "", "node agent address for sim evidence: unix:///run/cofre/agent.sock or http://HOST:PORT")
	fl.StringVar(&f.simPlatform, "sim-platform", "", "SIMULATION platform file to sign sim evidence locally (development, instead of --agent)")
	fl.StringVar(&f.filesRoot, "files-root", "", "write the workload's files below this memory-backed directory (COFRE_FILES_ROOT tells the program), instead of at their paths")
	fl.StringVar(&f.tokenFile, "token-file", "", "also write the workload's EAR token to this file (memory-backed; rewritten at each renewal under --supervise)")
	fl.StringArrayVar(&f.hostParams, "host-param", nil, "NAME=VALUE for a placeholder the service declares; repeatable")
	fl.StringArrayVar(&f.measure, "measure", nil, "a further file to measure into the workload digest (a script, a jar); repeatable, in order")
	fl.StringArrayVar(&f.volumeDirs, "volume-dir", nil, "NAME=DIR: where encrypted volume NAME keeps its ciphertext (default /var/lib/cofre/volumes/MANIFEST/SERVICE/NAME); repeatable")
	fl.BoolVar(&f.supervise, "supervise", false, "stay as the parent: renew the certificate, forward signals, return the program's exit status")
	fl.BoolVar(&f.printDigest, "print-digest", false, "print the workload digest of CMD and the --measure files, and exit")
	fl.StringVar(&f.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

// exitCodeError carries the supervised program's exit status.
type exitCodeError int

func (e exitCodeError) Error() string {
	return fmt.Sprintf("the program exited with status %d", int(e))
}

func runRun(ctx context.Context, stdout, stderr io.Writer, f runFlags, args []string) (int, error) {
	logger, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return 0, err
	}
	m, err := launch.Measure(args[0], f.measure...)
	if err != nil {
		return 0, usageError{err}
	}
	if f.printDigest {
		fmt.Fprintln(stdout, hex.EncodeToString(m.Digest))
		return 0, nil
	}
	if f.manifest == "" || f.service == "" {
		return 0, usagef("--manifest and --service are required")
	}
	params, err := parseHostParams(f.hostParams)
	if err != nil {
		return 0, err
	}
	producer, err := f.producer(m.Digest)
	if err != nil {
		return 0, err
	}
	hardware := producer.Format() != attest.FormatSim
	if hardware {
		// Inside a real TEE, a simulated coordinator (or one whose root
		// the host chose) could hand this workload any command line: the
		// launcher talks only to a coordinator it verified as hardware.
		if f.coord.insecureSimulation {
			return 0, usagef("--insecure-simulation with %s evidence: a workload in a real TEE trusts only a verified hardware coordinator", producer.Format())
		}
		if f.filesRoot != "" {
			return 0, usagef("--files-root with %s evidence: files go to the paths the policy names", producer.Format())
		}
	}
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return 0, err
	}
	if hardware && c.Simulation() {
		fmt.Fprintln(stderr, "REFUSED: the coordinator is simulated; a workload in a real TEE does not activate with it")
		return 0, refusedError{}
	}
	w, err := launch.Activate(ctx, c, launch.Request{Manifest: f.manifest, Service: f.service, Digest: m.Digest, HostParams: params, Producer: producer})
	if err != nil {
		var ae *client.APIError
		if errors.As(err, &ae) || errors.Is(err, client.ErrRefused) {
			return 0, coordError(stderr, err)
		}
		return 0, err
	}
	if w.Activation.Simulation {
		fmt.Fprintln(stderr, "WARNING: SIMULATION: this workload's attestation is simulated; its secrets are not protected")
	}
	// The coordinator this launcher verified, for a program that calls it
	// (the KMS, volume roots): public values, see envPinnedRoot.
	extra := map[string]string{
		"COFRE_COORDINATOR": f.coord.url,
		envPinnedRoot:       string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Root().Raw})),
	}
	if f.filesRoot != "" {
		extra[envFilesRoot] = f.filesRoot
	}
	if f.tokenFile != "" {
		extra[envTokenFile] = f.tokenFile
	}
	// The program is checked before any secret is written.
	prog, err := w.Program(m, extra)
	if err != nil {
		return 0, err
	}
	if len(w.Activation.Config.Volumes) > 0 && !f.supervise {
		return 0, usageError{launch.ErrVolumes}
	}
	volumeDirs, err := parseHostParams(f.volumeDirs)
	if err != nil {
		return 0, err
	}
	installed, err := w.Install(f.filesRoot)
	if err != nil {
		return 0, err
	}
	if f.tokenFile != "" {
		if installed.Holds(f.tokenFile) {
			installed.Remove()
			return 0, usagef("--token-file %s is one of the policy's files", f.tokenFile)
		}
		if err := launch.WriteSecretFile(f.tokenFile, []byte(w.Activation.Token)); err != nil {
			installed.Remove()
			return 0, err
		}
	}
	if len(args) > 1 {
		// Never the arguments themselves: the policy's may hold secrets.
		logger.Warn("the host's arguments are ignored: the policy's command runs", "ignored", len(args)-1)
	}
	logger.Info("admitted", "spiffe_id", w.Activation.SPIFFEID, "status", w.Activation.Status)
	if !f.supervise {
		err := prog.Exec()
		installed.Remove()
		return 0, err
	}
	root := c.Root()
	workloadClient := func(cert tls.Certificate) (*client.Client, error) {
		return client.New(f.coord.url, client.Options{Root: root, Certificate: &cert})
	}
	renewer := func(cert tls.Certificate) (launch.Renewer, error) { return workloadClient(cert) }
	var volumes *launch.Volumes
	if len(w.Activation.Config.Volumes) > 0 {
		wc, err := workloadClient(tls.Certificate{Certificate: append([][]byte{w.Leaf.Raw}, w.Activation.Chain...), PrivateKey: w.Key})
		if err != nil {
			installed.Remove()
			return 0, err
		}
		backing := func(name string) string {
			if d, ok := volumeDirs[name]; ok {
				return d
			}
			return filepath.Join("/var/lib/cofre/volumes", f.manifest, f.service, name)
		}
		if volumes, err = w.MountVolumes(ctx, f.filesRoot, backing, mountSealfs, wc); err != nil {
			installed.Remove()
			return 0, err
		}
	}
	code, err := prog.Supervise(ctx, w, launch.SuperviseOptions{Renewer: renewer, Installed: installed, TokenFile: f.tokenFile, Logger: logger})
	if volumes != nil {
		// The root hashes go to the coordinator only now, once the program
		// is gone and nothing writes any more.
		if cerr := volumes.Close(context.WithoutCancel(ctx)); cerr != nil {
			logger.Error("encrypted volumes", "err", cerr)
			if err == nil && code == 0 {
				err = cerr
			}
		}
	}
	installed.Remove()
	return code, err
}

// sealfsMount serves one encrypted volume through FUSE.
type sealfsMount struct {
	v   *sealfs.Volume
	srv *sealfsfuse.Server
}

func mountSealfs(backing string, key []byte, mountpoint string) (launch.VolumeMount, error) {
	v, err := sealfs.OpenVolume(backing, key, sealfs.Options{})
	if err != nil {
		return nil, err
	}
	srv, err := sealfsfuse.Mount(v, mountpoint, sealfsfuse.Options{})
	if err != nil {
		v.Close()
		return nil, err
	}
	return &sealfsMount{v: v, srv: srv}, nil
}

func (m *sealfsMount) Unmount() error { return m.srv.Unmount() }

func (m *sealfsMount) RootHash() ([32]byte, error) { return m.v.RootHash() }

func (m *sealfsMount) Close() error { return m.v.Close() }

// producer returns the evidence producer --tee selects.
func (f *runFlags) producer(digest []byte) (attest.Producer, error) {
	switch f.tee {
	case "sim":
		return f.simProducer(digest)
	case "auto":
		// Hardware first: a TEE that is present is never passed over for
		// simulation; one that cannot be read is an error, not "none".
		p, err := guest.Detect(guest.Config{})
		switch {
		case err == nil:
			return p, nil
		case !errors.Is(err, guest.ErrNoTEE):
			return nil, fmt.Errorf("--tee auto: %w", err)
		case f.agent != "" || f.simPlatform != "":
			return f.simProducer(digest)
		}
		return nil, usagef("--tee auto: no TEE found (configfs-tsm, /dev/sev-guest, /dev/tdx_guest, Gramine /dev/attestation) and no --agent or --sim-platform for SIMULATION")
	case "sevsnp":
		return &snp.Producer{}, nil
	case "tdx":
		return &tdx.Producer{}, nil
	case "sgx":
		return &sgx.Producer{}, nil
	}
	return nil, usagef("--tee %q: want auto, sim, sevsnp, tdx or sgx", f.tee)
}

func (f *runFlags) simProducer(digest []byte) (attest.Producer, error) {
	if f.agent != "" {
		c, err := agent.NewClient(f.agent)
		if err != nil {
			return nil, usageError{err}
		}
		return c.Producer(digest), nil
	}
	if f.simPlatform != "" {
		b, err := readFile(f.simPlatform, maxPEMFile)
		if err != nil {
			return nil, usagef("--sim-platform: %v", err)
		}
		plat, err := sim.ParsePlatform(b)
		if err != nil {
			return nil, usagef("--sim-platform: %v", err)
		}
		return &sim.Producer{Platform: plat, Measurement: digest}, nil
	}
	return nil, usagef("--tee sim needs --agent or --sim-platform")
}

func parseHostParams(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--host-param %q: want NAME=VALUE", kv)
		}
		if _, dup := out[k]; dup {
			return nil, usagef("--host-param %s given twice", k)
		}
		out[k] = v
	}
	return out, nil
}
