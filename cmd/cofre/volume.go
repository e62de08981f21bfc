package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/sealfs"
	sealfuse "github.com/cofre-cc/cofre/sealfs/fuse"
)

// volumeEnvPrefix prefixes the environment variable of every volume flag:
// --key-file is COFRE_VOLUME_KEY_FILE.
const volumeEnvPrefix = "COFRE_VOLUME_"

// volumeKeyLen is the sealfs volume key size (AES-256).
const volumeKeyLen = 32

type volumeFlags struct {
	keyFile, expectRoot, rootFile string
	scratch, allowOther, init     bool
	noKernelCache                 bool
	segmentSize                   int
}

func (f *volumeFlags) registerKey(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.keyFile, "key-file", "", "volume key file: 32 raw bytes or 64 hex characters, mode 0600 (required)")
}

func (f *volumeFlags) registerExpect(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.expectRoot, "expect-root", "", "root hash (64 hex) the volume must have, e.g. as recorded by the coordinator at the last unmount")
}

func newVolumeCmd() *cobra.Command {
	return newGroup("volume", "Encrypted, authenticated volumes (sealfs): mount, verify, root hash",
		newVolumeMountCmd(), newVolumeFsckCmd(), newVolumeRootCmd())
}

func newVolumeMountCmd() *cobra.Command {
	var f volumeFlags
	cmd := &cobra.Command{
		Use:   "mount --key-file F (--expect-root HEX | --init | --scratch) [--root-file F] DIR MOUNTPOINT",
		Short: "Serve the sealfs volume in DIR as plaintext at MOUNTPOINT (FUSE) until SIGINT or SIGTERM",
		Long: `Mounts the sealfs volume whose ciphertext lives in DIR at MOUNTPOINT: programs
read and write plaintext there, DIR only ever holds ciphertext. Reading a file
whose ciphertext was altered fails with EIO (the reason is logged), never with
wrong data.

Freshness: with --expect-root the volume's root hash must equal HEX, or the
mount is refused (exit 1: the volume was rolled back or changed while
unmounted). On SIGINT or SIGTERM the volume is unmounted (lazily if a program
still uses it, waiting for it to finish) and its root hash printed — report it
to whoever checks the next mount; --root-file also writes it there. --init
starts a new volume (DIR must be empty). --scratch skips both: for volumes
that need no freshness (spill and temp files). One of the three is
required: a mount that checks nothing must say so.

Needs /dev/fuse, and root (mount(2)) or fusermount3 (Debian package fuse3).

Every flag can also be set in the environment: COFRE_VOLUME_ and the flag name
in capitals with _ for -, e.g. COFRE_VOLUME_KEY_FILE.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flagsFromEnv(cmd.Flags(), volumeEnvPrefix); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runVolumeMount(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f, args[0], args[1])
		},
	}
	f.registerKey(cmd)
	f.registerExpect(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.scratch, "scratch", false, "no freshness: skip the root hash check at mount and its report at unmount")
	fl.BoolVar(&f.init, "init", false, "a new volume: DIR must be empty (instead of --expect-root)")
	fl.StringVar(&f.rootFile, "root-file", "", "also write the root hash at unmount to this file (hex, 0600)")
	fl.BoolVar(&f.allowOther, "allow-other", false, "let other users than the mounting one use the mount (file modes still apply)")
	fl.BoolVar(&f.noKernelCache, "no-kernel-cache", false, "drop the kernel's cache of a file at each open (when something else may write DIR while mounted)")
	fl.IntVar(&f.segmentSize, "segment-size", 0, "segment size of new files in bytes: a power of two, 4096..1048576 (default 65536)")
	return cmd
}

func newVolumeFsckCmd() *cobra.Command {
	var f volumeFlags
	cmd := &cobra.Command{
		Use:   "fsck --key-file F [--expect-root HEX] DIR",
		Short: "Verify every byte of every file of the volume in DIR (exit 1 on any problem)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flagsFromEnv(cmd.Flags(), volumeEnvPrefix); err != nil {
				return err
			}
			return runVolumeFsck(cmd.Context(), cmd.OutOrStdout(), f, args[0])
		},
	}
	f.registerKey(cmd)
	f.registerExpect(cmd)
	return cmd
}

func newVolumeRootCmd() *cobra.Command {
	var f volumeFlags
	cmd := &cobra.Command{
		Use:   "root --key-file F DIR",
		Short: "Print the root hash of the volume in DIR (its freshness value)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flagsFromEnv(cmd.Flags(), volumeEnvPrefix); err != nil {
				return err
			}
			v, err := openVolume(f, args[0])
			if err != nil {
				return err
			}
			root, err := v.RootHash()
			if err != nil {
				return volumeRefusal(cmd.OutOrStdout(), err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(root[:]))
			return nil
		},
	}
	f.registerKey(cmd)
	return cmd
}

// readVolumeKey reads a volume key file. The key must be readable by its
// owner only: a key that other users can read protects nothing.
func readVolumeKey(file string) ([]byte, error) {
	if file == "" {
		return nil, usagef("--key-file is required")
	}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, usagef("--key-file: %v", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, usagef("--key-file %s: mode %04o, want 0600 (no group or other access)", file, fi.Mode().Perm())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, usagef("--key-file: %v", err)
	}
	if len(b) == volumeKeyLen {
		return b, nil
	}
	if t := bytes.TrimSpace(b); len(t) == 2*volumeKeyLen {
		k := make([]byte, volumeKeyLen)
		if _, err := hex.Decode(k, t); err == nil {
			return k, nil
		}
	}
	// The length only: the content is (almost) a key.
	return nil, usagef("--key-file %s: %d bytes, want %d raw bytes or %d hex characters", file, len(b), volumeKeyLen, 2*volumeKeyLen)
}

func parseRootHex(s string) ([32]byte, error) {
	var r [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(r) {
		return r, usagef("--expect-root: want 64 hex characters")
	}
	copy(r[:], b)
	return r, nil
}

func openVolume(f volumeFlags, dir string) (*sealfs.Volume, error) {
	key, err := readVolumeKey(f.keyFile)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	v, err := sealfs.OpenVolume(dir, key, sealfs.Options{SegmentSize: f.segmentSize})
	if errors.Is(err, sealfs.ErrInvalidOptions) || errors.Is(err, os.ErrNotExist) {
		return nil, usageError{err}
	}
	return v, err
}

// volumeRefusal prints an integrity failure and makes it exit 1; other
// errors (I/O) stay exit 3.
func volumeRefusal(w io.Writer, err error) error {
	if errors.Is(err, sealfs.ErrTampered) || errors.Is(err, sealfs.ErrWrongKey) || errors.Is(err, sealfs.ErrNotSealfs) {
		fmt.Fprintln(w, "REFUSED:", err)
		return refusedError{}
	}
	return err
}

// checkRoot compares the volume's root hash with the expected one.
func checkRoot(w io.Writer, v *sealfs.Volume, want [32]byte) error {
	got, err := v.RootHash()
	if err != nil {
		return volumeRefusal(w, err)
	}
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		fmt.Fprintf(w, "REFUSED: root hash: volume rolled back or changed while unmounted: expected %x, got %x\n", want, got)
		return refusedError{}
	}
	return nil
}

func runVolumeFsck(ctx context.Context, stdout io.Writer, f volumeFlags, dir string) error {
	var want [32]byte
	var err error
	if f.expectRoot != "" {
		if want, err = parseRootHex(f.expectRoot); err != nil {
			return err
		}
	}
	v, err := openVolume(f, dir)
	if err != nil {
		return err
	}
	rep, err := v.Fsck(ctx)
	if err != nil {
		return volumeRefusal(stdout, err)
	}
	if printFsck(stdout, rep) {
		return refusedError{}
	}
	fmt.Fprintf(stdout, "root hash: %x\n", rep.RootHash)
	if f.expectRoot != "" {
		if subtle.ConstantTimeCompare(rep.RootHash[:], want[:]) != 1 {
			fmt.Fprintf(stdout, "REFUSED: root hash: volume rolled back or changed while unmounted: expected %x, got %x\n", want, rep.RootHash)
			return refusedError{}
		}
		fmt.Fprintln(stdout, "root hash: as expected")
	}
	return nil
}

func runVolumeMount(ctx context.Context, stdout, stderr io.Writer, f volumeFlags, dir, mountpoint string) error {
	var want [32]byte
	var err error
	modes := 0
	for _, on := range []bool{f.expectRoot != "", f.init, f.scratch} {
		if on {
			modes++
		}
	}
	switch {
	case modes != 1:
		return usagef("give exactly one of --expect-root HEX (an existing volume), --init (a new, empty one) or --scratch (no freshness)")
	case f.scratch && f.rootFile != "":
		return usagef("--scratch has no root hash: drop --root-file")
	case f.expectRoot != "":
		if want, err = parseRootHex(f.expectRoot); err != nil {
			return err
		}
	case f.init:
		entries, err := os.ReadDir(dir)
		if err != nil {
			return usagef("%s: %v", dir, err)
		}
		if len(entries) > 0 {
			return usagef("--init: %s is not empty", dir)
		}
	}
	v, err := openVolume(f, dir)
	if err != nil {
		return err
	}
	if f.expectRoot != "" {
		if err := checkRoot(stdout, v, want); err != nil {
			return err
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := sealfuse.Mount(v, mountpoint, sealfuse.Options{AllowOther: f.allowOther, NoKernelCache: f.noKernelCache, Logger: logger})
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(dir)
	fmt.Fprintf(stdout, "cofre volume: %s mounted at %s\n", abs, srv.Mountpoint())

	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	var werr error
	select {
	case werr = <-done: // unmounted from outside
	case <-ctx.Done():
		if err := srv.Unmount(); err != nil {
			// Busy: detach it now; the programs still using it finish, and
			// Wait returns when the last one closes.
			fmt.Fprintf(stderr, "cofre volume: %v; detaching, waiting for programs to close their files\n", err)
			if err := syscall.Unmount(srv.Mountpoint(), syscall.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", srv.Mountpoint(), err)
			}
		}
		werr = <-done
	}
	if werr != nil {
		return werr
	}
	fmt.Fprintf(stdout, "cofre volume: unmounted %s\n", srv.Mountpoint())
	if f.scratch {
		return nil
	}
	root, err := v.RootHash()
	if err != nil {
		return volumeRefusal(stdout, err)
	}
	h := hex.EncodeToString(root[:])
	fmt.Fprintf(stdout, "root hash: %s\n", h)
	if f.rootFile != "" {
		if err := writeFileAtomic(f.rootFile, []byte(h+"\n")); err != nil {
			return fmt.Errorf("--root-file: %w", err)
		}
	}
	return nil
}

// writeFileAtomic replaces file with data: a crash leaves the old or the new
// root hash, never half of one.
func writeFileAtomic(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".root-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// printFsck prints an fsck report and says whether it found problems.
func printFsck(w io.Writer, rep *sealfs.FsckReport) (bad bool) {
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "PROBLEM %s: %v\n", p.Path, p.Err)
	}
	fmt.Fprintf(w, "%d files, %d segments, %d plaintext bytes verified; %d problems\n", rep.Files, rep.Segments, rep.Bytes, len(rep.Problems))
	if len(rep.Problems) > 0 {
		fmt.Fprintln(w, "REFUSED: the volume has files that fail verification")
	}
	return len(rep.Problems) > 0
}
