// Command attest measures evidence verification latency per format and
// prints a Markdown table for docs/benchmarks.md.
//
// Each format's real vector (the same ones the tests use) is verified in a
// loop; a run reports the mean time per verification, and the figure is the
// median of -runs runs. The baseline, measured in the same process and runs,
// is one ECDSA P-256 signature verification: the irreducible cost of
// checking one signature, so a format's ratio says how many "signature
// verifications' worth" of work its full check costs.
//
// Run from the repository root: go run ./bench/attest [-runs 5] [-min 300ms]
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// benchCase verifies one vector once.
type benchCase struct {
	name   string
	verify func(ctx context.Context) error
}

func main() {
	runs := flag.Int("runs", 5, "runs per case; the figure is their median")
	minTime := flag.Duration("min", 300*time.Millisecond, "minimum duration of one run")
	flag.Parse()
	ctx := context.Background()

	cases, err := cases()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	baseline := baselineCase()
	// Every case, baseline included, must succeed before it is timed: a
	// benchmark of a refusal would measure the wrong path.
	for _, c := range append([]benchCase{baseline}, cases...) {
		if err := c.verify(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s does not verify: %v\n", c.name, err)
			os.Exit(1)
		}
	}
	// Interleave the runs so that drift on a shared machine hits every
	// case alike.
	all := append([]benchCase{baseline}, cases...)
	samples := make([][]time.Duration, len(all))
	for r := 0; r < *runs; r++ {
		for i, c := range all {
			samples[i] = append(samples[i], measure(ctx, c, *minTime))
		}
	}
	base := median(samples[0])
	fmt.Printf("Go %s, %s/%s, %d CPUs; median of %d runs of at least %v each.\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *runs, *minTime)
	fmt.Println("| format | median per verification | min | max | ratio to baseline |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for i, c := range all {
		m := median(samples[i])
		fmt.Printf("| %s | %s | %s | %s | %.1f× |\n", c.name, round(m), round(slices.Min(samples[i])), round(slices.Max(samples[i])), float64(m)/float64(base))
	}
}

// measure runs c for at least minTime and returns the mean per call.
func measure(ctx context.Context, c benchCase, minTime time.Duration) time.Duration {
	n := 0
	start := time.Now()
	for time.Since(start) < minTime || n < 3 {
		if err := c.verify(ctx); err != nil {
			panic(fmt.Sprintf("%s stopped verifying: %v", c.name, err))
		}
		n++
	}
	return time.Since(start) / time.Duration(n)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	}
}

func baselineCase() benchCase {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("baseline"))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, digest[:])
	return benchCase{name: "baseline: one ECDSA P-256 verify", verify: func(context.Context) error {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
			return fmt.Errorf("baseline signature does not verify")
		}
		return nil
	}}
}

// verifyWith returns a case that verifies ev with v at a pinned time.
func verifyWith(name string, v attest.Verifier, ev attest.Evidence, opts attest.Options) benchCase {
	return benchCase{name: name, verify: func(ctx context.Context) error {
		_, err := v.Verify(ctx, ev, opts)
		return err
	}}
}
