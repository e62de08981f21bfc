// Package fuse serves a sealfs volume as a FUSE file system, so programs
// that only know paths (Spark shuffle and spill, DuckDB temp files, cp, cat,
// dd) read and write plaintext while only sealfs ciphertext reaches the
// backing directory.
//
// Mount mounts with mount(2) directly when the process may (root, or
// CAP_SYS_ADMIN in its user namespace) and otherwise falls back to
// fusermount3 from the fuse3 package. Every operation is translated to a
// call on the sealfs.Volume or sealfs.File: no plaintext is cached on disk
// by this package, and the kernel keeps plaintext only in memory (its page
// cache, dropped when a file is reopened).
//
// Integrity failures (sealfs.ErrTampered, ErrWrongKey, ErrNotSealfs) become
// EIO for the reading program — never data — and are logged with the path
// and the failed check.
//
// What it does not do: symbolic and hard links, special files, extended
// attributes, file locking, and RENAME_EXCHANGE are refused (ENOTSUP or
// EPERM); names, directory structure, sizes (rounded up to segments), file
// modes, owners and times are visible in the backing directory, as sealfs
// documents. Freshness (the root hash) is the caller's job: compare
// (*sealfs.Volume).RootHash before Mount and after Unmount.
package fuse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	gofuse "github.com/hanwen/go-fuse/v2/fuse"

	"github.com/cofre-cc/cofre/sealfs"
)

// Options configures a mount. The zero value is a private mount (only the
// mounting user may enter it) that logs nothing.
type Options struct {
	// AllowOther lets other users than the mounting one use the mount
	// (the allow_other mount option), e.g. a workload that drops root
	// after its launcher mounted the volume. The kernel then checks file
	// modes and owners (default_permissions), which are always on.
	AllowOther bool

	// Logger receives integrity failures and internal errors. Nil: discard.
	Logger *slog.Logger

	// NoKernelCache makes every open(2) drop what the kernel cached of the
	// file's plaintext, as gocryptfs does by default. By default the cache
	// is kept across opens: a mounted volume is exclusive to one instance
	// (the coordinator's dirty marker), every change goes through this
	// mount and so through the cache, and what the cache holds was
	// authenticated when it was read or written. Set it when something
	// else may write the backing directory while it is mounted.
	NoKernelCache bool
}

// Server is a mounted volume.
type Server struct {
	srv *gofuse.Server
	v   *sealfs.Volume
	log *slog.Logger
	mnt string
	// openFlags answers every open: FOPEN_KEEP_CACHE unless NoKernelCache.
	openFlags uint32
	unmntd    sync.Once
	uerr      error

	mu   sync.Mutex           // guards open
	open map[*handle]struct{} // handles the kernel has not released yet
}

