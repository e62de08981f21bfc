package launch

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/cofre-cc/cofre/coordinator/api"
)

// ErrNotMeasured: the policy's command runs another executable than the
// one measured into the evidence.
var ErrNotMeasured = errors.New("the policy's command is not the measured executable")

// defaultPath is the PATH a workload gets when its policy sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Program is what runs: the policy's command and environment.
type Program struct {
	// Path is the resolved executable, Argv its argument vector (Argv[0]
	// as the policy wrote it).
	Path string
	Argv []string
	Env  []string
}

// Program checks that the policy's command runs the executable whose
// content was measured (exeSHA256: the executable's own SHA-256, see
// ExecutableSHA256) and returns the program to run.
//
// The environment is the policy's and nothing of the host's: the host
// controls the launcher's environment, and variables such as LD_PRELOAD,
// PYTHONPATH or JAVA_TOOL_OPTIONS would run its code inside the workload.
// PATH defaults to a standard list when the policy sets none; extra holds
// the launcher's own variables (COFRE_FILES_ROOT).
func (w *Workload) Program(exeSHA256 []byte, extra map[string]string) (*Program, error) {
	argv := w.Activation.Config.Command
	if len(argv) == 0 {
		return nil, errors.New("launch: the policy gives no command")
	}
	path, err := Resolve(argv[0])
	if err != nil {
		return nil, err
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, fmt.Errorf("launch: %w", err)
	}
	if !bytes.Equal(sum, exeSHA256) {
		return nil, fmt.Errorf("launch: %w: %s (sha256 %x, measured %x)", ErrNotMeasured, path, sum, exeSHA256)
	}
	env := make(map[string]string, len(w.Activation.Config.Env)+len(extra)+1)
	maps.Copy(env, w.Activation.Config.Env)
	maps.Copy(env, extra)
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = defaultPath
	}
	p := &Program{Path: path, Argv: slices.Clone(argv)}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		p.Env = append(p.Env, k+"="+env[k])
	}
	return p, nil
}

// ExecutableSHA256 returns the SHA-256 of the executable a command names.
func ExecutableSHA256(command string) ([]byte, error) {
	p, err := Resolve(command)
	if err != nil {
		return nil, err
	}
	return fileSHA256(p)
}

// Exec replaces this process with the program. It returns only on error.
func (p *Program) Exec() error {
	return fmt.Errorf("launch: exec %s: %w", p.Path, syscall.Exec(p.Path, p.Argv, p.Env))
}

// Renewer renews the workload certificate (*client.Client, built with the
// workload's certificate).
type Renewer interface {
	Renew(ctx context.Context, csr []byte) (*api.RenewResponse, error)
}

// RenewerFunc makes a Renewer that presents cert as its client
// certificate.
type RenewerFunc func(cert tls.Certificate) (Renewer, error)

// SuperviseOptions configure Supervise.
type SuperviseOptions struct {
	// Renewer builds the client renewals go through, for the current
	// certificate. Nil: no renewal (the certificate lapses).
	Renewer RenewerFunc
	// Installed are the files to rewrite when the certificate changes.
	Installed *Installed
	// RenewAt is the fraction of the certificate's lifetime after which it
	// is renewed. Default 2/3.
	RenewAt float64
	Logger  *slog.Logger
	// Clock, or nil for time.Now.
	Clock func() time.Time
}

// forwarded are the signals Supervise passes to the program.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// Supervise runs the program as a child, forwards signals to it, renews
// the workload certificate before it expires (rewriting the files that hold
// it), and returns the program's exit code: its status, or 128 + the
// signal that ended it, as a shell reports it.
func (p *Program) Supervise(ctx context.Context, w *Workload, opts SuperviseOptions) (int, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Clock
	if now == nil {
		now = time.Now
	}
	if opts.RenewAt <= 0 || opts.RenewAt >= 1 {
		opts.RenewAt = 2.0 / 3
	}
	cmd := &exec.Cmd{Path: p.Path, Args: p.Argv, Env: p.Env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("launch: start %s: %w", p.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	timer := time.NewTimer(renewIn(w.Leaf, now(), opts.RenewAt))
	defer timer.Stop()
	if opts.Renewer == nil {
		timer.Stop()
	}
	for {
		select {
		case err := <-done:
			return exitCode(cmd, err)
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case <-timer.C:
			next := time.Minute // retry soon after a failure, while the certificate lasts
			if err := w.renew(ctx, opts); err != nil {
				opts.Logger.Error("certificate renewal failed; retrying", "err", err, "expires", w.Leaf.NotAfter)
			} else {
				next = renewIn(w.Leaf, now(), opts.RenewAt)
				opts.Logger.Info("certificate renewed", "expires", w.Leaf.NotAfter)
			}
			timer.Reset(next)
		}
	}
}

// renewIn is how long until the certificate is renewed.
func renewIn(leaf *x509.Certificate, now time.Time, at float64) time.Duration {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	d := leaf.NotBefore.Add(time.Duration(float64(life) * at)).Sub(now)
	return max(d, time.Second)
}

// renew gets a new certificate for the same key and rewrites the files
// holding the old one.
func (w *Workload) renew(ctx context.Context, opts SuperviseOptions) error {
	cert := tls.Certificate{Certificate: append([][]byte{w.Leaf.Raw}, w.Activation.Chain...), PrivateKey: w.Key}
	r, err := opts.Renewer(cert)
	if err != nil {
		return err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, w.Key)
	if err != nil {
		return err
	}
	resp, err := r.Renew(ctx, csr)
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(resp.Certificate)
	if err != nil {
		return err
	}
	if !w.Key.PublicKey.Equal(leaf.PublicKey) {
		return errors.New("the renewed certificate is for another key")
	}
	if opts.Installed != nil {
		oldPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.Leaf.Raw})
		newPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
		if _, err := opts.Installed.Replace(oldPEM, newPEM); err != nil {
			return err
		}
	}
	w.Leaf = leaf
	w.Activation.Certificate, w.Activation.Chain, w.Activation.Expires = resp.Certificate, resp.Chain, resp.Expires
	return nil
}

func exitCode(cmd *exec.Cmd, err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, fmt.Errorf("launch: wait: %w", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ee.ExitCode(), nil
}
