// Command attestd is a closed-loop load generator for a running
// `cofre attestd`: each of -c workers repeatedly asks for a challenge,
// produces sim evidence binding it (in process, as a workload would) and
// presents it for a token, and the next iteration starts when the token
// arrives. It reports issued tokens per second and the p50/p99 latency of
// one issuance (challenge + evidence + attest).
//
// Baseline, measured in the same process and interleaved with the attest
// runs: the same closed loop doing two GET /healthz per iteration (the same
// number of HTTPS round trips, no attestation work), so the ratio shows
// what attestation costs on top of the HTTP stack.
//
// Every figure is the median of -runs runs. Use bench/attestd/run.sh,
// which starts the service; or point -url at a running one.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/bench/internal/loadgen"
)

func main() {
	url := flag.String("url", "", "attestd base URL, e.g. https://127.0.0.1:8443")
	caFile := flag.String("ca", "", "PEM certificate the service's TLS certificate chains to")
	platformFile := flag.String("platform", "", "sim platform file (the service's dev platform.pem)")
	policy := flag.String("policy", "dev", "policy name")
	conc := flag.Int("c", 8, "concurrent closed-loop workers")
	dur := flag.Duration("d", 5*time.Second, "duration of one run")
	runs := flag.Int("runs", 5, "runs per case; figures are medians")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up before the first run (not measured)")
	flag.Parse()
	if *url == "" || *caFile == "" || *platformFile == "" {
		fmt.Fprintln(os.Stderr, "usage: attestd -url URL -ca FILE -platform FILE [-c N] [-d DUR] [-runs N]")
		os.Exit(2)
	}
	b, err := load(*url, *caFile, *platformFile, *policy, *conc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	// One of each, checked, before anything is timed: a benchmark of
	// refusals would measure the wrong path.
	ctx := context.Background()
	for name, op := range map[string]func(context.Context) error{"attest": b.attest, "healthz": b.healthz} {
		if err := op(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", name, err)
			os.Exit(1)
		}
	}
	loadgen.Loop(*conc, b.attest, *warmup)

	base, att := loadgen.Interleave(*conc, *runs, *dur, b.healthz, b.attest)
	fmt.Printf("Go %s, %s/%s, GOMAXPROCS %d (client); %d workers, %d runs of %v; medians.\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), *conc, *runs, *dur)
	fmt.Println("| loop | per second | p50 | p99 | errors | ratio to baseline (throughput) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	bm, am := loadgen.Summarize(base), loadgen.Summarize(att)
	fmt.Printf("| baseline: 2 × GET /healthz | %.0f | %s | %s | %d | 1.00 |\n", bm.Rate, loadgen.Ms(bm.P50), loadgen.Ms(bm.P99), bm.Errors)
	fmt.Printf("| challenge + sim evidence + attest → token | %.0f | %s | %s | %d | %.2f |\n", am.Rate, loadgen.Ms(am.P50), loadgen.Ms(am.P99), am.Errors, am.Rate/bm.Rate)
	fmt.Println()
	fmt.Println("Runs (tokens/s):", loadgen.Rates(att))
	fmt.Println("Runs (baseline/s):", loadgen.Rates(base))
}

type bench struct {
	client   *loadgen.Client
	producer *sim.Producer
	policy   string
}

func load(url, caFile, platformFile, policy string, conc int) (*bench, error) {
	roots, err := loadgen.ReadRoots(caFile)
	if err != nil {
		return nil, fmt.Errorf("-ca: %w", err)
	}
	pb, err := os.ReadFile(platformFile)
	if err != nil {
		return nil, err
	}
	plat, err := sim.ParsePlatform(pb)
	if err != nil {
		return nil, err
	}
	// Keep only the platform certificate: Produce leaves the root out of
	// the evidence anyway, but finds it by checking its self-signature on
	// every call, an ECDSA verification that would eat into the CPU the
	// load generator shares with the service.
	plat.Chain = plat.Chain[:1]
	return &bench{
		client:   loadgen.NewClient(url, roots, conc),
		producer: &sim.Producer{Platform: plat, Measurement: bytes.Repeat([]byte{0xab}, 32)},
		policy:   policy,
	}, nil
}

// attest is one issuance: challenge, evidence, token.
func (b *bench) attest(ctx context.Context) error {
	var ch struct {
		Nonce []byte `json:"nonce"`
	}
	if err := b.client.Call(ctx, "POST", "/v1/challenge", nil, &ch); err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	rd, err := attest.ReportData(ch.Nonce, nil, nil)
	if err != nil {
		return err
	}
	ev, err := b.producer.Produce(ctx, rd)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"evidence": ev.Payload, "nonce": ch.Nonce, "policy": b.policy})
	var tr struct {
		Token string `json:"token"`
	}
	if err := b.client.Call(ctx, "POST", "/v1/attest/sim.v1", body, &tr); err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	if tr.Token == "" {
		return errors.New("attest: no token")
	}
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