// Mount mounts v at mountpoint (an existing, empty directory) and serves it
// in background goroutines until Unmount, or until someone else unmounts it
// (then Wait returns).
func Mount(v *sealfs.Volume, mountpoint string, opts Options) (*Server, error) {
	if v == nil {
		return nil, errors.New("sealfs/fuse: nil volume")
	}
	abs, err := filepath.Abs(mountpoint)
	if err != nil {
		return nil, fmt.Errorf("sealfs/fuse: mountpoint: %w", err)
	}
	// Checked here: go-fuse would fall back to fusermount3 and report its
	// exit status instead.
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("sealfs/fuse: mountpoint: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("sealfs/fuse: mountpoint %s: %w", abs, syscall.ENOTDIR)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{v: v, log: log, mnt: abs, open: make(map[*handle]struct{})}
	if !opts.NoKernelCache {
		s.openFlags = gofuse.FOPEN_KEEP_CACHE
	}
	timeout := attrTimeout
	mo := gofuse.MountOptions{
		AllowOther: opts.AllowOther,
		// The kernel enforces modes and owners from Getattr: without it a
		// FUSE file system must check permissions itself, and with
		// AllowOther any user could read everything.
		Options: []string{"default_permissions"},
		// Try mount(2) first (root in the container or the launcher), fall
		// back to fusermount3 (setuid helper) for unprivileged users.
		DirectMount: true,
		FsName:      v.Dir(),
		Name:        "cofre-sealfs",
		// One request carries up to 1 MiB (the kernel's cap): fewer round
		// trips, and whole 64 KiB segments per request.
		MaxWrite:     maxRequest,
		MaxReadAhead: maxRequest,
		// No security.* xattr round trip before every write.
		IgnoreSecurityLabels: true,
	}
	root := &node{s: s}
	srv, err := gofs.Mount(abs, root, &gofs.Options{
		MountOptions: mo,
		EntryTimeout: &timeout,
		AttrTimeout:  &timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("sealfs/fuse: mount %s: %w", abs, err)
	}
	s.srv = srv
	return s, nil
}

// Mountpoint returns the absolute path the volume is mounted at.
func (s *Server) Mountpoint() string { return s.mnt }

// Unmount unmounts the volume (it fails with EBUSY while a program still
// uses the mount), waits for the requests in flight, and closes the files
// the kernel had not released, so that the volume's root hash afterwards
// covers every write. Calling it again returns the first result.
func (s *Server) Unmount() error {
	s.unmntd.Do(func() {
		if err := s.srv.Unmount(); err != nil {
			s.uerr = fmt.Errorf("sealfs/fuse: unmount %s: %w", s.mnt, err)
			s.unmntd = sync.Once{} // let the caller retry once the mount is idle
			return
		}
		s.srv.Wait()
		s.uerr = s.closeAll()
	})
	return s.uerr
}

// Wait blocks until the volume is unmounted (by Unmount, umount(8) or
// fusermount3 -u) and then closes the files still open.
func (s *Server) Wait() error {
	s.srv.Wait()
	return s.closeAll()
}

func (s *Server) closeAll() error {
	s.mu.Lock()
	hs := make([]*handle, 0, len(s.open))
	for h := range s.open {
		hs = append(hs, h)
	}
	clear(s.open)
	s.mu.Unlock()
	var errs []error
	for _, h := range hs {
		if err := h.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// errno maps a sealfs or os error to what the reading program sees. An
// integrity failure is EIO and logged: the program must not get data, and
// the operator must learn why.
func (s *Server) errno(op, name string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	switch {
	case errors.Is(err, sealfs.ErrTampered), errors.Is(err, sealfs.ErrWrongKey), errors.Is(err, sealfs.ErrNotSealfs):
		s.log.Warn("sealfs: integrity failure", "op", op, "path", name, "err", err)
		return syscall.EIO
	case errors.Is(err, sealfs.ErrInvalidName):
		return syscall.EINVAL
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, fs.ErrExist):
		return syscall.EEXIST
	case errors.Is(err, fs.ErrPermission):
		return syscall.EACCES
	}
	s.log.Error("sealfs: I/O error", "op", op, "path", name, "err", err)
	return syscall.EIO
}

// node is one path in the volume. It keeps no path of its own: go-fuse's
// inode tree knows each node's current name, also after a rename.
type node struct {
	gofs.Inode
	s *Server
}

var (
	_ gofs.NodeLookuper   = (*node)(nil)
	_ gofs.NodeGetattrer  = (*node)(nil)
	_ gofs.NodeSetattrer  = (*node)(nil)
	_ gofs.NodeReaddirer  = (*node)(nil)
	_ gofs.NodeCreater    = (*node)(nil)
	_ gofs.NodeOpener     = (*node)(nil)
	_ gofs.NodeUnlinker   = (*node)(nil)
	_ gofs.NodeRmdirer    = (*node)(nil)
	_ gofs.NodeRenamer    = (*node)(nil)
	_ gofs.NodeMkdirer    = (*node)(nil)
	_ gofs.NodeStatfser   = (*node)(nil)
	_ gofs.NodeFsyncer    = (*node)(nil)
	_ gofs.NodeGetxattrer = (*node)(nil)
)

// name is the node's slash-separated path in the volume; "." for the root.
func (n *node) name() string {
	p := n.Path(n.Root())
	if p == "" {
		return "."
	}
	return p
}

func (n *node) child(name string) string {
	if n.IsRoot() {
		return name
	}
	return path.Join(n.name(), name)
}

// stat returns the plaintext attributes of name ("." is the backing
// directory itself). Every metadata operation goes through the Volume,
// whose os.Root keeps a symlink planted by the host from leading it out of
// the backing directory: never os.* on a joined path.
func (n *node) stat(name string) (os.FileInfo, error) {
	return n.s.v.Stat(name)
}

// fileMode converts a mode from the kernel (permission, setuid, setgid and
// sticky bits as in st_mode) to an os.FileMode.
func fileMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	if m&syscall.S_ISUID != 0 {
		mode |= os.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= os.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

func (n *node) Lookup(ctx context.Context, name string, out *gofuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	p := n.child(name)
	fi, err := n.stat(p)
	if err != nil {
		return nil, n.s.errno("lookup", p, err)
	}
	fillAttr(&out.Attr, fi)
	ch := n.NewInode(ctx, &node{s: n.s}, gofs.StableAttr{Mode: out.Attr.Mode & syscall.S_IFMT, Ino: out.Attr.Ino})
	return ch, 0
}

func (n *node) Getattr(ctx context.Context, fh gofs.FileHandle, out *gofuse.AttrOut) syscall.Errno {
	p := n.name()
	fi, err := n.stat(p)
	if err != nil {
		return n.s.errno("getattr", p, err)
	}
	fillAttr(&out.Attr, fi)
	// An open handle knows the size of writes not yet visible to Stat.
	if h, ok := fh.(*handle); ok {
		setSize(&out.Attr, h.f.Size())
	}
	return 0
}

// Setattr changes the plaintext size through sealfs and forwards mode,
// owner and times to the backing file: they are clear-text metadata there
// anyway, and cp -p, tar and rsync expect them to stick.
func (n *node) Setattr(ctx context.Context, fh gofs.FileHandle, in *gofuse.SetAttrIn, out *gofuse.AttrOut) syscall.Errno {
	p := n.name()
	if m, ok := in.GetMode(); ok {
		if err := n.s.v.Chmod(p, fileMode(m)); err != nil {
			return n.s.errno("chmod", p, err)
		}
	}
	uid, uok := in.GetUID()
	gid, gok := in.GetGID()
	if uok || gok {
		u, g := -1, -1
		if uok {
			u = int(uid)
		}
		if gok {
			g = int(gid)
		}
		if err := n.s.v.Lchown(p, u, g); err != nil {
			return n.s.errno("chown", p, err)
		}
	}
	if sz, ok := in.GetSize(); ok {
		if errno := n.truncate(fh, p, int64(sz)); errno != 0 {
			return errno
		}
	}
	mt, mok := in.GetMTime()
	at, aok := in.GetATime()
	if mok || aok {
		// A zero time leaves that time as it is (UTIME_OMIT).
		if !mok {
			mt = time.Time{}
		}
		if !aok {
			at = time.Time{}
		}
		if err := n.s.v.Chtimes(p, at, mt); err != nil {
			return n.s.errno("utimens", p, err)
		}
	}
	return n.Getattr(ctx, fh, out)
}

func (n *node) truncate(fh gofs.FileHandle, p string, size int64) syscall.Errno {
	if size < 0 || size > maxFileSize {
		return syscall.EFBIG
	}
	if h, ok := fh.(*handle); ok {
		return n.s.errno("truncate", p, h.f.Truncate(size))
	}
	f, err := n.s.v.Open(p, os.O_RDWR)
	if err != nil {
		return n.s.errno("truncate", p, err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n.s.errno("truncate", p, err)
}

func (n *node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	p := n.name()
	des, err := n.s.v.ReadDir(p)
	if err != nil {
		return nil, n.s.errno("readdir", p, err)
	}
	out := make([]gofuse.DirEntry, 0, len(des))
	for _, de := range des {
		// No Info: that would read every file's header; the kernel looks
		// entries up when it needs their attributes.
		e := gofuse.DirEntry{Name: de.Name(), Mode: syscall.S_IFREG}
		if de.IsDir() {
			e.Mode = syscall.S_IFDIR
		}
		out = append(out, e)
	}
	return gofs.NewListDirStream(out), 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *gofuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	p := n.child(name)
	of := os.O_RDWR | os.O_CREATE
	if flags&syscall.O_TRUNC != 0 {
		of |= os.O_TRUNC
	}
	if flags&syscall.O_EXCL != 0 {
		of |= os.O_EXCL
	}
	f, err := n.s.v.OpenFile(p, of, os.FileMode(mode&0o777))
	if err != nil {
		return nil, nil, 0, n.s.errno("create", p, err)
	}
	if errno := n.own(ctx, p, mode); errno != 0 {
		f.Close()
		return nil, nil, 0, errno
	}
	fi, err := n.s.v.Stat(p)
	if err != nil {
		f.Close()
		return nil, nil, 0, n.s.errno("create", p, err)
	}
	fillAttr(&out.Attr, fi)
	ch := n.NewInode(ctx, &node{s: n.s}, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: out.Attr.Ino})
	return ch, n.s.newHandle(f, p), n.s.openFlags, 0
}

// own gives a new backing file or directory the mode the program asked for
// and, when we run as root, the calling user as owner: otherwise a
// workload that is not root could not reopen what it just created.
func (n *node) own(ctx context.Context, p string, mode uint32) syscall.Errno {
	if err := n.s.v.Chmod(p, fileMode(mode)); err != nil {
		return n.s.errno("chmod", p, err)
	}
	if c, ok := gofuse.FromContext(ctx); ok && os.Geteuid() == 0 && (c.Uid != 0 || c.Gid != 0) {
		if err := n.s.v.Lchown(p, int(c.Uid), int(c.Gid)); err != nil {
			return n.s.errno("chown", p, err)
		}
	}
	return 0
}

func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	p := n.name()
	// O_APPEND is left out: the kernel already sends appends at the end.
	of := int(flags & syscall.O_ACCMODE)
	if of != os.O_RDONLY && flags&syscall.O_TRUNC != 0 {
		of |= os.O_TRUNC
	}
	f, err := n.s.v.Open(p, of)
	if err != nil {
		return nil, 0, n.s.errno("open", p, err)
	}
	return n.s.newHandle(f, p), n.s.openFlags, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *gofuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	p := n.child(name)
	if err := n.s.v.Mkdir(p, fileMode(mode)); err != nil {
		return nil, n.s.errno("mkdir", p, err)
	}
	if errno := n.own(ctx, p, mode); errno != 0 {
		return nil, errno
	}
	fi, err := n.s.v.Stat(p)
	if err != nil {
		return nil, n.s.errno("mkdir", p, err)
	}
	fillAttr(&out.Attr, fi)
	return n.NewInode(ctx, &node{s: n.s}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: out.Attr.Ino}), 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	p := n.child(name)
	return n.s.errno("unlink", p, n.s.v.Remove(p))
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	p := n.child(name)
	return n.s.errno("rmdir", p, n.s.v.Remove(p))
}

func (n *node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok || np.s != n.s {
		return syscall.EXDEV
	}
	from, to := n.child(name), np.child(newName)
	switch flags {
	case 0:
	case renameNoReplace:
		// Not atomic against a concurrent create of the same name through
		// this mount; nothing else writes the volume.
		if _, err := n.s.v.Stat(to); err == nil {
			return syscall.EEXIST
		} else if !errors.Is(err, fs.ErrNotExist) {
			return n.s.errno("rename", to, err)
		}
	default:
		// RENAME_EXCHANGE would need two header rewrites done atomically.
		return syscall.ENOTSUP
	}
	return n.s.errno("rename", from, n.s.v.Rename(from, to))
}

// renameNoReplace is RENAME_NOREPLACE from renameat2(2).
const renameNoReplace = 0x1

func (n *node) Fsync(ctx context.Context, fh gofs.FileHandle, flags uint32) syscall.Errno {
	if h, ok := fh.(*handle); ok {
		return h.Fsync(ctx, flags)
	}
	return 0
}

func (n *node) Statfs(ctx context.Context, out *gofuse.StatfsOut) syscall.Errno {
	var st syscall.Statfs_t
	if err := syscall.Statfs(n.s.v.Dir(), &st); err != nil {
		return n.s.errno("statfs", ".", err)
	}
	out.FromStatfsT(&st)
	return 0
}

// Getxattr answers "no attribute" without a round trip to the backing
// file: extended attributes are not supported.
func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, gofs.ENOATTR
}

// handle is one open(2) of a file: one sealfs.File, which sealfs makes
// safe for concurrent ReadAt and WriteAt (go-fuse serves requests on
// several goroutines).
type handle struct {
	s    *Server
	f    *sealfs.File
	name string // at open time, for logs

	once sync.Once
	cerr error
}

var (
	_ gofs.FileReader   = (*handle)(nil)
	_ gofs.FileWriter   = (*handle)(nil)
	_ gofs.FileFsyncer  = (*handle)(nil)
	_ gofs.FileFlusher  = (*handle)(nil)
	_ gofs.FileReleaser = (*handle)(nil)
)

func (s *Server) newHandle(f *sealfs.File, name string) *handle {
	h := &handle{s: s, f: f, name: name}
	s.mu.Lock()
	s.open[h] = struct{}{}
	s.mu.Unlock()
	return h
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (gofuse.ReadResult, syscall.Errno) {
	n, err := h.f.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, h.s.errno("read", h.name, err)
	}
	return gofuse.ReadResultData(dest[:n]), 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if off < 0 || off > maxFileSize-int64(len(data)) {
		return 0, syscall.EFBIG
	}
	n, err := h.f.WriteAt(data, off)
	if err != nil {
		return uint32(n), h.s.errno("write", h.name, err)
	}
	return uint32(n), 0
}

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return h.s.errno("fsync", h.name, h.f.Sync())
}

// Flush runs at every close(2) of a descriptor. sealfs writes each segment
// through to the backing file as it is sealed, so there is nothing to push;
// durability is fsync's job, as on a local file system.
func (h *handle) Flush(ctx context.Context) syscall.Errno { return 0 }

func (h *handle) Release(ctx context.Context) syscall.Errno {
	h.s.mu.Lock()
	delete(h.s.open, h)
	h.s.mu.Unlock()
	return h.s.errno("release", h.name, h.close())
}

func (h *handle) close() error {
	h.once.Do(func() { h.cerr = h.f.Close() })
	return h.cerr
}

// fillAttr converts sealfs's plaintext FileInfo (whose Sys, when it is the
// backing file's Stat_t, gives owner, inode and times) to a FUSE attribute.
func fillAttr(a *gofuse.Attr, fi os.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		a.FromStat(st)
	} else {
		mt := fi.ModTime()
		a.SetTimes(&mt, &mt, &mt)
		a.Nlink = 1
	}
	a.Mode = uint32(fi.Mode().Perm())
	if fi.IsDir() {
		a.Mode |= syscall.S_IFDIR
	} else {
		a.Mode |= syscall.S_IFREG
	}
	if fi.Mode()&fs.ModeSetuid != 0 {
		a.Mode |= syscall.S_ISUID
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		a.Mode |= syscall.S_ISGID
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		a.Mode |= syscall.S_ISVTX
	}
	if !fi.IsDir() {
		setSize(a, fi.Size())
	}
	a.Blksize = blockSize
}

func setSize(a *gofuse.Attr, size int64) {
	a.Size = uint64(size)
	a.Blocks = (a.Size + 511) / 512
}
