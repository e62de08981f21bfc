package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/agent"
	"github.com/cofre-cc/cofre/attest/sim"
)

// agentEnvPrefix prefixes the environment variable of every agent flag:
// --sim-platform is COFRE_AGENT_SIM_PLATFORM.
const agentEnvPrefix = "COFRE_AGENT_"

// Permissions of the agent's socket and of its directory when the agent
// creates it. Whoever can connect can obtain simulated evidence for any
// measurement, so access goes to the owner and the group the launchers run
// in, never to everyone.
const (
	agentSocketMode    os.FileMode = 0o660
	agentSocketDirMode os.FileMode = 0o750
)

type agentFlags struct {
	listen, tcp         string
	simPlatform, state  string
	dev                 bool
	logLevel, logFormat string
}

func newAgentCmd() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent [--listen unix:///run/cofre/agent.sock] [--tcp ADDR] (--sim-platform FILE | --dev [--state DIR])",
		Short: "Run the node agent: SIMULATION evidence for launchers on this node",
		Long: `The node agent (one per node, a DaemonSet) holds the node's SIMULATION platform
key and signs sim.v1 evidence for launchers ("cofre run") on the node.
API: docs/api/agent.yaml.

SIMULATION: the agent signs whatever workload measurement it is asked to, so
its evidence gives no confidentiality; coordinators accept it only under
manifests that say allow_simulation: true. On SEV-SNP, TDX and SGX nodes the
launcher produces hardware evidence itself and needs no agent.

--listen serves a unix socket (mode 0660; its directory is created 0750 if
missing; the socket is removed on exit). --tcp also serves plain HTTP on a TCP
address: anyone who reaches it can obtain simulated evidence.

--dev keeps a simulation root and platform under --state/sim, created if
missing, exactly as "cofre coordinator --dev" does: with the same --state (the
default) the dev coordinator trusts the agent's evidence.

Every flag can also be set in the environment: COFRE_AGENT_ and the flag name
in capitals with _ for -, e.g. COFRE_AGENT_SIM_PLATFORM=/etc/cofre/platform.pem.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flagsFromEnv(cmd.Flags(), agentEnvPrefix); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runAgent(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "unix:///run/cofre/agent.sock", `unix socket to serve (unix:///path); "" for none`)
	fl.StringVar(&f.tcp, "tcp", "", "also serve plain HTTP on this TCP address (host:port; port 0 picks a free one)")
	fl.StringVar(&f.simPlatform, "sim-platform", "", "SIMULATION platform key and chain (PEM), as \"cofre sim init\" writes platform.pem")
	fl.BoolVar(&f.dev, "dev", false, "development mode: SIMULATION root and platform under --state/sim, created if missing")
	fl.StringVar(&f.state, "state", filepath.Join(".cofre", "coordinator"), "state directory of --dev (default: the dev coordinator's, so both share one sim root)")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func runAgent(ctx context.Context, stdout, stderr io.Writer, f agentFlags) error {
	logger, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	var socket string
	if f.listen != "" {
		if socket, err = parseUnixAddress(f.listen); err != nil {
			return err
		}
	}
	if socket == "" && f.tcp == "" {
		return usagef("nothing to serve: give --listen unix:///path or --tcp ADDR")
	}
	if f.dev {
		dir := filepath.Join(f.state, "sim")
		if _, err := ensureSimDir(dir, time.Now()); err != nil {
			return err
		}
		if f.simPlatform == "" {
			f.simPlatform = filepath.Join(dir, simPlatformFile)
		}
	}
	if f.simPlatform == "" {
		return usagef("--sim-platform is required (or --dev)")
	}
	pb, err := os.ReadFile(f.simPlatform)
	if err != nil {
		return usagef("--sim-platform: %v", err)
	}
	plat, err := sim.ParsePlatform(pb)
	clear(pb)
	if err != nil {
		return usagef("--sim-platform: %v", err)
	}
	srv, err := agent.New(agent.Config{Platform: plat, Logger: logger})
	if err != nil {
		return err
	}
	info := srv.Platform()
	if now := time.Now(); now.After(info.NotAfter) {
		logger.Warn("the platform certificate has expired: verifiers refuse its evidence, and /readyz says so", "not_after", info.NotAfter)
	}

	type endpoint struct {
		ln  net.Listener
		url string
	}
	var eps []endpoint
	defer func() {
		for _, ep := range eps {
			ep.ln.Close()
		}
	}()
	if socket != "" {
		ln, cleanup, err := listenUnix(socket, logger)
		if err != nil {
			return err
		}
		defer cleanup()
		eps = append(eps, endpoint{ln, "unix://" + socket})
	}
	if f.tcp != "" {
		ln, err := net.Listen("tcp", f.tcp)
		if err != nil {
			return usagef("--tcp: %v", err)
		}
		eps = append(eps, endpoint{ln, "http://" + ln.Addr().String()})
	}

	fmt.Fprintln(stdout, "cofre agent: SIMULATION — it signs any measurement it is asked to; its evidence protects nothing")
	fmt.Fprintf(stdout, "cofre agent: platform %s %q (root sha256 %s, valid until %s)\n",
		info.PlatformID, info.PlatformName, orNone(info.RootSHA256.String()), info.NotAfter.Format(time.RFC3339))
	for _, ep := range eps {
		fmt.Fprintf(stdout, "cofre agent: listening on %s\n", ep.url)
	}
	if f.tcp != "" {
		logger.Warn("serving on TCP: anyone who can reach the address can obtain SIMULATION evidence", "addr", eps[len(eps)-1].url)
	}

	// Serve every listener until ctx ends or one fails; a failure stops
	// the others, so the agent never runs half-reachable.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(eps))
	for _, ep := range eps {
		go func() { errc <- srv.Serve(sctx, ep.ln) }()
	}
	var errs []error
	for range eps {
		if err := <-errc; err != nil {
			errs = append(errs, err)
			cancel()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "cofre agent: stopped")
	return nil
}

// parseUnixAddress accepts unix:///absolute/path (or an absolute path).
func parseUnixAddress(s string) (string, error) {
	p := strings.TrimPrefix(s, "unix://")
	if !filepath.IsAbs(p) {
		return "", usagef("--listen %q: want unix:///absolute/path", s)
	}
	return filepath.Clean(p), nil
}

// listenUnix listens on a unix socket at path with mode agentSocketMode.
// The socket is made under a temporary name with its final mode (a
// restrictive umask), then renamed into place. A socket left
// by a dead agent is replaced; a live agent's, or any other file, is not.
// cleanup closes the listener and removes the socket if it is still ours.
func listenUnix(path string, logger *slog.Logger) (net.Listener, func(), error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, agentSocketDirMode); err != nil {
			return nil, nil, fmt.Errorf("socket directory: %w", err)
		}
		// MkdirAll applies the umask; the mode is a decision, not a default.
		if err := os.Chmod(dir, agentSocketDirMode); err != nil {
			return nil, nil, fmt.Errorf("socket directory: %w", err)
		}
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, nil, usagef("--listen %s: exists and is not a socket; not replacing it", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, nil, fmt.Errorf("--listen %s: another agent is listening there", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o022 != 0 {
		// Anyone who may write the directory may swap the socket for theirs.
		return nil, nil, usagef("--listen %s: directory %s is writable by group or others (%v)", path, dir, fi.Mode().Perm())
	}
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	os.Remove(tmp) // a leftover of a dead agent with our pid
	// The socket is born with its final mode: the umask (process-wide, and
	// nothing else runs yet) leaves agentSocketMode, so no chmod by path
	// (which follows symlinks) is needed and no moment exists when it is
	// more open.
	old := syscall.Umask(int(0o777 &^ agentSocketMode))
	ln, err := net.Listen("unix", tmp)
	syscall.Umask(old)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	// The listener would unlink tmp on Close, which after the rename names
	// nothing; cleanup removes the real path instead.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, func(), error) {
		ln.Close()
		os.Remove(tmp)
		return nil, nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("socket: %w", err))
	}
	ours, err := os.Lstat(path)
	if err != nil {
		return fail(fmt.Errorf("socket: %w", err))
	}
	cleanup := func() {
		ln.Close()
		// Another agent may have replaced the socket since; leave its.
		if cur, err := os.Lstat(path); err == nil && os.SameFile(cur, ours) {
			if err := os.Remove(path); err != nil {
				logger.Warn("remove socket", "err", err)
			}
		}
	}
	return ln, cleanup, nil
}

func orNone(s string) string {
	if s == "" {
		return "none in the chain"
	}
	return s
}
