// Command sealfs measures the throughput of encrypted volumes: sequential
// write, sequential read, random 4 KiB read and random 4 KiB write, in
// MB/s, for the plain file system (baseline), the sealfs library, a sealfs
// FUSE mount (served in this process) and a gocryptfs mount (the Debian
// package), all on the same backing file system in the same run.
//
// Runs are interleaved (every target once per run, in turn), so drift on a
// shared machine hits all alike; the figures are medians. Nothing is
// fsynced: every target writes into the page cache of the backing file
// system, and reads of the backing files hit that cache (caches cannot be
// dropped in a container). So the figures compare CPU cost — encryption
// and FUSE round trips — which is what differs between the targets.
//
// Run as root (mount(2)) from the repository root: bench/sealfs/run.sh.
package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/sealfs"
	sealfuse "github.com/cofre-cc/cofre/sealfs/fuse"
)

// file is what a measurement needs of an open file.
type file interface {
	io.ReaderAt
	io.WriterAt
	io.Writer
	io.Reader
	Close() error
}

type target struct {
	name   string
	create func(name string) (file, error)
	open   func(name string, flag int) (file, error)
	close  func() error
}

func osTarget(name, dir string, closer func() error) *target {
	return &target{
		name: name,
		create: func(n string) (file, error) {
			return os.OpenFile(filepath.Join(dir, n), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		},
		open:  func(n string, flag int) (file, error) { return os.OpenFile(filepath.Join(dir, n), flag, 0) },
		close: closer,
	}
}

// segmentSize is the -segment-size flag.
var segmentSize int

var ops = []string{"seq write", "seq read", "rand 4K read", "rand 4K write"}

func main() {
	dir := flag.String("dir", "", "backing directory (default: a new one under $TMPDIR)")
	size := flag.Int64("size", 256<<20, "file size in bytes")
	runs := flag.Int("runs", 5, "interleaved runs; figures are medians")
	randOps := flag.Int("rand-ops", 8192, "4 KiB operations per random test")
	chunk := flag.Int("chunk", 1<<20, "bytes per sequential read or write call")
	gocryptfs := flag.String("gocryptfs", "gocryptfs", "gocryptfs binary (\"\" skips it)")
	segSize := flag.Int("segment-size", 0, "sealfs segment size in bytes (0: the sealfs default)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (library and FUSE server) here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/sealfs:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	segmentSize = *segSize
	if err := run(*dir, *size, *runs, *randOps, *chunk, *gocryptfs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/sealfs:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(dir string, size int64, runs, randOps, chunk int, gocryptfsBin string) (err error) {
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sealfs-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	var targets []*target
	defer func() {
		for _, t := range targets {
			if t.close != nil {
				err = errors.Join(err, t.close())
			}
		}
	}()

	plain := filepath.Join(dir, "plain")
	if err := os.MkdirAll(plain, 0o700); err != nil {
		return err
	}
	targets = append(targets, osTarget("plain", plain, nil))

	key := make([]byte, 32)
	rand.Read(key)
	libDir := filepath.Join(dir, "sealfs-lib")
	if err := os.MkdirAll(libDir, 0o700); err != nil {
		return err
	}
	lv, err := sealfs.OpenVolume(libDir, key, sealfs.Options{SegmentSize: segmentSize})
	if err != nil {
		return err
	}
	targets = append(targets, &target{
		name:   "sealfs library",
		create: func(n string) (file, error) { return lv.Create(n) },
		open:   func(n string, flag int) (file, error) { return lv.Open(n, flag) },
	})

	// Two sealfs mounts: the default (kernel page cache kept across opens)
	// and NoKernelCache (every open drops it, as gocryptfs does by default).
	for _, m := range []struct {
		name    string
		noCache bool
	}{{"sealfs FUSE", false}, {"sealfs FUSE nocache", true}} {
		sub := strings.ReplaceAll(m.name, " ", "-")
		fuseDir, fuseMnt := filepath.Join(dir, sub+"-backing"), filepath.Join(dir, sub+"-mnt")
		for _, d := range []string{fuseDir, fuseMnt} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
		}
		fv, err := sealfs.OpenVolume(fuseDir, key, sealfs.Options{SegmentSize: segmentSize})
		if err != nil {
			return err
		}
		srv, err := sealfuse.Mount(fv, fuseMnt, sealfuse.Options{NoKernelCache: m.noCache})
		if err != nil {
			return err
		}
		targets = append(targets, osTarget(m.name, fuseMnt, srv.Unmount))
	}

	if gocryptfsBin != "" {
		// gocryptfs at its defaults, and with -kernel_cache (its option to
		// keep the page cache, the like of sealfs's default).
		for _, kc := range []bool{false, true} {
			t, err := mountGocryptfs(gocryptfsBin, dir, kc)
			if err != nil {
				return err
			}
			targets = append(targets, t)
		}
	}

	// results[target][op] = MB/s per run
	results := make([][][]float64, len(targets))
	for i := range results {
		results[i] = make([][]float64, len(ops))
	}
	buf := make([]byte, chunk)
	rand.Read(buf)
	for r := 0; r < runs; r++ {
		for i, t := range targets {
			figs, err := measure(t, size, randOps, buf, uint64(r))
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			for j, f := range figs {
				results[i][j] = append(results[i][j], f)
			}
			fmt.Fprintf(os.Stderr, "run %d %-24s %s\n", r+1, t.name, fmtRow(figs))
		}
	}

	fmt.Printf("\nsize %d MiB, %d runs, %d random ops, %d KiB sequential calls, sealfs segment size %d (0: default); MB/s (10^6 B/s), medians\n\n", size>>20, runs, randOps, chunk>>10, segmentSize)
	fmt.Printf("| target | %s |\n|---|%s\n", strings.Join(ops, " | "), strings.Repeat("---:|", len(ops)))
	med := make([][]float64, len(targets))
	for i, t := range targets {
		med[i] = make([]float64, len(ops))
		cells := make([]string, len(ops))
		for j := range ops {
			med[i][j] = median(results[i][j])
			cells[j] = fmt.Sprintf("%.0f", med[i][j])
		}
		fmt.Printf("| %s | %s |\n", t.name, strings.Join(cells, " | "))
	}
	ratio := func(label string, a, b int) {
		if a >= len(targets) || b >= len(targets) {
			return
		}
		cells := make([]string, len(ops))
		for j := range ops {
			cells[j] = fmt.Sprintf("%.2f×", med[a][j]/med[b][j])
		}
		fmt.Printf("%-40s %s\n", label, strings.Join(cells, "  "))
	}
	fmt.Println()
	ratio("library / plain:", 1, 0)
	ratio("sealfs FUSE / gocryptfs:", 2, 4)
	ratio("sealfs FUSE / gocryptfs -kernel_cache:", 2, 5)
	ratio("sealfs FUSE nocache / gocryptfs:", 3, 4)
	ratio("sealfs FUSE / plain:", 2, 0)
	return nil
}

func fmtRow(figs []float64) string {
	s := make([]string, len(figs))
	for i, f := range figs {
		s[i] = fmt.Sprintf("%s %.0f", ops[i], f)
	}
	return strings.Join(s, ", ")
}

// measure runs the four tests on a fresh file and returns MB/s for each.
func measure(t *target, size int64, randOps int, buf []byte, seed uint64) ([]float64, error) {
	name := "bench.dat"
	mbps := func(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / 1e6 }
	out := make([]float64, 0, len(ops))

	// Sequential write: create, write size bytes, close.
	start := time.Now()
	f, err := t.create(name)
	if err != nil {
		return nil, err
	}
	for off := int64(0); off < size; off += int64(len(buf)) {
		if _, err := f.Write(buf[:min(int64(len(buf)), size-off)]); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	out = append(out, mbps(size, time.Since(start)))

	// Sequential read: open, read to EOF, close.
	start = time.Now()
	if f, err = t.open(name, os.O_RDONLY); err != nil {
		return nil, err
	}
	rb := make([]byte, len(buf))
	var got int64
	for {
		n, err := f.Read(rb)
		got += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	f.Close()
	if got != size {
		return nil, fmt.Errorf("read %d bytes, want %d", got, size)
	}
	out = append(out, mbps(size, time.Since(start)))

	// Random 4 KiB reads and writes at 4 KiB-aligned offsets, same
	// sequence of offsets for every target in a run.
	blocks := size / 4096
	offsets := make([]int64, randOps)
	rng := mrand.New(mrand.NewPCG(seed, 1))
	for i := range offsets {
		offsets[i] = rng.Int64N(blocks) * 4096
	}
	for _, write := range []bool{false, true} {
		flag := os.O_RDONLY
		if write {
			flag = os.O_RDWR
		}
		start = time.Now()
		if f, err = t.open(name, flag); err != nil {
			return nil, err
		}
		b := make([]byte, 4096)
		for _, off := range offsets {
			if write {
				_, err = f.WriteAt(buf[:4096], off)
			} else {
				_, err = f.ReadAt(b, off)
			}
			if err != nil {
				f.Close()
				return nil, err
			}
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		out = append(out, mbps(int64(randOps)*4096, time.Since(start)))
	}
	return out, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// mountGocryptfs initializes a gocryptfs directory with a random password
// (fast scrypt: the key derivation is not what is measured) and mounts it.
func mountGocryptfs(bin, dir string, kernelCache bool) (*target, error) {
	name := "gocryptfs"
	args := []string{"-q"}
	if kernelCache {
		name += " -kernel_cache"
		args = append(args, "-kernel_cache")
	}
	sub := strings.ReplaceAll(name, " ", "")
	cipher, mnt := filepath.Join(dir, sub+"-cipher"), filepath.Join(dir, sub+"-mnt")
	for _, d := range []string{cipher, mnt} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	pwFile := filepath.Join(dir, sub+".pw")
	if err := os.WriteFile(pwFile, []byte(fmt.Sprintf("pw-%d\n", n)), 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.Command(bin, "-init", "-q", "-scryptn", "10", "-passfile", pwFile, cipher).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gocryptfs -init: %v: %s", err, out)
	}
	// gocryptfs forks into the background once the mount is up.
	if out, err := exec.Command(bin, append(args, "-passfile", pwFile, cipher, mnt)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gocryptfs mount: %v: %s", err, out)
	}
	umount := func() error {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			return fmt.Errorf("umount gocryptfs: %v: %s", err, out)
		}
		return nil
	}
	return osTarget(name, mnt, umount), nil
}
