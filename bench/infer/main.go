// Command infer measures what cofre infer's protections cost, in one run:
//
//	bench/infer/run.sh [-n 300] [-c 4] [-count 200] [-runs 5] [-only HPKE -cpuprofile FILE]
//
// Four targets answer the same request — the demo chest model
// (infer/models/chest/model.onnx, 1×1×224×224 FP32 → 4 probabilities) on
// the example image nodule.png decoded by infer/imaging — on the real ONNX
// Runtime, one shared session:
//
//	(a) in-process: runtime.Model.Infer, no network, no JSON;
//	(b) plain OIP: oip.Handler over the same model, plain HTTP/1.1 on
//	    loopback, JSON bodies, no token, no sealing (a KServe/Triton-like
//	    server), called with net/http;
//	(c) cofre infer: service.Handler on an http.Server configured as
//	    cofre infer serve configures it (TLS 1.3, client certificates, HTTP/2),
//	    every request's EAR token verified (RequireAttestation with a static
//	    JWKS, ES256) and bound to the client certificate, request and response
//	    HPKE-sealed (X25519), called with infer/client;
//	(d) as (c) with plaintext bodies (--allow-plaintext-bodies): TLS and
//	    token, no HPKE, to separate HPKE's cost.
//
// For each run: latency p50/p90/p99 over -n sequential requests per target
// after -warmup unmeasured ones, the targets interleaved request by request
// (a round sends one request to each, in rotated order) so that drift on a
// shared machine hits all alike and each round pairs their latencies; then
// throughput of each target over -count requests shared by -c concurrent
// clients, in chunks alternating between the targets. Each figure is the median over -runs runs; the range of the
// runs' p50s and the median paired difference per round show how far the
// noise reaches. Client and server share the process and its cores, as a
// caller and a service on one host would share the machine. Every target's
// answer is checked (the image is diagnosed "nodule"), on every request.
//
// -cpuprofile profiles the measured requests; with -only (a substring of the
// targets' names, e.g. "HPKE" for (c)) it shows where one target's time
// goes, and pprof -diff_base between two such profiles (same request
// counts) where one target's extra time goes.
//
// A "components" table times, in-process, the steps (c) adds to (b) per
// request: token verification, HPKE sealing and opening, and the JSON codec
// both share.
//
// The caller's and service's tokens are issued here by an in-memory key set
// (the coordinator's role) with simulated-TEE claims: what is measured is
// their verification, which is the same for hardware claims.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/infer/client"
	"github.com/cofre-cc/cofre/infer/imaging"
	"github.com/cofre-cc/cofre/infer/oip"
	"github.com/cofre-cc/cofre/infer/runtime"
	"github.com/cofre-cc/cofre/infer/service"
	"github.com/cofre-cc/cofre/sealed"
	"github.com/cofre-cc/cofre/token"
)

const (
	modelName = "chest"
	issuer    = "https://coordinator.bench"
	// wantLabel is what the demo model must say of the example image.
	wantLabel = 1 // labels.txt: normal, nodule, effusion, cardiomegaly
)

var (
	serviceM = attest.Hex(bytes.Repeat([]byte{0x5e}, 32))
	callerM  = attest.Hex(bytes.Repeat([]byte{0xca}, 32))
)

