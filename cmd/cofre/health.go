package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/health/cache"
	"github.com/cofre-cc/cofre/health/careapi"
	"github.com/cofre-cc/cofre/infer/client"
	"github.com/cofre-cc/cofre/infer/imaging"
	"github.com/cofre-cc/cofre/infer/models/chest"
	"github.com/cofre-cc/cofre/infer/oip"
	"github.com/cofre-cc/cofre/sealed"
	"github.com/cofre-cc/cofre/token"
)

func newHealthCmd() *cobra.Command {
	return newGroup("health", "The confidential healthcare platform: portal, care API, Redis, diagnostics",
		newHealthUpCmd(), newHealthCareAPICmd(), newHealthHashCmd())
}

// careAPIConfig is the care API's configuration file, rendered from the
// policy into memory by cofre run: it holds secrets.
type careAPIConfig struct {
	Listen   string            `json:"listen"`
	Accounts []careapi.Account `json:"accounts"`
	Redis    struct {
		Addr     string `json:"addr"`
		Username string `json:"username"`
		Password string `json:"password"`
		CAFile   string `json:"ca_file"`
		CertFile string `json:"cert_file"`
		KeyFile  string `json:"key_file"`
	} `json:"redis"`
	Cache struct {
		SealKeyHex string `json:"seal_key_hex"`
		NameKeyHex string `json:"name_key_hex"`
		Namespace  string `json:"namespace"`
	} `json:"cache"`
	Diagnostics struct {
		URL             string   `json:"url"`
		Model           string   `json:"model"`
		Measurements    []string `json:"measurements"`
		AllowSimulation bool     `json:"allow_simulation"`
	} `json:"diagnostics"`
	AuditDir   string `json:"audit_dir"`
	AllowPlain bool   `json:"allow_plain"`
}

type healthCareAPIFlags struct {
	coord     coordFlags
	config    string
	tokenFile string
}

func newHealthCareAPICmd() *cobra.Command {
	var f healthCareAPIFlags
	cmd := &cobra.Command{
		Use:   "careapi --config FILE",
		Short: "Run the care API (FHIR, sealed gateway, sessions) as an attested workload",
		Long: `Runs the hospital's care API under cofre run: FHIR R4 Patient, Observation and
DiagnosticReport, image upload and diagnosis through the attested inference
service, staff sign-in with sessions and CSRF tokens, an audit log of every
access to a patient record. Records live sealed in Redis (health/cache). Every
portal request arrives HPKE-sealed to the key in the care API's attestation
token (POST /api/sealed), which GET /api/attestation serves.

--config is a JSON file the policy renders (accounts, Redis, cache keys,
diagnostics service, audit log path).`,
		Args: cobra.NoArgs,
		RunE: workloadRunE(&f.coord, func(ctx context.Context, stdout, stderr io.Writer) error {
			return runHealthCareAPI(ctx, stderr, &f)
		}),
	}
	fl := cmd.Flags()
	f.coord.register(fl, "key")
	fl.StringVar(&f.config, "config", "", "the care API's configuration (JSON; required)")
	fl.StringVar(&f.tokenFile, "token-file", "", "the workload token cofre run wrote (default: $"+envTokenFile+")")
	return cmd
}

func readCareAPIConfig(path string) (*careAPIConfig, error) {
	b, err := readFile(path, maxPEMFile)
	if err != nil {
		return nil, usagef("--config: %v", err)
	}
	var c careAPIConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		// The decoder's message names a field or an offset, never a value.
		return nil, usagef("--config: %v", err)
	}
	return &c, nil
}

