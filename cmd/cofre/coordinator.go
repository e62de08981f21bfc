package main

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/coordinator"
	"github.com/cofre-cc/cofre/coordinator/seal"
)

// coordinatorEnvPrefix prefixes the environment variable of every
// coordinator flag: --trust-domain is COFRE_COORDINATOR_TRUST_DOMAIN.
const coordinatorEnvPrefix = "COFRE_COORDINATOR_"

// Files the coordinator writes for its clients in --state.
// coordinatorRootFile is the root certificate, for operators' convenience.
// Clients must not pin it from there (the host can replace the file):
// "cofre status --save-root" saves the root of a verified coordinator.
const coordinatorRootFile = "root.pem"

// simSealIdentity is what a sim coordinator seals its data key to. Like
// SGX's MRSIGNER sealing, it survives rebuilding the binary; the
// measurement of the binary is what the coordinator's evidence reports.
var simSealIdentity = []byte("cofre coordinator (sim sealing identity)")

type coordinatorFlags struct {
	listen, state, trustDomain, issuer string
	dev                                bool
	simPlatform, sealer, keyFile       string
	hosts, admitOwners, auditors       []string
	certLifetime, tokenLifetime        time.Duration
	challengeLifetime                  time.Duration
	trust                              trustFlags
	logLevel, logFormat                string
}