func main() {
	lib := flag.String("lib", os.Getenv(runtime.EnvLibrary), "ONNX Runtime shared library (default $"+runtime.EnvLibrary+")")
	modelPath := flag.String("model", "infer/models/chest/model.onnx", "ONNX model (1x1x224x224 FP32 input)")
	imagePath := flag.String("image", "infer/models/chest/examples/nodule.png", "input image (decoded by infer/imaging)")
	n := flag.Int("n", 300, "sequential requests per latency run")
	warmup := flag.Int("warmup", 20, "unmeasured requests before each latency run")
	conc := flag.Int("c", 4, "concurrent clients in the throughput runs")
	count := flag.Int("count", 200, "requests per throughput run, shared by the -c clients")
	runs := flag.Int("runs", 5, "runs per target (medians are reported)")
	threads := flag.Int("threads", 1, "ONNX Runtime intra-op threads per inference (cofre infer serve --threads; 0: one per core)")
	only := flag.String("only", "", "measure only the targets whose name contains this (e.g. with -cpuprofile)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured requests to this file")
	flag.Parse()
	if *n < 1 || *conc < 1 || *count < throughputChunks**conc || *runs < 1 {
		log.Fatalf("want -n ≥ 1, -c ≥ 1, -count ≥ %d × -c, -runs ≥ 1", throughputChunks)
	}

	models, input := loadModel(*lib, *modelPath, *imagePath, *threads)
	defer models.Close()
	b := newBench(models, input, *conc)
	defer b.close()

	var targets []target
	for _, t := range b.targets() {
		if strings.Contains(t.name, *only) {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		log.Fatalf("-only %q matches no target", *only)
	}
	ctx := context.Background()
	for _, t := range targets {
		// Also the first contact: (c) and (d) attest the service here.
		if err := t.op(ctx); err != nil {
			log.Fatalf("%s: %v", t.name, err)
		}
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		must(err)
		must(pprof.StartCPUProfile(f))
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	results := make([][]runResult, len(targets)) // [target][run]
	for run := range *runs {
		for i, r := range measureRun(ctx, targets, run, *warmup, *n, *conc, *count) {
			results[i] = append(results[i], r)
		}
	}

	fmt.Printf("ONNX Runtime %s, model %s (%d bytes), %d intra-op thread(s); %d sequential requests (after %d warm-up) and %d requests over %d concurrent clients per run; median of %d runs, targets interleaved request by request; client and server in one process\n\n",
		runtime.RuntimeVersion(), *modelPath, b.modelSize, *threads, *n, *warmup, *count, *conc, *runs)
	sums := make(map[string]summary, len(targets))
	byKey := make(map[string][]runResult, len(targets))
	fmt.Printf("| target | p50 ms | p90 ms | p99 ms | runs' p50 ms | req/s (%d clients) | p50 / (b) | req/s / (b) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n", *conc)
	for i, t := range targets {
		sums[t.key] = summarize(results[i])
		byKey[t.key] = results[i]
	}
	base, haveBase := sums["b"]
	for _, t := range targets {
		s := sums[t.key]
		lr, tr := "–", "–"
		if haveBase {
			lr, tr = ratio(s.p50, base.p50), fmt.Sprintf("%.2f", s.rps/base.rps)
		}
		fmt.Printf("| %s | %.2f | %.2f | %.2f | %.2f–%.2f | %.0f | %s | %s |\n", t.name, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.p50lo), ms(s.p50hi), s.rps, lr, tr)
	}
	fmt.Println()
	for _, r := range [][2]string{{"c", "b"}, {"d", "b"}, {"c", "a"}, {"c", "d"}} {
		x, okx := sums[r[0]]
		y, oky := sums[r[1]]
		if !okx || !oky {
			continue
		}
		fmt.Printf("- (%s)/(%s): p50 %s (%+.2f ms; paired per round %+.2f ms), p99 %s, throughput %.2f×\n", r[0], r[1], ratio(x.p50, y.p50),
			ms(x.p50-y.p50), ms(pairedDelta(byKey[r[0]], byKey[r[1]])), ratio(x.p99, y.p99), x.rps/y.rps)
	}
	if c, ok := sums["c"]; ok && haveBase {
		over := (float64(c.p50)/float64(base.p50) - 1) * 100
		verdict := "met"
		if over > 10 {
			verdict = "NOT met"
		}
		paired := float64(pairedDelta(byKey["c"], byKey["b"])) / float64(base.p50) * 100
		fmt.Printf("\nGoal: p50 overhead of (c) cofre infer over (b) plain OIP ≤ 10 %%: %+.1f %% (paired per round: %+.1f %%) — %s.\n", over, paired, verdict)
	}
	fmt.Println()
	if *only == "" {
		b.components(*runs)
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// loadModel opens a one-model repository holding modelPath and decodes the
// image into its input tensor.
func loadModel(lib, modelPath, imagePath string, threads int) (*runtime.Repository, []oip.Tensor) {
	if lib == "" {
		log.Fatalf("no ONNX Runtime library: -lib or $%s (make onnxruntime)", runtime.EnvLibrary)
	}
	model, err := os.ReadFile(modelPath)
	must(err)
	repo, err := os.MkdirTemp("", "cofre-bench-infer-")
	must(err)
	defer os.RemoveAll(repo) // the session holds the model; the file is not needed after Open
	must(os.MkdirAll(filepath.Join(repo, modelName), 0o755))
	must(os.WriteFile(filepath.Join(repo, modelName, "model.onnx"), model, 0o644))
	models, err := runtime.Open(repo, runtime.Options{LibraryPath: lib, IntraOpThreads: threads})
	must(err)
	raw, err := os.ReadFile(imagePath)
	must(err)
	img, err := imaging.Decode(raw)
	must(err)
	return models, []oip.Tensor{{Name: "image", Datatype: oip.FP32, Shape: imaging.Shape(), Data: img.Pixels}}
}

type target struct {
	key, name string
	op        func(context.Context) error
}

type bench struct {
	models    *runtime.Repository
	model     *runtime.Model
	modelSize int64
	input     []oip.Tensor

	ks       *token.KeySet
	jwks     token.JWKS
	hpke     *sealed.PrivateKey
	plainSrv *http.Server
	plainURL string
	plainCli *http.Client
	tlsSrvs  []*http.Server
	sealed   *client.Client // (c)
	plain    *client.Client // (d)
	callerT  string         // the caller's token, for the components table
	callerC  tls.Certificate
}

func newBench(models *runtime.Repository, input []oip.Tensor, conc int) *bench {
	m, ok := models.Model(modelName)
	if !ok {
		log.Fatal("model not loaded")
	}
	b := &bench{models: models, model: m, modelSize: m.Size(), input: input}
	var err error
	b.ks, err = token.NewKeySet(token.ES256, time.Now())
	must(err)
	jwks, err := b.ks.JWKS(time.Now())
	must(err)
	b.jwks, err = token.StaticJWKS(jwks)
	must(err)
	b.hpke, err = sealed.GenerateKey(sealed.X25519)
	must(err)

	// (b): the OIP handler alone, plain HTTP.
	api, err := oip.Handler(&backend{m: m}, oip.Options{})
	must(err)
	b.plainSrv, b.plainURL = serve(api, nil)
	b.plainCli = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc + 1}}

	// (c) and (d): the service as cofre infer serve builds it.
	cnf, err := token.ParseConfirmationJWK(b.hpke.PublicJWK())
	must(err)
	hpkePub, err := cnf.PublicKey()
	must(err)
	serviceCert := selfSigned("diagnostics")
	hpkeTok := b.issue(serviceM, hpkePub, service.RuntimeClaims(models))
	tlsTok := b.issue(serviceM, serviceCert.Leaf.PublicKey, nil)
	b.callerC = selfSigned("care-api")
	b.callerT = b.issue(callerM, b.callerC.Leaf.PublicKey, nil)
	for _, plaintext := range []bool{false, true} {
		h, err := service.Handler(service.Config{Models: models, Key: b.hpke, RequireSealed: !plaintext,
			Token: func() string { return hpkeTok }, TLSToken: func() string { return tlsTok },
			Callers: token.Options{JWKS: b.jwks, Issuer: issuer, ExpectedMeasurements: []attest.Hex{callerM}, AllowSimulation: true}})
		must(err)
		srv, url := serve(h, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{serviceCert}, ClientAuth: tls.RequireAnyClientCert})
		b.tlsSrvs = append(b.tlsSrvs, srv)
		c, err := client.New(client.Options{URL: url, Certificate: &b.callerC, Token: func() string { return b.callerT }, Plaintext: plaintext,
			Service: token.Options{JWKS: b.jwks, Issuer: issuer, ExpectedMeasurements: []attest.Hex{serviceM}, AllowSimulation: true}})
		must(err)
		if plaintext {
			b.plain = c
		} else {
			b.sealed = c
		}
	}
	return b
}

