package main

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/infer/client"
	"github.com/cofre-cc/cofre/infer/imaging"
	"github.com/cofre-cc/cofre/infer/oip"
	"github.com/cofre-cc/cofre/infer/runtime"
	"github.com/cofre-cc/cofre/infer/service"
	"github.com/cofre-cc/cofre/sealed"
	"github.com/cofre-cc/cofre/token"
)

// envTokenFile is where cofre run wrote the workload's token (--token-file),
// for the program it starts: a public value (the token is bound to the
// workload's key).
const envTokenFile = "COFRE_TOKEN_FILE"

func newInferCmd() *cobra.Command {
	return newGroup("infer", "Confidential inference: ONNX models behind attested, encrypted requests", newInferServeCmd(), newInferClientCmd())
}

type inferServeFlags struct {
	coord           coordFlags
	models          string
	listen          string
	callers         []string
	allowSimCallers bool
	allowPlaintext  bool
	threads         int
	tokenFile       string
}

func newInferServeCmd() *cobra.Command {
	var f inferServeFlags
	cmd := &cobra.Command{
		Use:   "serve --models DIR --caller-measurement HEX… [--listen ADDR]",
		Short: "Serve ONNX models (Open Inference Protocol v2) to attested callers",
		Long: `Serves the models of DIR (DIR/NAME/model.onnx) with ONNX Runtime over the Open
Inference Protocol v2 (KServe/Triton HTTP), over TLS with the workload's
certificate. Run it under cofre run (with --token-file): it is an attested
workload of the coordinator.

Callers must present a TLS client certificate and "Authorization: Attestation
<token>": a token from the same coordinator, bound to that certificate, whose
workload measurement is one of --caller-measurement (401/403 with reasons
otherwise). Request bodies must be HPKE-sealed to the service (docs/sealed.md)
unless --allow-plaintext-bodies. GET /v1/attestation gives callers the
service's tokens: one bound to its TLS key, one to its HPKE key naming every
model's SHA-256 (cofre.runtime "model:NAME").

The ONNX Runtime library comes from COFRE_ONNXRUNTIME_LIB (make onnxruntime).`,
		Args: cobra.NoArgs,
		RunE: workloadRunE(&f.coord, func(ctx context.Context, stdout, stderr io.Writer) error {
			return runInferServe(ctx, stderr, &f)
		}),
	}
	fl := cmd.Flags()
	f.coord.register(fl, "key")
	fl.StringVar(&f.models, "models", "", "model repository: DIR/NAME/model.onnx (required)")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8443", "TLS listen address")
	fl.StringSliceVar(&f.callers, "caller-measurement", nil, "workload measurement (hex) a caller's token must attest (repeatable; required)")
	fl.BoolVar(&f.allowSimCallers, "allow-simulation-callers", false, "admit callers whose attestation is SIMULATED (development only)")
	fl.BoolVar(&f.allowPlaintext, "allow-plaintext-bodies", false, "accept inference bodies that are not HPKE-sealed (they are still inside TLS)")
	fl.IntVar(&f.threads, "threads", 0, "ONNX Runtime intra-op threads per inference (0: its default)")
	fl.StringVar(&f.tokenFile, "token-file", "", "the workload token cofre run wrote (default: $"+envTokenFile+")")
	return cmd
}