func newCoordinatorCmd() *cobra.Command {
	var f coordinatorFlags
	cmd := &cobra.Command{
		Use:   "coordinator --listen ADDR [--dev] [flags]",
		Short: "Run the coordinator: manifests, secrets, workload PKI, attested activation, KMS, audit",
		Long: `The coordinator holds manifests (policies) and their secrets, admits workloads
whose attestation evidence matches their service's package, issues their
certificates and rendered configuration, serves a KMS for granted master keys,
and keeps a signed, hash-chained audit log. API: docs/api/coordinator.yaml.

--dev sets up a SIMULATION platform under --state/sim (root.pem, root-cert.pem,
platform.pem): the coordinator's own evidence is simulated, its state is sealed
to the simulated platform, and workloads' sim evidence under that root is
verified (manifests must still say allow_simulation: true). None of it gives
confidentiality.

Without --dev, give the coordinator's evidence producer and sealer explicitly.
This build produces evidence only on the sim TEE (--sim-platform); in-guest
SEV-SNP, TDX and SGX evidence producers come with the launcher (issue 5).

Every flag can also be set in the environment: COFRE_COORDINATOR_ and the flag
name in capitals with _ for -, e.g. COFRE_COORDINATOR_LISTEN=:9443.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flagsFromEnv(cmd.Flags(), coordinatorEnvPrefix); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runCoordinator(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", ":9443", "address to listen on (host:port; port 0 picks a free one)")
	fl.BoolVar(&f.dev, "dev", false, "development mode: SIMULATION platform, evidence and sealing under --state/sim")
	fl.StringVar(&f.state, "state", filepath.Join(".cofre", "coordinator"), "state directory: sealed store, sealed data key, audit log")
	fl.StringVar(&f.trustDomain, "trust-domain", "cofre.internal", "SPIFFE trust domain of workload identities")
	fl.StringVar(&f.issuer, "issuer", "", "issuer URL of workload tokens (default https://LISTEN-ADDRESS)")
	fl.StringVar(&f.simPlatform, "sim-platform", "", "SIMULATION platform key and chain (PEM) for the coordinator's own evidence and sealing")
	fl.StringVar(&f.sealer, "sealer", "", "how the data key is sealed: sim (to --sim-platform) or keyfile (to --key-file); default sim with --dev")
	fl.StringVar(&f.keyFile, "key-file", "", "sealing key file for --sealer keyfile (32 bytes, 0600; created if missing)")
	fl.StringArrayVar(&f.hosts, "host", nil, "DNS name or IP of the TLS server certificate; repeatable (default localhost, 127.0.0.1, ::1)")
	fl.StringArrayVar(&f.admitOwners, "admit-owner", nil, "public key (PEM) of an owner allowed to create manifests; repeatable (default: anyone may, as in development)")
	fl.StringArrayVar(&f.auditors, "auditor", nil, "certificate or public key (PEM) of a coordinator auditor, who reads the whole audit log; repeatable")
	fl.DurationVar(&f.certLifetime, "cert-lifetime", time.Hour, "workload certificate lifetime (launchers renew before expiry)")
	fl.DurationVar(&f.tokenLifetime, "token-lifetime", time.Hour, "workload token lifetime")
	fl.DurationVar(&f.challengeLifetime, "challenge-lifetime", 2*time.Minute, "activation nonce lifetime")
	f.trust.register(fl)
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func runCoordinator(ctx context.Context, stdout, stderr io.Writer, f coordinatorFlags) error {
	logger, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.state, 0o700); err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	now := time.Now()
	var simRootPEM []byte
	if f.dev {
		dir := filepath.Join(f.state, "sim")
		if simRootPEM, err = ensureSimDir(dir, now); err != nil {
			return err
		}
		if f.simPlatform == "" {
			f.simPlatform = filepath.Join(dir, simPlatformFile)
		}
		if f.sealer == "" {
			f.sealer = "sim"
		}
	}
	if f.simPlatform == "" {
		return usagef("--sim-platform is required (or --dev): this build produces the coordinator's evidence only on the sim TEE")
	}
	pb, err := os.ReadFile(f.simPlatform)
	if err != nil {
		return usagef("--sim-platform: %v", err)
	}
	plat, err := sim.ParsePlatform(pb)
	if err != nil {
		return usagef("--sim-platform: %v", err)
	}
	measurement, err := selfDigest()
	if err != nil {
		return err
	}
	var sealer seal.Sealer
	switch f.sealer {
	case "sim":
		if sealer, err = seal.NewSimSealer(plat, simSealIdentity); err != nil {
			return err
		}
	case "keyfile":
		if f.keyFile == "" {
			return usagef("--sealer keyfile needs --key-file")
		}
		if _, err := os.Stat(f.keyFile); errors.Is(err, os.ErrNotExist) {
			if err := seal.GenerateKeyFile(f.keyFile); err != nil {
				return err
			}
		}
		if sealer, err = seal.LoadKeyFileSealer(f.keyFile); err != nil {
			return usageError{err}
		}
	case "":
		return usagef("--sealer is required: sim or keyfile")
	default:
		return usagef("--sealer %q: want sim or keyfile", f.sealer)
	}
	admission, err := readPublicKeys("--admit-owner", f.admitOwners)
	if err != nil {
		return err
	}
	auditors, err := readPublicKeys("--auditor", f.auditors)
	if err != nil {
		return err
	}
	if len(admission) == 0 && !f.dev {
		logger.Warn("no --admit-owner: anyone may create a manifest under an unused name")
	}
	reg, err := f.trust.registry(simRootPEM)
	if err != nil {
		return err
	}
	coll, err := f.trust.collateral()
	if err != nil {
		return err
	}
	listenHost, _, err := net.SplitHostPort(f.listen)
	if err != nil {
		return usagef("--listen %q: %v", f.listen, err)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	issuer := f.issuer
	if issuer == "" {
		host := listenHost
		if host == "" || net.ParseIP(host).IsUnspecified() {
			host = "localhost"
		}
		issuer = "https://" + net.JoinHostPort(host, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
	}
	c, err := coordinator.New(coordinator.Config{
		StateDir:          f.state,
		Sealer:            sealer,
		TrustDomain:       f.trustDomain,
		Producer:          &sim.Producer{Platform: plat, Measurement: measurement, ProductID: "cofre-coordinator"},
		Registry:          reg,
		Collateral:        coll,
		Hosts:             f.hosts,
		Issuer:            issuer,
		VerifierID:        fmt.Sprintf("cofre %s (commit %s)", version, commit),
		CertLifetime:      f.certLifetime,
		TokenLifetime:     f.tokenLifetime,
		ChallengeLifetime: f.challengeLifetime,
		Admission:         admission,
		Auditors:          auditors,
		Logger:            logger,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.RootCertificate().Raw})
	rootFile := filepath.Join(f.state, coordinatorRootFile)
	if err := os.WriteFile(rootFile, rootPEM, 0o644); err != nil {
		return err
	}
	sum := c.RootSHA256()
	if c.Simulation() {
		fmt.Fprintln(stdout, "cofre coordinator: SIMULATION — its evidence and sealing are simulated and protect nothing")
	}
	fmt.Fprintf(stdout, "cofre coordinator: measurement %x\n", measurement)
	fmt.Fprintf(stdout, "cofre coordinator: root %s (sha256 %s)\n", rootFile, hex.EncodeToString(sum[:]))
	fmt.Fprintf(stdout, "cofre coordinator: listening on https://%s (trust domain %s, issuer %s)\n", ln.Addr(), f.trustDomain, issuer)
	if err := c.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "cofre coordinator: stopped")
	return nil
}

// ensureSimDir creates a simulation root and platform in dir unless they
// exist, and returns the root certificate (PEM).
func ensureSimDir(dir string, now time.Time) ([]byte, error) {
	certPath := filepath.Join(dir, simRootCertFile)
	if b, err := os.ReadFile(certPath); err == nil {
		return b, nil
	}
	root, err := sim.NewRoot(now, 10*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	plat, err := root.NewPlatform("coordinator-dev", now, 10*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	rb, err := sim.MarshalRoot(root)
	if err != nil {
		return nil, err
	}
	pb, err := sim.MarshalPlatform(plat)
	if err != nil {
		return nil, err
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for name, b := range map[string][]byte{simRootFile: rb, simPlatformFile: pb} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(certPath, cert, 0o644); err != nil {
		return nil, err
	}
	return cert, nil
}

// selfDigest is the SHA-256 of the running executable: the measurement a
// sim coordinator reports (a TEE measures its own image instead).
func selfDigest() ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// readPublicKeys reads PEM public keys, or the keys of PEM certificates.
func readPublicKeys(flag string, paths []string) ([]crypto.PublicKey, error) {
	var out []crypto.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, usagef("%s: %v", flag, err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, usagef("%s %s: not PEM", flag, p)
		}
		switch blk.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, usagef("%s %s: %v", flag, p, err)
			}
			out = append(out, k)
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, usagef("%s %s: %v", flag, p, err)
			}
			out = append(out, c.PublicKey)
		default:
			return nil, usagef("%s %s: a %s, want a PUBLIC KEY or CERTIFICATE", flag, p, blk.Type)
		}
	}
	return out, nil
}
