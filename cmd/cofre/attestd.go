package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"github.com/spf13/pflag"

	"github.com/cofre-cc/cofre/attestd"
	"github.com/cofre-cc/cofre/token"
)

// attestdEnvPrefix prefixes the environment variable of every attestd flag:
// --token-lifetime is COFRE_ATTESTD_TOKEN_LIFETIME. A flag given on the
// command line wins over its variable.
const attestdEnvPrefix = "COFRE_ATTESTD_"

type attestdFlags struct {
	listen, state, alg, issuer        string
	dev                               bool
	tokenLifetime, challengeLifetime  time.Duration
	keyOverlap, rotateEvery           time.Duration
	maxChallenges                     int
	tlsCert, tlsKey, adminCA, kekFile string
	trust                             trustFlags
	logLevel, logFormat               string
}

func newAttestdCmd() *cobra.Command {
	var f attestdFlags
	cmd := &cobra.Command{
		Use:   "attestd --listen ADDR [--dev] [flags]",
		Short: "Run the attestation service: verify evidence, issue EAR tokens, serve JWKS",
		Long: `attestd verifies attestation evidence, appraises it against named policies and
issues signed EAR tokens (JWT) that relying parties verify offline with the
keys at /certs. API: docs/api/attestd.yaml.

--dev sets up everything under --state (default ./.cofre/attestd): a
self-signed TLS certificate, an admin CA and admin client certificate, a
SIMULATION root and platform (for "cofre evidence produce --sim-platform"),
a policy "dev" that admits SIMULATION evidence, and a key-encryption key
file for the signing keys. None of it is fit for production.

Without --dev, --tls-cert, --tls-key and --kek-file are required; in
production the key-encryption key comes from a TEE sealing key or a KMS.

Every flag can also be set in the environment: COFRE_ATTESTD_ and the flag
name in capitals with _ for -, e.g. COFRE_ATTESTD_LISTEN=:8443 (lists
comma-separated).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flagsFromEnv(cmd.Flags(), attestdEnvPrefix); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runAttestd(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", ":8443", "address to listen on (host:port; port 0 picks a free one)")
	fl.BoolVar(&f.dev, "dev", false, "development mode: self-signed TLS, SIMULATION evidence accepted, generated admin certificate")
	fl.StringVar(&f.state, "state", filepath.Join(".cofre", "attestd"), "state directory: sealed signing keys, policies, audit log (and dev material)")
	fl.StringVar(&f.alg, "alg", "ES256", "signing algorithm of new keys: ES256, ES384 or EdDSA")
	fl.StringVar(&f.issuer, "issuer", "", "issuer URL in tokens (default https://LISTEN-ADDRESS)")
	fl.DurationVar(&f.tokenLifetime, "token-lifetime", 5*time.Minute, "token lifetime")
	fl.DurationVar(&f.challengeLifetime, "challenge-lifetime", 2*time.Minute, "challenge (nonce) lifetime")
	fl.IntVar(&f.maxChallenges, "max-challenges", 1_000_000, "maximum used nonces remembered until they expire (replay protection); issued challenges are not stored")
	fl.DurationVar(&f.keyOverlap, "key-overlap", 24*time.Hour, "how long a rotated-out key stays in the JWKS")
	fl.DurationVar(&f.rotateEvery, "rotate-every", 0, "rotate the signing key this often (0: only on POST /v1/keys/rotate)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS server certificate chain (PEM)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS server private key (PEM)")
	fl.StringVar(&f.adminCA, "admin-ca", "", "CA certificates (PEM) that admin client certificates must chain to")
	fl.StringVar(&f.kekFile, "kek-file", "", "key-encryption key file (32 bytes, mode 0600) sealing the signing keys")
	f.trust.register(fl)
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

// flagsFromEnv sets every flag not given on the command line from its
// environment variable, if set.
func flagsFromEnv(fl *pflag.FlagSet, prefix string) error {
	var errs []error
	fl.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		name := prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		vals := []string{v}
		if f.Value.Type() == "stringArray" {
			vals = strings.Split(v, ",")
		}
		for _, x := range vals {
			if err := fl.Set(f.Name, strings.TrimSpace(x)); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	return nil
}

func runAttestd(ctx context.Context, stdout, stderr io.Writer, f attestdFlags) error {
	logger, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	alg, err := token.ParseAlgorithm(f.alg)
	if err != nil {
		return usagef("--alg: %v", err)
	}
	if !f.dev {
		var missing []string
		for name, v := range map[string]string{"--tls-cert": f.tlsCert, "--tls-key": f.tlsKey, "--kek-file": f.kekFile} {
			if v == "" {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			return usagef("%s required without --dev", strings.Join(missing, ", "))
		}
	}
	if err := os.MkdirAll(f.state, 0o700); err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	now := time.Now()

	// TLS, admin CA, KEK and simulation roots: from files, or made by --dev.
	var (
		cert     tls.Certificate
		adminCAs *x509.CertPool
		sealer   attestd.Sealer
		simPEM   []byte
		dev      *attestd.Dev
	)
	listenHost, _, err := net.SplitHostPort(f.listen)
	if err != nil {
		return usagef("--listen %q: %v", f.listen, err)
	}
	if f.dev {
		if dev, err = attestd.PrepareDev(filepath.Join(f.state, "dev"), now, listenHost); err != nil {
			return err
		}
		cert, adminCAs, sealer = dev.TLSCert, dev.AdminCAs, dev.Sealer
		if simPEM, err = os.ReadFile(dev.SimRootFile); err != nil {
			return err
		}
	}
	if f.tlsCert != "" || f.tlsKey != "" {
		if cert, err = tls.LoadX509KeyPair(f.tlsCert, f.tlsKey); err != nil {
			return usagef("--tls-cert/--tls-key: %v", err)
		}
	}
	if f.adminCA != "" {
		b, err := os.ReadFile(f.adminCA)
		if err != nil {
			return usagef("--admin-ca: %v", err)
		}
		adminCAs = x509.NewCertPool()
		if !adminCAs.AppendCertsFromPEM(b) {
			return usagef("--admin-ca %s: no PEM certificate", f.adminCA)
		}
	}
	if f.kekFile != "" {
		kek, err := attestd.LoadKEK(f.kekFile)
		if err != nil {
			return usageError{err}
		}
		sealer, err = attestd.NewAESGCMSealer(kek)
		clear(kek)
		if err != nil {
			return usageError{err}
		}
	}
	reg, err := f.trust.registry(simPEM)
	if err != nil {
		return err
	}

	// Signing keys, sealed at rest.
	keyFile := attestd.KeyFile{Path: filepath.Join(f.state, "keys.sealed"), Sealer: sealer}
	keys, err := keyFile.Load()
	switch {
	case errors.Is(err, os.ErrNotExist):
		if keys, err = token.NewKeySet(alg, now); err != nil {
			return err
		}
		if err := keyFile.Save(keys); err != nil {
			return err
		}
		kid, _ := keys.Current()
		logger.Info("new signing key", "kid", kid, "alg", alg.String(), "file", keyFile.Path)
	case err != nil:
		return err
	}

	policies, err := attestd.OpenDirPolicies(filepath.Join(f.state, "policies"))
	if err != nil {
		return err
	}
	if f.dev {
		if _, err := policies.Policy(ctx, "dev"); errors.Is(err, attestd.ErrPolicyNotFound) {
			sp, err := attestd.NewStoredPolicy([]byte(attestd.DevPolicy))
			if err != nil {
				return err
			}
			if err := policies.PutPolicy(ctx, sp); err != nil {
				return err
			}
		}
	}
	audit, err := attestd.OpenAuditLog(filepath.Join(f.state, "audit.log"))
	if err != nil {
		return err
	}
	defer audit.Close()

	coll, err := f.trust.collateral()
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	issuer := f.issuer
	if issuer == "" {
		addr := ln.Addr().(*net.TCPAddr)
		host := listenHost
		if host == "" || net.ParseIP(host).IsUnspecified() {
			host = "localhost"
		}
		issuer = "https://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
	}
	srv, err := attestd.New(attestd.Config{
		Registry:          reg,
		Collateral:        coll,
		Policies:          policies,
		Keys:              keys,
		KeyStore:          keyFile,
		Algorithm:         alg,
		KeyOverlap:        f.keyOverlap,
		RotateEvery:       f.rotateEvery,
		Issuer:            issuer,
		VerifierID:        fmt.Sprintf("cofre %s (commit %s)", version, commit),
		TokenLifetime:     f.tokenLifetime,
		ChallengeLifetime: f.challengeLifetime,
		MaxChallenges:     f.maxChallenges,
		AdminCAs:          adminCAs,
		Audit:             audit,
		Logger:            logger,
	})
	if err != nil {
		ln.Close()
		return usageError{err}
	}
	if adminCAs == nil {
		logger.Warn("no --admin-ca: every admin request (policies, key rotation) is refused")
	}
	if dev != nil {
		fmt.Fprintln(stdout, "cofre attestd: DEVELOPMENT MODE — SIMULATION evidence accepted under policy \"dev\" (no confidentiality); keys sealed under a KEK file on the same disk")
		fmt.Fprintf(stdout, "  TLS certificate (trust it):   %s\n", dev.TLSCertFile)
		fmt.Fprintf(stdout, "  admin client certificate:     %s\n", dev.AdminCertFile)
		fmt.Fprintf(stdout, "  admin client key:             %s\n", dev.AdminKeyFile)
		fmt.Fprintf(stdout, "  admin CA:                     %s\n", dev.AdminCAFile)
		fmt.Fprintf(stdout, "  SIMULATION platform:          %s (cofre evidence produce --sim-platform)\n", dev.SimPlatformFile)
	}
	fmt.Fprintf(stdout, "cofre attestd: listening on https://%s (issuer %s)\n", ln.Addr(), issuer)
	if err := srv.Serve(ctx, ln, cert); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "cofre attestd: stopped")
	return nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}