func runHealthCareAPI(ctx context.Context, stderr io.Writer, f *healthCareAPIFlags) error {
	if f.config == "" {
		return usagef("--config is required")
	}
	// Policy files are below COFRE_FILES_ROOT on the simulated TEE.
	cfg, err := readCareAPIConfig(workloadPath(f.config))
	if err != nil {
		return err
	}
	diagM, err := parseMeasurements("diagnostics.measurements", cfg.Diagnostics.Measurements)
	if err != nil {
		return err
	}
	w, err := startWorkloadService(ctx, stderr, &f.coord, f.tokenFile, "cofre health careapi")
	if err != nil {
		return err
	}

	store, err := openCareStore(cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = store.Ping(pingCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}

	// P-256: every browser's WebCrypto has it (X25519 only recent ones).
	key, ref, err := w.hpke(ctx, stderr, sealed.P256, map[string]string{"service": "careapi"})
	if err != nil {
		return err
	}
	jwks, issuer, err := w.coord.TokenVerifier(ctx)
	if err != nil {
		return coordError(stderr, err)
	}
	diag, err := client.New(client.Options{URL: cfg.Diagnostics.URL, Certificate: w.opts.Certificate, GetCertificate: w.opts.GetCertificate, Token: w.tlsToken,
		Service: token.Options{JWKS: jwks, Issuer: issuer, ExpectedMeasurements: diagM, AllowSimulation: cfg.Diagnostics.AllowSimulation}})
	if err != nil {
		return usageError{err}
	}
	srv, err := careapi.New(careapi.Config{Accounts: cfg.Accounts, Store: store, SealKey: key, AllowPlain: cfg.AllowPlain,
		HPKEToken: ref.Token, TLSToken: w.tlsToken, AuditPath: auditPath(cfg.AuditDir, w.opts.Certificate), Logger: w.log, AuditSigner: auditSigner(w.opts.Certificate),
		Diagnoser: &diagnoser{c: diag, model: cfg.Diagnostics.Model, labels: chest.Labels()}})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cofre health careapi: serving on https://%s\n", ln.Addr())
	// Browsers present no client certificate: staff sign in.
	return w.serve(ctx, ln, srv.Handler(), tls.NoClientCert)
}

func openCareStore(cfg *careAPIConfig) (*cache.Cache, error) {
	ca, err := readFile(workloadPath(cfg.Redis.CAFile), maxPEMFile)
	if err != nil {
		return nil, usagef("redis ca_file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, usagef("redis ca_file: no certificate")
	}
	cert, err := tls.LoadX509KeyPair(workloadPath(cfg.Redis.CertFile), workloadPath(cfg.Redis.KeyFile))
	if err != nil {
		return nil, usagef("redis client certificate: %v", err)
	}
	var seal cache.SealingKey
	var name cache.NamingKey
	if err := hexKey(seal[:], cfg.Cache.SealKeyHex); err != nil {
		return nil, usagef("cache.seal_key_hex: %v", err)
	}
	if err := hexKey(name[:], cfg.Cache.NameKeyHex); err != nil {
		return nil, usagef("cache.name_key_hex: %v", err)
	}
	return cache.New(cache.Config{Addr: cfg.Redis.Addr, Username: cfg.Redis.Username, Password: cfg.Redis.Password,
		TLS: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}, SealingKey: seal, NamingKey: name, Namespace: cfg.Cache.Namespace})
}

// hexKey decodes a 32-byte key; its error never quotes the value.
func hexKey(dst []byte, s string) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(dst) {
		return fmt.Errorf("want %d bytes in hex", len(dst))
	}
	copy(dst, b)
	return nil
}

// diagnoser is the care API's Diagnoser: the attested inference service.
type diagnoser struct {
	c      *client.Client
	model  string
	labels []string
}

func (d *diagnoser) Diagnose(ctx context.Context, img []byte, contentType string) (careapi.Diagnosis, error) {
	decoded, err := imaging.Decode(img)
	if err != nil {
		return careapi.Diagnosis{}, fmt.Errorf("diagnostics: the image does not decode: %w", err)
	}
	out, err := d.c.Infer(ctx, d.model, []oip.Tensor{{Name: "image", Datatype: oip.FP32, Shape: imaging.Shape(), Data: decoded.Pixels}})
	if err != nil {
		return careapi.Diagnosis{}, err
	}
	if len(out) != 1 {
		return careapi.Diagnosis{}, errors.New("diagnostics: unexpected outputs")
	}
	p, ok := out[0].Data.([]float32)
	if !ok || len(p) != len(d.labels) {
		return careapi.Diagnosis{}, errors.New("diagnostics: the model's output does not match its labels")
	}
	at := d.c.Attested()
	if at == nil {
		return careapi.Diagnosis{}, errors.New("diagnostics: not attested")
	}
	if at.Models[d.model] == "" {
		// Same binary, another service (the care API itself, say): its
		// token names no such model.
		return careapi.Diagnosis{}, fmt.Errorf("diagnostics: the attested service names no model %q", d.model)
	}
	return careapi.Diagnosis{Labels: d.labels, Probabilities: p, Model: d.model, ModelSHA256: at.Models[d.model]}, nil
}

// auditPath is this instance's audit log in dir: one log per activated
// instance, named by its certificate's serial, because each is signed by
// that instance's workload key (a new key at every activation). An auditor
// verifies each log with the certificate the coordinator's own audit log
// records for that serial.
func auditPath(dir string, cert *tls.Certificate) string {
	serial := "unknown"
	if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
		serial = leaf.SerialNumber.Text(16)
	}
	return filepath.Join(dir, "careapi-"+serial+".jsonl")
}

// auditSigner signs the care API's audit lines with the workload key: a
// line verifies against the certificate the coordinator issued to the
// attested instance that wrote it.
func auditSigner(cert *tls.Certificate) crypto.Signer {
	s, _ := cert.PrivateKey.(crypto.Signer)
	return s
}

func newHealthHashCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-password",
		Short: "Hash a staff password (read from stdin) for the care API's accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
			if err != nil {
				return err
			}
			pw := strings.TrimRight(string(b), "\r\n")
			if pw == "" {
				return usagef("no password on stdin")
			}
			h, err := careapi.HashPassword(pw)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h)
			return nil
		},
	}
}