func parseMeasurements(flag string, hexes []string) ([]attest.Hex, error) {
	var out []attest.Hex
	for _, h := range hexes {
		b, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil || (len(b) != 32 && len(b) != 48) {
			return nil, usagef("--%s %q: want 64 or 96 hex digits", flag, h)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, usagef("--%s is required: it names who may be trusted", flag)
	}
	return out, nil
}

// tokenFile returns a function reading the workload token from path (or
// $COFRE_TOKEN_FILE) afresh each time, so a token cofre run rewrites is
// picked up.
func tokenFileFunc(path string) (func() string, error) {
	if path == "" {
		path = os.Getenv(envTokenFile)
	}
	if path == "" {
		return nil, usagef("--token-file is required (run under cofre run --token-file)")
	}
	read := func() (string, error) {
		b, err := readFile(path, maxTokenInput)
		return strings.TrimSpace(string(b)), err
	}
	if _, err := read(); err != nil {
		return nil, usagef("--token-file: %v", err)
	}
	return func() string {
		s, _ := read()
		return s
	}, nil
}

func runInferServe(ctx context.Context, stderr io.Writer, f *inferServeFlags) error {
	if f.models == "" {
		return usagef("--models is required")
	}
	callers, err := parseMeasurements("caller-measurement", f.callers)
	if err != nil {
		return err
	}
	w, err := startWorkloadService(ctx, stderr, &f.coord, f.tokenFile, "cofre infer serve")
	if err != nil {
		return err
	}
	models, err := runtime.Open(f.models, runtime.Options{IntraOpThreads: f.threads})
	if err != nil {
		return err
	}
	defer models.Close()
	claims := service.RuntimeClaims(models)
	key, ref, err := w.hpke(ctx, stderr, sealed.X25519, claims)
	if err != nil {
		return err
	}
	jwks, issuer, err := w.coord.TokenVerifier(ctx)
	if err != nil {
		return coordError(stderr, err)
	}
	h, err := service.Handler(service.Config{Models: models, Key: key, RequireSealed: !f.allowPlaintext,
		Token: ref.Token, TLSToken: w.tlsToken, Logger: w.log, Version: version,
		Callers: token.Options{JWKS: jwks, Issuer: issuer, ExpectedMeasurements: callers, AllowSimulation: f.allowSimCallers}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	var names []string
	for _, m := range models.Models() {
		names = append(names, fmt.Sprintf("%s (sha256 %s)", m.Name(), claims[service.RuntimeClaimPrefix+m.Name()]))
	}
	fmt.Fprintf(stderr, "cofre infer: serving %s on https://%s\n", strings.Join(names, ", "), ln.Addr())
	// The token authenticates callers; the certificate proves the token is
	// theirs (cnf), so it need not chain to a CA here.
	return w.serve(ctx, ln, h, tls.RequireAnyClientCert)
}

type inferClientFlags struct {
	coord     coordFlags
	url       string
	model     string
	image     string
	input     string
	services  []string
	allowSim  bool
	plaintext bool
	labels    string
	tokenFile string
}

func newInferClientCmd() *cobra.Command {
	var f inferClientFlags
	cmd := &cobra.Command{
		Use:   "client --url URL --model NAME (--image FILE | --input FILE) --service-measurement HEX…",
		Short: "Call an inference service as an attested workload",
		Long: `Verifies the inference service (its two tokens, against the coordinator's
keys: measurement, status, the TLS key of this very connection), then sends
one inference request HPKE-sealed to the service's attested key, with this
workload's own token, and prints the outputs.

--image takes a PNG, JPEG or DICOM file (decoded to the 1x1x224x224 input of
the demo model); --input an Open Inference Protocol JSON request. Run it under
cofre run (with --token-file).`,
		Args: cobra.NoArgs,
		RunE: workloadRunE(&f.coord, func(ctx context.Context, stdout, stderr io.Writer) error {
			return runInferClient(ctx, stdout, stderr, &f)
		}),
	}
	fl := cmd.Flags()
	f.coord.register(fl, "key")
	fl.StringVar(&f.url, "url", "", "the service, https://HOST:PORT (required)")
	fl.StringVar(&f.model, "model", "", "model name (required)")
	fl.StringVar(&f.image, "image", "", "an image to diagnose (PNG, JPEG, DICOM)")
	fl.StringVar(&f.input, "input", "", "an OIP v2 inference request (JSON)")
	fl.StringSliceVar(&f.services, "service-measurement", nil, "workload measurement (hex) the service must attest (repeatable; required)")
	fl.BoolVar(&f.allowSim, "allow-simulation", false, "accept a SIMULATED service (development only)")
	fl.BoolVar(&f.plaintext, "plaintext", false, "do not seal the request body (TLS only)")
	fl.StringVar(&f.labels, "labels", "", "a file of output labels, one per line: print the findings by probability")
	fl.StringVar(&f.tokenFile, "token-file", "", "this workload's token (default: $"+envTokenFile+")")
	return cmd
}

func runInferClient(ctx context.Context, stdout, stderr io.Writer, f *inferClientFlags) error {
	if f.url == "" || f.model == "" || (f.image == "") == (f.input == "") {
		return usagef("--url, --model and one of --image or --input are required")
	}
	want, err := parseMeasurements("service-measurement", f.services)
	if err != nil {
		return err
	}
	own, err := tokenFileFunc(f.tokenFile)
	if err != nil {
		return err
	}
	var inputs []oip.Tensor
	if f.image != "" {
		b, err := readFile(f.image, 64<<20)
		if err != nil {
			return usagef("--image: %v", err)
		}
		img, err := imaging.Decode(b)
		if err != nil {
			return usagef("--image: %v", err)
		}
		inputs = []oip.Tensor{{Name: "image", Datatype: oip.FP32, Shape: imaging.Shape(), Data: img.Pixels}}
	} else {
		b, err := readFile(f.input, 64<<20)
		if err != nil {
			return usagef("--input: %v", err)
		}
		req, err := oip.DecodeInferRequest(b)
		if err != nil {
			return usagef("--input: %v", err)
		}
		inputs = req.Inputs
	}
	opts, err := f.coord.options()
	if err != nil {
		return err
	}
	if opts.Certificate == nil {
		return usagef("the workload certificate (--cert, COFRE_CERT) is required: the service binds tokens to it")
	}
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return err
	}
	jwks, issuer, err := c.TokenVerifier(ctx)
	if err != nil {
		return coordError(stderr, err)
	}
	ic, err := client.New(client.Options{URL: f.url, Certificate: opts.Certificate, GetCertificate: opts.GetCertificate, Token: own, Plaintext: f.plaintext,
		Service: token.Options{JWKS: jwks, Issuer: issuer, ExpectedMeasurements: want, AllowSimulation: f.allowSim}})
	if err != nil {
		return usageError{err}
	}
	at, err := ic.Attest(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "REFUSED:", err)
		return refusedError{}
	}
	if at.Claims.Simulation() {
		fmt.Fprintln(stderr, "WARNING: SIMULATION: the inference service's attestation is simulated")
	}
	for name, sum := range at.Models {
		fmt.Fprintf(stderr, "service attested: model %s sha256 %s\n", name, sum)
	}
	out, err := ic.Infer(ctx, f.model, inputs)
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
		fmt.Fprintln(stderr, "REFUSED:", err)
		return refusedError{}
	}
	if err != nil {
		return err
	}
	var labels []string
	if f.labels != "" {
		b, err := readFile(f.labels, 1<<20)
		if err != nil {
			return usagef("--labels: %v", err)
		}
		labels = strings.Fields(string(b))
	}
	for _, t := range out {
		p, ok := t.Data.([]float32)
		if !ok || len(labels) != len(p) {
			fmt.Fprintf(stdout, "%s %s %v: %v\n", t.Name, t.Datatype, t.Shape, t.Data)
			continue
		}
		idx := make([]int, len(p))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int {
			switch {
			case p[a] > p[b]:
				return -1
			case p[a] < p[b]:
				return 1
			}
			return 0
		})
		for _, i := range idx {
			fmt.Fprintf(stdout, "%-14s %.4f\n", labels[i], p[i])
		}
	}
	return nil
}
