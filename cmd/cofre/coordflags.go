package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/coordinator/client"
)

// simulationWarning is printed on stderr whenever the coordinator turns out
// to be simulated: whatever the command did, nothing protected it.
const simulationWarning = "WARNING: SIMULATION: the coordinator's attestation is simulated and protects nothing"

// maxPEMFile bounds a certificate, key or policy file the CLI reads.
const maxPEMFile = 1 << 20

// coordFlags are the inputs of every command that talks to a coordinator:
// where it is, how to verify it, and who the user is.
type coordFlags struct {
	url                string
	cert, key          string
	keyFlag            string // "key", or "cert-key" where --key means something else
	policy             string
	insecureSimulation bool
	root               string
	trust              trustFlags

	// workload marks a command that runs as the program cofre run started
	// (cofre query, cofre datagen): only those take the launcher's
	// envPinnedRoot and envFilesRoot. Never cofre run itself, whose
	// environment the host controls: a root from there would let the host
	// skip the coordinator's attestation.
	workload bool
	// pinnedRootPEM is the coordinator root a launcher handed its program
	// (envPinnedRoot), used when neither --root nor --coordinator-policy
	// is given.
	pinnedRootPEM string
	// files is the workload's certificate and key, reloaded when cofre
	// run renews them (workload commands only; set by options).
	files *certFiles
}

// Variables `cofre run` sets for the program it starts, so that a cofre
// command running as the workload (cofre query) talks to the coordinator
// the launcher verified, through the root it pinned, without attesting it
// again. Both are public: a URL and a certificate.
const (
	envPinnedRoot = "COFRE_PINNED_ROOT" // PEM of the coordinator root
	envFilesRoot  = "COFRE_FILES_ROOT"  // where the launcher wrote the policy's files (simulation only)
)

// coordEnv maps flags to the environment variables that set them when the
// command line does not. COFRE_KEY sets the client key flag, whatever its
// name (keyFlag): never a command's own --key, which is another key.
var coordEnv = []struct{ flag, env string }{
	{"coordinator", "COFRE_COORDINATOR"},
	{"cert", "COFRE_CERT"},
	{"", "COFRE_KEY"},
	{"insecure-simulation", "COFRE_INSECURE_SIMULATION"},
}

// register adds the flags. keyFlag names the client key flag: "key", or
// another name for commands whose own --key is a different key.
func (f *coordFlags) register(fl *pflag.FlagSet, keyFlag string) {
	f.keyFlag = keyFlag
	fl.StringVar(&f.url, "coordinator", "", "coordinator base URL, https://HOST:PORT (env COFRE_COORDINATOR)")
	fl.StringVar(&f.cert, "cert", "", "your TLS client certificate (PEM; may also hold the key) (env COFRE_CERT)")
	fl.StringVar(&f.key, keyFlag, "", "the private key of --cert (PEM) (env COFRE_KEY)")
	fl.StringVar(&f.policy, "coordinator-policy", "", "appraisal policy (YAML or JSON) the coordinator's evidence must satisfy")
	fl.BoolVar(&f.insecureSimulation, "insecure-simulation", false, "accept a SIMULATED coordinator (development only: it protects nothing) (env COFRE_INSECURE_SIMULATION)")
	fl.StringVar(&f.root, "root", "", "coordinator root certificate (PEM) pinned earlier: skip attestation and trust only this root")
	f.trust.register(fl)
}

