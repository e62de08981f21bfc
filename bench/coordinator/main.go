// Command coordinator is a closed-loop load generator for a running
// `cofre coordinator --dev`: it uploads a manifest (max_instances 0, so the
// instance cap never refuses), then each of -c workers repeatedly asks for
// an activation challenge, produces sim evidence binding (nonce, CSR key,
// workload digest) in process, as a launcher would, and presents it with
// the CSR to POST /v1/activate; the next iteration starts when the
// instance's certificate, configuration and token arrive. It reports
// activations per second and the p50/p99 latency of one activation
// (challenge + evidence + activate).
//
// The workload keys and their CSRs are made before anything is timed and
// reused round robin (-keys of them): key generation is the workload's
// cost, not the coordinator's, and the coordinator admits a new instance
// for each activation whatever its key.
//
// Baseline, measured in the same process and interleaved with the
// activation runs: the same closed loop doing two GET /healthz per
// iteration (the same number of HTTPS round trips, no activation work), so
// the ratio shows what activation costs on top of the HTTP stack.
//
// Every activation adds an instance record and audit events to the
// coordinator's store, so the per-run rates are printed to show whether
// throughput drifts as the tables grow.
//
// Every figure is the median of -runs runs. Use bench/coordinator/run.sh,
// which starts a coordinator with a fresh state directory; or point -url
// at a running one that has no manifest named -manifest yet.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/bench/internal/loadgen"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/client"
	"github.com/cofre-cc/cofre/manifest"
)