func (b *bench) close() {
	b.plainSrv.Close()
	for _, s := range b.tlsSrvs {
		s.Close()
	}
}

// serve starts an http.Server on a loopback port with the limits and
// timeouts of cofre infer serve; tlsConf nil serves plain HTTP.
func serve(h http.Handler, tlsConf *tls.Config) (*http.Server, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	srv := &http.Server{
		Handler:           http.MaxBytesHandler(h, 32<<20),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		TLSConfig:         tlsConf,
	}
	scheme := "http"
	go func() {
		var err error
		if tlsConf != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()
	if tlsConf != nil {
		scheme = "https"
	}
	return srv, scheme + "://" + ln.Addr().String()
}

func selfSigned(name string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{name}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(err)
	leaf, err := x509.ParseCertificate(der)
	must(err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// issue makes the token a coordinator would issue a workload of
// measurement m, bound to pub, valid for the benchmark's duration.
func (b *bench) issue(m attest.Hex, pub crypto.PublicKey, runtimeClaims map[string]string) string {
	cnf, err := token.ConfirmationForKey(pub)
	must(err)
	now := time.Now()
	c := &token.Claims{Issuer: issuer, IssuedAt: now, Expiry: now.Add(24 * time.Hour), VerifierID: "cofre bench",
		Confirmation: cnf, Runtime: runtimeClaims,
		Submods: map[string]token.Submod{token.PrimarySubmod: {
			Status: ear.TrustTierWarning, PolicyID: "bench",
			Vector: ear.TrustVector{InstanceIdentity: ear.TrustworthyInstanceClaim, Configuration: ear.ApprovedConfigClaim,
				Executables: ear.ApprovedRuntimeClaim, Hardware: ear.UnsafeHardwareClaim, RuntimeOpaque: ear.EncryptedMemoryRuntimeClaim},
			Claims: &attest.Claims{Format: attest.FormatSim, TEE: attest.TEESim, Measurement: m, Debug: true,
				ReportData: attest.Hex(bytes.Repeat([]byte{7}, 64)), TCBStatus: attest.TCBUnevaluated, Warnings: []string{attest.SimulationWarning}},
		}}}
	tok, err := token.NewIssuer(b.ks).Issue(c)
	must(err)
	return tok
}

func (b *bench) targets() []target {
	check := func(out []oip.Tensor, err error) error {
		if err != nil {
			return err
		}
		return checkTop(out)
	}
	return []target{
		{"a", "(a) ONNX Runtime in-process", func(ctx context.Context) error {
			in := make(map[string]runtime.Tensor, len(b.input))
			for _, t := range b.input {
				in[t.Name] = runtime.Tensor{Name: t.Name, Datatype: runtime.FP32, Shape: t.Shape, Data: t.Data}
			}
			out, err := b.model.Infer(ctx, in)
			if err != nil {
				return err
			}
			for _, t := range out {
				return checkTop([]oip.Tensor{{Name: t.Name, Datatype: oip.FP32, Shape: t.Shape, Data: t.Data}})
			}
			return errors.New("no output")
		}},
		{"b", "(b) plain OIP (HTTP, JSON)", func(ctx context.Context) error { return check(b.plainInfer(ctx)) }},
		{"c", "(c) cofre infer (TLS + token + HPKE)", func(ctx context.Context) error {
			return check(b.sealed.Infer(ctx, modelName, b.input))
		}},
		{"d", "(d) cofre infer, plaintext bodies (TLS + token)", func(ctx context.Context) error {
			return check(b.plain.Infer(ctx, modelName, b.input))
		}},
	}
}

// plainInfer is what a KServe/Triton client does: encode, POST, decode.
func (b *bench) plainInfer(ctx context.Context) ([]oip.Tensor, error) {
	body, err := oip.EncodeInferRequest(&oip.InferRequest{Inputs: b.input})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.plainURL+"/v2/models/"+modelName+"/infer", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.plainCli.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, rb)
	}
	out, err := oip.DecodeInferResponse(rb)
	if err != nil {
		return nil, err
	}
	return out.Outputs, nil
}

func checkTop(out []oip.Tensor) error {
	if len(out) != 1 {
		return fmt.Errorf("%d outputs, want 1", len(out))
	}
	p, ok := out[0].Data.([]float32)
	if !ok || len(p) != 4 {
		return fmt.Errorf("output %s: want 4 FP32 probabilities", out[0].Name)
	}
	if best := slices.Index(p, slices.Max(p)); best != wantLabel {
		return fmt.Errorf("diagnosed class %d, want %d", best, wantLabel)
	}
	return nil
}

// backend serves one runtime model over oip (what infer/service's
// unexported adapter does, without its repository lookup).
type backend struct{ m *runtime.Model }

func (be *backend) Model(name string) (oip.ModelMetadata, bool) {
	if name != be.m.Name() {
		return oip.ModelMetadata{}, false
	}
	md := oip.ModelMetadata{Name: name, Platform: "onnxruntime_onnx"}
	for _, in := range be.m.Inputs() {
		md.Inputs = append(md.Inputs, oip.TensorMetadata{Name: in.Name, Datatype: oip.FP32, Shape: in.Shape})
	}
	for _, out := range be.m.Outputs() {
		md.Outputs = append(md.Outputs, oip.TensorMetadata{Name: out.Name, Datatype: oip.FP32, Shape: out.Shape})
	}
	return md, true
}

func (be *backend) Ready() bool { return true }

func (be *backend) Infer(ctx context.Context, name string, inputs []oip.Tensor) ([]oip.Tensor, error) {
	in := make(map[string]runtime.Tensor, len(inputs))
	for _, t := range inputs {
		in[t.Name] = runtime.Tensor{Name: t.Name, Datatype: runtime.FP32, Shape: t.Shape, Data: t.Data}
	}
	out, err := be.m.Infer(ctx, in)
	if errors.Is(err, runtime.ErrBadInput) {
		return nil, fmt.Errorf("%w: %v", oip.ErrInvalidInput, err)
	}
	if err != nil {
		return nil, err
	}
	var res []oip.Tensor
	for _, info := range be.m.Outputs() {
		if t, ok := out[info.Name]; ok {
			res = append(res, oip.Tensor{Name: t.Name, Datatype: oip.FP32, Shape: t.Shape, Data: t.Data})
		}
	}
	return res, nil
}

// throughputChunks is how many pieces each throughput run is cut into.
const throughputChunks = 4

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type runResult struct {
	lat []time.Duration // sequential latencies, by round
	rps float64
}

// measureRun is one run over all targets. Latency: warmup unmeasured
// rounds, then n timed rounds of one sequential request to each target in
// turn, the order rotated every round, so that the shared machine's drift
// (other processes, frequency changes) hits every target alike and each
// round pairs the targets' latencies. Throughput: count requests per target
// over conc concurrent clients (closed loop: each starts its next request
// when its last returns), in throughputChunks chunks, targets alternating.
func measureRun(ctx context.Context, targets []target, run, warmup, n, conc, count int) []runResult {
	k := len(targets)
	rs := make([]runResult, k)
	for i := range rs {
		rs[i].lat = make([]time.Duration, n)
	}
	for round := range warmup + n {
		for j := range k {
			i := (round + j) % k
			t := time.Now()
			must(targets[i].op(ctx))
			if round >= warmup {
				rs[i].lat[round-warmup] = time.Since(t)
			}
		}
	}
	// Throughput in chunks, the targets alternating chunk by chunk, for the
	// same reason; a chunk's ramp-up and tail cost every target alike.
	elapsed := make([]time.Duration, k)
	done := make([]int, k)
	for chunk := 0; chunk < throughputChunks; chunk++ {
		for j := range k {
			i := (run + chunk + j) % k
			m := count/throughputChunks + boolInt(chunk < count%throughputChunks)
			var next atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for range conc {
				wg.Go(func() {
					for next.Add(1) <= int64(m) {
						must(targets[i].op(ctx))
					}
				})
			}
			wg.Wait()
			elapsed[i] += time.Since(start)
			done[i] += m
		}
	}
	for i := range rs {
		rs[i].rps = float64(done[i]) / elapsed[i].Seconds()
	}
	return rs
}

type summary struct {
	p50, p90, p99 time.Duration
	rps           float64
	p50lo, p50hi  time.Duration // range of the runs' p50s
}

// pct is the nearest-rank percentile of sorted latencies.
func pct(sorted []time.Duration, q float64) time.Duration {
	i := max(int(math.Ceil(q*float64(len(sorted))))-1, 0)
	return sorted[i]
}

func median[T time.Duration | float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(rs []runResult) summary {
	var p50, p90, p99 []time.Duration
	var rps []float64
	for _, r := range rs {
		lat := slices.Clone(r.lat)
		slices.Sort(lat)
		p50 = append(p50, pct(lat, 0.50))
		p90 = append(p90, pct(lat, 0.90))
		p99 = append(p99, pct(lat, 0.99))
		rps = append(rps, r.rps)
	}
	return summary{median(p50), median(p90), median(p99), median(rps), slices.Min(p50), slices.Max(p50)}
}

// pairedDelta is the median over every round of every run of x's latency
// minus y's in the same round: the overhead with the machine's drift
// cancelled out.
func pairedDelta(x, y []runResult) time.Duration {
	var d []time.Duration
	for run := range x {
		for i := range x[run].lat {
			d = append(d, x[run].lat[i]-y[run].lat[i])
		}
	}
	return median(d)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratio(x, y time.Duration) string { return fmt.Sprintf("%.2f", float64(x)/float64(y)) }

// components times, in-process and single-threaded, each step of one
// request that (c) adds to (b), and the JSON codec both pay, so the
// end-to-end difference can be attributed. TLS record encryption and
// HTTP/2 framing are not separated here (see -cpuprofile).
func (b *bench) components(runs int) {
	const reps = 200
	ctx := context.Background()
	req, err := oip.EncodeInferRequest(&oip.InferRequest{Inputs: b.input})
	must(err)
	out, err := (&backend{m: b.model}).Infer(ctx, modelName, b.input)
	must(err)
	resp, err := oip.EncodeInferResponse(&oip.InferResponse{ModelName: modelName, Outputs: out})
	must(err)
	const sealCtx = "POST /v2/models/" + modelName + "/infer"
	sealedReq, opener, err := sealed.SealRequest(b.hpke.PublicKey(), sealCtx, req)
	must(err)
	_, sealer, err := sealed.OpenRequest(b.hpke, sealCtx, sealedReq)
	must(err)
	sealedResp, err := sealer.Seal(resp)
	must(err)
	verify := token.Options{JWKS: b.jwks, Issuer: issuer, ExpectedMeasurements: []attest.Hex{callerM}, AllowSimulation: true,
		ConfirmationCertificate: b.callerC.Leaf}

	steps := []struct {
		name string
		f    func() error
	}{
		{"JSON: encode request (client, (b) (c) (d))", func() error { _, err := oip.EncodeInferRequest(&oip.InferRequest{Inputs: b.input}); return err }},
		{"JSON: decode request (server, (b) (c) (d))", func() error { _, err := oip.DecodeInferRequest(req); return err }},
		{"token: verify caller's token, cnf = client cert (server, (c) (d))", func() error { _, err := token.Verify(ctx, b.callerT, verify); return err }},
		{"HPKE: seal request (client, (c))", func() error { _, _, err := sealed.SealRequest(b.hpke.PublicKey(), sealCtx, req); return err }},
		{"HPKE: open request (server, (c))", func() error { _, _, err := sealed.OpenRequest(b.hpke, sealCtx, sealedReq); return err }},
		// A sealer and an opener each serve one exchange, but sealing or
		// opening the same response again costs the same.
		{"HPKE: seal response (server, (c))", func() error { _, err := sealer.Seal(resp); return err }},
		{"HPKE: open response (client, (c))", func() error { _, err := opener.Open(sealedResp); return err }},
	}
	fmt.Printf("## Components per request (in-process, one goroutine, median of %d × %d)\n\nrequest body %d bytes JSON (%d sealed), response %d bytes\n\n| step | µs |\n|---|---:|\n",
		runs, reps, len(req), len(sealedReq), len(resp))
	for _, s := range steps {
		var ds []time.Duration
		for range runs {
			t := time.Now()
			for range reps {
				must(s.f())
			}
			ds = append(ds, time.Since(t)/reps)
		}
		fmt.Printf("| %s | %.1f |\n", s.name, float64(median(ds))/float64(time.Microsecond))
	}
	fmt.Println()
}

// Interface guards.
var _ oip.Backend = (*backend)(nil)
