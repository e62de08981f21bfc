// Package loadgen is the closed-loop load generator the service benchmarks
// (bench/attestd, bench/coordinator) share: workers that each start the
// next operation when the last one returns, runs of an operation
// interleaved with runs of a baseline, and medians over runs of the rate
// and the p50/p99 latency.
//
// It measures only what the caller's operation does; starting the service,
// checking that the operation succeeds before timing it, and printing the
// table are the caller's.
package loadgen

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// Op is one iteration of a closed loop. A non-nil error counts as an error
// and its latency is not recorded.
type Op func(context.Context) error

// Result is one run of a closed loop.
type Result struct {
	N       int // successful operations
	Errors  int
	Elapsed time.Duration
	Lat     []time.Duration // of each successful operation, unordered
}

// Rate returns the successful operations per second.
func (r Result) Rate() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// Loop runs op in conc closed-loop workers for d. Each worker prints its
// first error to stderr.
func Loop(conc int, op Op, d time.Duration) Result {
	ctx := context.Background()
	var mu sync.Mutex
	var res Result
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range conc {
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
			res.Lat = append(res.Lat, lat...)
			res.Errors += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.N = len(res.Lat)
	return res
}

// Interleave runs base and then op, runs times over, each for d in conc
// workers, so that drift on a shared machine hits both alike. It returns
// the results of each in run order.
func Interleave(conc, runs int, d time.Duration, base, op Op) (baseRuns, opRuns []Result) {
	for range runs {
		baseRuns = append(baseRuns, Loop(conc, base, d))
		opRuns = append(opRuns, Loop(conc, op, d))
	}
	return baseRuns, opRuns
}

// Summary holds the medians over runs of each run's figures, and the total
// of errors.
type Summary struct {
	Rate     float64 // operations per second
	P50, P99 time.Duration
	Errors   int
}

// Summarize returns the medians over runs of each run's rate and
// percentiles. It sorts each run's Lat in place.
func Summarize(rs []Result) Summary {
	var rates []float64
	var p50s, p99s []time.Duration
	errs := 0
	for _, r := range rs {
		rates = append(rates, r.Rate())
		slices.Sort(r.Lat)
		p50s = append(p50s, pct(r.Lat, 0.50))
		p99s = append(p99s, pct(r.Lat, 0.99))
		errs += r.Errors
	}
	return Summary{Rate: median(rates), P50: median(p50s), P99: median(p99s), Errors: errs}
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

// Rates formats each run's rate, in run order ("[1701 1698 ...]").
func Rates(rs []Result) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%.0f", r.Rate()))
	}
	return fmt.Sprint(out)
}

// Ms formats d in milliseconds with two decimals ("2.22 ms").
func Ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