// fromEnv sets the flags not given on the command line from the
// environment.
func (f *coordFlags) fromEnv(fl *pflag.FlagSet) error {
	var errs []error
	fromEnv := map[string]bool{}
	for _, e := range coordEnv {
		if e.flag == "" {
			e.flag = f.keyFlag
		}
		flag := fl.Lookup(e.flag)
		if flag == nil || flag.Changed {
			continue
		}
		v, ok := os.LookupEnv(e.env)
		if !ok || v == "" {
			continue
		}
		if flag.Value.Type() == "bool" {
			if _, err := strconv.ParseBool(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a boolean", e.env, v))
				continue
			}
		}
		if err := fl.Set(e.flag, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.env, err))
		}
		fromEnv[e.flag] = true
	}
	if !f.workload {
		if len(errs) > 0 {
			return usageError{errors.Join(errs...)}
		}
		return nil
	}
	f.pinnedRootPEM = os.Getenv(envPinnedRoot)
	// A launcher given --files-root (simulation only) wrote the policy's
	// files below it: the paths the policy put in COFRE_CERT and COFRE_KEY
	// are found there. Only paths from the environment move; flags are
	// taken as given.
	if fr := os.Getenv(envFilesRoot); fr != "" {
		for _, name := range []string{"cert", f.keyFlag} {
			flag := fl.Lookup(name)
			if flag == nil || !fromEnv[name] || !filepath.IsAbs(flag.Value.String()) {
				continue
			}
			if err := fl.Set(name, underFilesRoot(fr, flag.Value.String())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	return nil
}

// options builds the client options from the flags: the inputs are read
// and checked here, so that a bad flag is a usage error (exit 2), not a
// refusal of the coordinator.
func (f *coordFlags) options() (client.Options, error) {
	var opts client.Options
	if f.url == "" {
		return opts, usagef("--coordinator (or COFRE_COORDINATOR) is required")
	}
	if f.cert != "" {
		keyFile := f.key
		if keyFile == "" {
			keyFile = f.cert // one PEM file with both
		}
		certPEM, err := readFile(f.cert, maxPEMFile)
		if err != nil {
			return opts, usagef("--cert: %v", err)
		}
		keyPEM, err := readFile(keyFile, maxPEMFile)
		if err != nil {
			return opts, usagef("--%s: %v", f.keyFlag, err)
		}
		// The error of X509KeyPair names what is wrong, never key bytes.
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return opts, usagef("--cert/--%s: %v", f.keyFlag, err)
		}
		opts.Certificate = &cert
		if f.workload {
			// cofre run --supervise renews the certificate under the
			// program: present the current one (client.Options.
			// GetCertificate, and the program's TLS servers through
			// f.files). One loader for all the command's clients.
			if f.files == nil || f.files.cert != f.cert || f.files.key != keyFile {
				if f.files, err = loadCertFiles(f.cert, keyFile); err != nil {
					return opts, usagef("--cert/--%s: %v", f.keyFlag, err)
				}
			}
			if opts.Certificate, err = f.files.get(); err != nil {
				return opts, usagef("--cert/--%s: %v", f.keyFlag, err)
			}
			opts.GetCertificate = f.files.get
		}
	} else if f.key != "" {
		return opts, usagef("--%s needs --cert", f.keyFlag)
	}
	if f.root == "" && f.policy == "" && f.pinnedRootPEM != "" {
		var err error
		if opts.Root, err = parseCertificatePEM([]byte(f.pinnedRootPEM)); err != nil {
			return opts, usagef("%s: %v", envPinnedRoot, err)
		}
		return opts, nil
	}
	if f.root != "" {
		b, err := readFile(f.root, maxPEMFile)
		if err != nil {
			return opts, usagef("--root: %v", err)
		}
		if opts.Root, err = parseCertificatePEM(b); err != nil {
			return opts, usagef("--root %s: %v", f.root, err)
		}
		return opts, nil
	}
	reg, err := f.trust.registry(nil)
	if err != nil {
		return opts, err
	}
	opts.Registry = reg
	if opts.Collateral, err = f.trust.collateral(); err != nil {
		return opts, err
	}
	if f.policy != "" {
		b, err := readFile(f.policy, maxPEMFile)
		if err != nil {
			return opts, usagef("--coordinator-policy: %v", err)
		}
		if opts.Policy, err = appraise.ParsePolicy(b); err != nil {
			return opts, usagef("--coordinator-policy %s: %v", f.policy, err)
		}
	}
	opts.InsecureSimulation = f.insecureSimulation
	if opts.Policy == nil && !opts.InsecureSimulation {
		return opts, usagef("--coordinator-policy is required to verify the coordinator (or --root to trust a pinned root, or --insecure-simulation for a development coordinator)")
	}
	return opts, nil
}

// serverCertificate is the tls.Config.GetCertificate of a workload's
// server: the current workload certificate (reloaded after a renewal), or
// the one in opts.
func serverCertificate(opts client.Options) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	get := opts.GetCertificate
	if get == nil {
		cert := opts.Certificate
		get = func() (*tls.Certificate, error) { return cert, nil }
	}
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return get() }
}

func parseCertificatePEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// readFile reads the file a flag names, refusing "-" (stdin is for the
// command's main input) and more than limit bytes.
func readFile(path string, limit int64) ([]byte, error) {
	if path == "-" {
		return nil, errors.New("stdin (-) is not accepted here; give a file")
	}
	return readInput(nil, path, limit)
}

// connect builds a client from the flags and verifies the coordinator. A
// refusal is reported on stderr and becomes exit 1; a simulated
// coordinator earns the SIMULATION warning, before anything is sent.
func (f *coordFlags) connect(ctx context.Context, stderr io.Writer) (*client.Client, error) {
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	c, err := client.New(f.url, opts)
	if err != nil {
		return nil, usageError{err}
	}
	if err := c.Verify(ctx); err != nil {
		return nil, coordError(stderr, err)
	}
	if c.Simulation() {
		fmt.Fprintln(stderr, simulationWarning)
	}
	return c, nil
}

// coordError maps a client error to the CLI's exit codes: a refused
// coordinator, or a request the coordinator examined and refused (4xx),
// is exit 1 with the reasons on stderr; an unreachable or failing
// coordinator (transport errors, 5xx, a locked manifest) is exit 3.
func coordError(stderr io.Writer, err error) error {
	var re *client.RefusalError
	if errors.As(err, &re) {
		fmt.Fprintf(stderr, "REFUSED: the coordinator is not verified: %s: %v\n", re.Check, re.Err)
		for _, r := range re.Reasons {
			fmt.Fprintln(stderr, "  -", r)
		}
		return refusedError{}
	}
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
		fmt.Fprintln(stderr, "REFUSED:", ae)
		return refusedError{}
	}
	return err
}

// simNote is the text commands print next to a simulated coordinator's
// status.
func simNote(sim bool) string {
	if sim {
		return "yes — SIMULATION, no confidentiality"
	}
	return "no"
}
