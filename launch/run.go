package launch

import (
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
	// Dir is the working directory: "/".
	Dir string

	m *Measurement // checked again just before the program starts
}

// Program checks that the policy's command runs the measured executable
// (the same path: it is part of the digest) and that every measured file
// is unchanged, and returns the program to run.
//
// The environment is the policy's and nothing of the host's: the host
// controls the launcher's environment, and variables such as LD_PRELOAD,
// PYTHONPATH or JAVA_TOOL_OPTIONS would run its code inside the workload.
// PATH defaults to a standard list when the policy sets none; extra holds
// the launcher's own variables (COFRE_FILES_ROOT), which the policy may
// not also set. The program starts in /: a working directory is the host's
// choice, and relative paths in the policy would resolve wherever it
// pleased.
func (w *Workload) Program(m *Measurement, extra map[string]string) (*Program, error) {
	argv := w.Activation.Config.Command
	if len(argv) == 0 {
		return nil, errors.New("launch: the policy gives no command")
	}
	path, err := Resolve(argv[0])
	if err != nil {
		return nil, err
	}
	if len(m.Files) == 0 || path != m.Files[0].Path {
		measured := ""
		if len(m.Files) > 0 {
			measured = m.Files[0].Path
		}
		return nil, fmt.Errorf("launch: %w: the policy runs %s, %s was measured", ErrNotMeasured, path, measured)
	}
	if err := m.Verify(); err != nil {
		return nil, err
	}
	env := make(map[string]string, len(w.Activation.Config.Env)+len(extra)+1)
	maps.Copy(env, w.Activation.Config.Env)
	for k, v := range extra {
		if _, ok := env[k]; ok {
			return nil, fmt.Errorf("launch: the policy sets %s, which the launcher sets", k)
		}
		env[k] = v
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = defaultPath
	}
	p := &Program{Path: path, Argv: slices.Clone(argv), Dir: "/", m: m}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		p.Env = append(p.Env, k+"="+env[k])
	}
	return p, nil
}

// Exec replaces this process with the program, after measuring its files
// once more. It returns only on error.
func (p *Program) Exec() error {
	if err := p.m.Verify(); err != nil {
		return err
	}
	if err := os.Chdir(p.Dir); err != nil {
		return fmt.Errorf("launch: %w", err)
	}
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
	// TokenFile, if set, is the file the activation token was written to
	// (WriteSecretFile). A renewal that brings a token (one bound to the
	// renewed certificate's key) rewrites it, atomically: the activation
	// token expires after the coordinator's token lifetime, long before a
	// supervised program's instance need end.
	TokenFile string
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
	if p.m != nil {
		if err := p.m.Verify(); err != nil {
			return 0, err
		}
	}
	cmd := &exec.Cmd{Path: p.Path, Args: p.Argv, Env: p.Env, Dir: p.Dir, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
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
	// Renewal runs beside the loop, never in it: a slow or stalled
	// coordinator must not hold back signals or the child's exit.
	renewed := make(chan error, 1)
	renewing := false
	cancelled := ctx.Done()
	for {
		select {
		case err := <-done:
			return exitCode(cmd, err)
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
		case <-cancelled:
			// Once: a closed channel is always ready.
			cancelled = nil
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case <-timer.C:
			if !renewing {
				renewing = true
				go func() { renewed <- w.renew(ctx, opts) }()
			}
		case err := <-renewed:
			renewing = false
			next := time.Minute // retry soon after a failure, while the certificate lasts
			var refused interface{ HTTPStatus() int }
			switch {
			case err == nil:
				next = renewIn(w.Leaf, now(), opts.RenewAt)
				opts.Logger.Info("certificate renewed", "expires", w.Leaf.NotAfter)
			case errors.As(err, &refused) && refused.HTTPStatus() >= 400 && refused.HTTPStatus() < 500:
				// The coordinator refused (the instance reached its deadline,
				// the manifest changed): the workload must not run on.
				opts.Logger.Error("certificate renewal refused; stopping the program", "err", err)
				_ = cmd.Process.Signal(syscall.SIGTERM)
				timer.Stop()
				continue
			default:
				opts.Logger.Error("certificate renewal failed; retrying", "err", err, "expires", w.Leaf.NotAfter)
			}
			timer.Reset(next)
		}
	}
}

// renewIn is how long until the certificate is renewed: after the
// fraction at of its remaining life. (Its NotBefore is backdated for clock
// skew, so its nominal lifetime says little about when it was issued.)
func renewIn(leaf *x509.Certificate, now time.Time, at float64) time.Duration {
	d := time.Duration(float64(leaf.NotAfter.Sub(now)) * at)
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
	if resp.Token == "" {
		// A coordinator or instance record older than renewal tokens:
		// the file keeps the token it has.
		return nil
	}
	w.Activation.Token = resp.Token
	if opts.TokenFile != "" {
		// After the certificate: the token is bound to the key, which a
		// renewal keeps. A failure is retried like the renewal, with the
		// renewed certificate.
		if err := WriteSecretFile(opts.TokenFile, []byte(resp.Token)); err != nil {
			return err
		}
	}
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