func main() {
	url := flag.String("url", "", "coordinator base URL, e.g. https://127.0.0.1:9443")
	simDir := flag.String("sim", "", "the coordinator's sim directory (--state/sim: platform.pem, root-cert.pem)")
	name := flag.String("manifest", "bench", "name of the manifest to upload")
	conc := flag.Int("c", 8, "concurrent closed-loop workers")
	dur := flag.Duration("d", 5*time.Second, "duration of one run")
	runs := flag.Int("runs", 5, "runs per case; figures are medians")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up before the first run (not measured)")
	keys := flag.Int("keys", 1024, "workload keys (and CSRs) made before timing, used round robin")
	flag.Parse()
	if *url == "" || *simDir == "" || *conc < 1 || *runs < 1 || *keys < 1 {
		fmt.Fprintln(os.Stderr, "usage: coordinator -url URL -sim DIR [-c N] [-d DUR] [-runs N] [-keys N]")
		os.Exit(2)
	}
	ctx := context.Background()
	b, err := load(ctx, *url, *simDir, *name, *conc, *keys)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	// One of each, checked, before anything is timed: a benchmark of
	// refusals would measure the wrong path.
	for name, op := range map[string]loadgen.Op{"activate": b.activate, "healthz": b.healthz} {
		if err := op(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", name, err)
			os.Exit(1)
		}
	}
	loadgen.Loop(*conc, b.activate, *warmup)
	before := b.admitted.Load()

	base, act := loadgen.Interleave(*conc, *runs, *dur, b.healthz, b.activate)
	fmt.Printf("Go %s, %s/%s, GOMAXPROCS %d (client); %d workers, %d runs of %v; medians.\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), *conc, *runs, *dur)
	fmt.Println("| loop | per second | p50 | p99 | errors | ratio to baseline (throughput) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	bm, am := loadgen.Summarize(base), loadgen.Summarize(act)
	fmt.Printf("| baseline: 2 × GET /healthz | %.0f | %s | %s | %d | 1.00 |\n", bm.Rate, loadgen.Ms(bm.P50), loadgen.Ms(bm.P99), bm.Errors)
	fmt.Printf("| challenge + sim evidence + activate → certificate, config, token | %.0f | %s | %s | %d | %.2f |\n", am.Rate, loadgen.Ms(am.P50), loadgen.Ms(am.P99), am.Errors, am.Rate/bm.Rate)
	fmt.Println()
	fmt.Println("Runs (activations/s):", loadgen.Rates(act))
	fmt.Println("Runs (baseline/s):", loadgen.Rates(base))
	fmt.Printf("Instances admitted: %d before the first run, %d after the last.\n", before, b.admitted.Load())
}

// workloadMeasurement is what the sim evidence reports and the manifest's
// package expects.
var workloadMeasurement = sha256.Sum256([]byte("cofre bench workload"))

// workloadDigest is the launcher's digest of the executable, bound into the
// evidence; the manifest lists no digests, so any is accepted.
var workloadDigest = sha256.Sum256([]byte("/app/api"))

type bench struct {
	client   *loadgen.Client
	producer *sim.Producer
	manifest string
	csrs     []workloadKey
	next     atomic.Uint64 // index of the next workload key, mod len(csrs)
	admitted atomic.Int64  // activations that succeeded
}

// workloadKey is a CSR and the SPKI (DER) of its key, which the evidence
// binds.
type workloadKey struct {
	csr, spki []byte
}

func load(ctx context.Context, url, simDir, name string, conc, keys int) (*bench, error) {
	pb, err := os.ReadFile(filepath.Join(simDir, "platform.pem"))
	if err != nil {
		return nil, err
	}
	plat, err := sim.ParsePlatform(pb)
	if err != nil {
		return nil, err
	}
	rb, err := os.ReadFile(filepath.Join(simDir, "root-cert.pem"))
	if err != nil {
		return nil, err
	}
	simRoots, err := sim.ParseRootCertificates(rb)
	if err != nil {
		return nil, err
	}
	root, err := setup(ctx, url, attest.NewRegistry(sim.NewVerifier(simRoots)), name)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	// Keep only the platform certificate: Produce leaves the root out of
	// the evidence anyway, but finds it by checking its self-signature on
	// every call, an ECDSA verification that would eat into the CPU the
	// load generator shares with the coordinator.
	plat.Chain = plat.Chain[:1]
	b := &bench{
		client:   loadgen.NewClient(url, roots, conc),
		producer: &sim.Producer{Platform: plat, Measurement: workloadMeasurement[:]},
		manifest: name,
	}
	for range keys {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
		if err != nil {
			return nil, err
		}
		spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		b.csrs = append(b.csrs, workloadKey{csr: csr, spki: spki})
	}
	return b, nil
}

// setup attests the coordinator with the client package (sim evidence
// under the coordinator's sim root), uploads the manifest, and returns the
// root certificate the evidence vouches for: the timed loop trusts the
// server certificates it issued, with plain net/http. (Not --state/root.pem:
// the host could replace that file.)
func setup(ctx context.Context, url string, reg *attest.Registry, name string) (*x509.Certificate, error) {
	c, err := client.New(url, client.Options{Registry: reg, InsecureSimulation: true, Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	if err := c.Verify(ctx); err != nil {
		return nil, err
	}
	doc, sigs, err := signedManifest(name)
	if err != nil {
		return nil, err
	}
	if _, err := c.SetManifest(ctx, name, doc, sigs); err != nil {
		return nil, err
	}
	return c.Root(), nil
}

// signedManifest returns version 1 of the benchmark's manifest, signed by
// both of its two owners (fresh keys: the manifest is never updated). Its
// one service renders a shared secret and the workload's SPIFFE ID into
// its environment, and has no instance cap.
func signedManifest(name string) ([]byte, [][]byte, error) {
	var owners []*ecdsa.PrivateKey
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nversion: 1\nowners:\n", name)
	for i := range 2 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		owners = append(owners, k)
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return nil, nil, err
		}
		p := strings.TrimRight(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n")
		fmt.Fprintf(&b, "  o%d:\n    public_key: |\n      %s\n", i, strings.ReplaceAll(p, "\n", "\n      "))
	}
	fmt.Fprintf(&b, `update_threshold: 2
packages:
  app:
    references:
      - tee: sim
        measurements: [%x]
services:
  api:
    package: app
    command: [/app/api]
    env:
      TOKEN: '{{ secret "token" "hex" }}'
      SPIFFE_ID: '{{ workload "spiffe-id" }}'
    max_instances: 0
secrets:
  token:
    kind: symmetric
attestation:
  allow_simulation: true
`, workloadMeasurement)
	doc := []byte(b.String())
	var sigs [][]byte
	for i, k := range owners {
		s, err := manifest.Sign(doc, k)
		if err != nil {
			return nil, nil, err
		}
		sf, err := manifest.MarshalSignature(manifest.Signature{Owner: fmt.Sprintf("o%d", i), Signature: s}, manifest.Hash(doc))
		if err != nil {
			return nil, nil, err
		}
		sigs = append(sigs, sf)
	}
	return doc, sigs, nil
}

// activate is one activation: challenge, evidence, instance.
func (b *bench) activate(ctx context.Context) error {
	var ch api.Challenge
	if err := b.client.Call(ctx, "POST", api.PathChallenge, nil, &ch); err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	k := &b.csrs[(b.next.Add(1)-1)%uint64(len(b.csrs))]
	rd, err := attest.ReportData(ch.Nonce, k.spki, workloadDigest[:])
	if err != nil {
		return err
	}
	ev, err := b.producer.Produce(ctx, rd)
	if err != nil {
		return err
	}
	body, err := json.Marshal(&api.ActivateRequest{Manifest: b.manifest, Service: "api", Nonce: ch.Nonce,
		Evidence: api.Evidence{Format: ev.Format, Data: ev.Payload}, CSR: k.csr, WorkloadDigest: workloadDigest[:]})
	if err != nil {
		return err
	}
	// Only what shows the activation succeeded is decoded: the rest of
	// the response (certificates, configuration) is the workload's to
	// parse, not the coordinator's cost.
	var r struct {
		Instance    string `json:"instance"`
		Certificate []byte `json:"certificate"`
		Token       string `json:"token"`
	}
	if err := b.client.Call(ctx, "POST", api.PathActivate, body, &r); err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	if r.Instance == "" || len(r.Certificate) == 0 || r.Token == "" {
		return errors.New("activate: no instance, certificate or token")
	}
	b.admitted.Add(1)
	return nil
}

func (b *bench) healthz(ctx context.Context) error {
	for range 2 {
		if err := b.client.Call(ctx, "GET", "/healthz", nil, nil); err != nil {
			return err
		}
	}
	return nil
}
