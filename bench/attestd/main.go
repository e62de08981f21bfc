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
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
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
	b.loop(b.attest, *warmup)

	var base, att []runResult
	for range *runs {
		base = append(base, b.loop(b.healthz, *dur))
		att = append(att, b.loop(b.attest, *dur))
	}
	fmt.Printf("Go %s, %s/%s, GOMAXPROCS %d (client); %d workers, %d runs of %v; medians.\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), *conc, *runs, *dur)
	fmt.Println("| loop | per second | p50 | p99 | errors | ratio to baseline (throughput) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	bm, am := summarize(base), summarize(att)
	fmt.Printf("| baseline: 2 × GET /healthz | %.0f | %s | %s | %d | 1.00 |\n", bm.rate, ms(bm.p50), ms(bm.p99), bm.errors)
	fmt.Printf("| challenge + sim evidence + attest → token | %.0f | %s | %s | %d | %.2f |\n", am.rate, ms(am.p50), ms(am.p99), am.errors, am.rate/bm.rate)
	fmt.Println()
	fmt.Println("Runs (tokens/s):", rates(att))
	fmt.Println("Runs (baseline/s):", rates(base))
}

type bench struct {
	url      string
	client   *http.Client
	producer *sim.Producer
	policy   string
	conc     int
}

func load(url, caFile, platformFile, policy string, conc int) (*bench, error) {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return nil, errors.New("-ca: no certificate")
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
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots},
		MaxIdleConns:        conc * 2,
		MaxIdleConnsPerHost: conc * 2,
		IdleConnTimeout:     time.Minute,
	}
	return &bench{
		url:      url,
		client:   &http.Client{Transport: tr, Timeout: 30 * time.Second},
		producer: &sim.Producer{Platform: plat, Measurement: bytes.Repeat([]byte{0xab}, 32)},
		policy:   policy,
		conc:     conc,
	}, nil
}

// attest is one issuance: challenge, evidence, token.
func (b *bench) attest(ctx context.Context) error {
	var ch struct {
		Nonce []byte `json:"nonce"`
	}
	if err := b.call(ctx, "POST", "/v1/challenge", nil, &ch); err != nil {
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
	if err := b.call(ctx, "POST", "/v1/attest/sim.v1", body, &tr); err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	if tr.Token == "" {
		return errors.New("attest: no token")
	}
	return nil
}

func (b *bench) healthz(ctx context.Context) error {
	for range 2 {
		if err := b.call(ctx, "GET", "/healthz", nil, nil); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, b.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

type runResult struct {
	n       int
	errors  int
	elapsed time.Duration
	lat     []time.Duration
}

// loop runs op in b.conc closed-loop workers for d.
func (b *bench) loop(op func(context.Context) error, d time.Duration) runResult {
	ctx := context.Background()
	var mu sync.Mutex
	var res runResult
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range b.conc {
		wg.Go(func() {
			var lat []time.Duration
			errs := 0
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := op(ctx); err != nil {
					errs++
					if errs == 1 {
						fmt.Fprintln(os.Stderr, "bench: error:", err)
					}
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.n = len(res.lat)
	return res
}

type summary struct {
	rate     float64
	p50, p99 time.Duration
	errors   int
}

// summarize returns the medians over runs of each run's rate and
// percentiles.
func summarize(rs []runResult) summary {
	var rates []float64
	var p50s, p99s []time.Duration
	errs := 0
	for _, r := range rs {
		rates = append(rates, float64(r.n)/r.elapsed.Seconds())
		slices.Sort(r.lat)
		p50s = append(p50s, pct(r.lat, 0.50))
		p99s = append(p99s, pct(r.lat, 0.99))
		errs += r.errors
	}
	return summary{rate: median(rates), p50: median(p50s), p99: median(p99s), errors: errs}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rates(rs []runResult) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%.0f", float64(r.n)/r.elapsed.Seconds()))
	}
	return fmt.Sprint(out)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
