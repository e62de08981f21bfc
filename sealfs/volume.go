package sealfs

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/bits"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configures a Volume.
type Options struct {
	// SegmentSize is the plaintext size of a segment for files this Volume
	// creates, in bytes: a power of two from 4 KiB to 1 MiB. Zero means
	// DefaultSegmentSize (64 KiB). Existing files keep the segment size in
	// their header.
	SegmentSize int
}

// Volume is an encrypted directory. Its methods are safe for concurrent use.
//
// Locking: mu serialises namespace changes (open, create, rename, remove)
// and guards nodes, known and walked; each node has its own RWMutex for its
// content. The lock order is Volume.mu before node.mu; File methods take
// only node.mu.
type Volume struct {
	dir    string
	root   *os.Root // all disk access goes through root: no escape by symlink or ".."
	keys   *keys
	segLog uint8

	mu    sync.Mutex
	nodes map[string]*node // open files by path; guarded by mu

	// known remembers, per path, the files this process verified or wrote
	// and that are not open (an open file's memory is in its node): see
	// memory.go. Guarded by mu.
	known map[string]*fileMemory
	// walked is set once RootHash or Fsck succeeded: every file on disk
	// is then known, and one the volume did not create is refused.
	walked bool
}

// OpenVolume opens the volume in dir (which must exist) with the 32-byte
// volume key. It reads nothing: a wrong key is reported, as ErrWrongKey, by
// the first file opened.
func OpenVolume(dir string, key []byte, opts Options) (*Volume, error) {
	segLog, err := segmentLog(opts.SegmentSize)
	if err != nil {
		return nil, err
	}
	k, err := deriveKeys(key)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("sealfs: open volume: %w", err)
	}
	return &Volume{dir: dir, root: root, keys: k, segLog: segLog, nodes: map[string]*node{}, known: map[string]*fileMemory{}}, nil
}

func segmentLog(size int) (uint8, error) {
	if size == 0 {
		size = DefaultSegmentSize
	}
	if size < 1<<MinSegmentLog || size > 1<<MaxSegmentLog || size&(size-1) != 0 {
		return 0, fmt.Errorf("%w: segment size %d is not a power of two from %d to %d", ErrInvalidOptions, size, 1<<MinSegmentLog, 1<<MaxSegmentLog)
	}
	return uint8(bits.TrailingZeros(uint(size))), nil
}

// Dir returns the directory the volume was opened on.
func (v *Volume) Dir() string { return v.dir }

// Close releases the volume's directory handle. Files still open keep
// working until they are closed; new calls on v fail.
func (v *Volume) Close() error { return v.root.Close() }

// checkName validates a file name: clean, relative, slash-separated, no
// "..", not ".", no NUL, at most MaxNameLen bytes.
func checkName(op, name string) error {
	if name == "." || !validPath(name) {
		return &fs.PathError{Op: op, Path: name, Err: ErrInvalidName}
	}
	return nil
}

// validPath is fs.ValidPath plus the length limit and no NUL byte; "." is
// allowed (the volume root) for directory operations.
func validPath(name string) bool {
	return len(name) <= MaxNameLen && fs.ValidPath(name) && !strings.ContainsRune(name, 0)
}

func checkDirName(op, name string) error {
	if !validPath(name) {
		return &fs.PathError{Op: op, Path: name, Err: ErrInvalidName}
	}
	return nil
}

// Create creates or truncates the file name and opens it for reading and
// writing, like os.Create.
// Truncating (here, with O_TRUNC, or File.Truncate(0)) gives the file a
// fresh file ID, so segments of its earlier content no longer authenticate.
func (v *Volume) Create(name string) (*File, error) {
	return v.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
}

// Open opens the file name with flag (os.O_RDONLY, os.O_WRONLY or os.O_RDWR,
// optionally or'ed with os.O_CREATE, os.O_EXCL, os.O_TRUNC, os.O_APPEND).
// New files get mode 0600.
func (v *Volume) Open(name string, flag int) (*File, error) {
	return v.OpenFile(name, flag, 0o600)
}

const supportedFlags = os.O_RDONLY | os.O_WRONLY | os.O_RDWR | os.O_CREATE | os.O_EXCL | os.O_TRUNC | os.O_APPEND

// OpenFile is Open with the permission bits for a created file.
//
// Opening a file reads and authenticates its header: a file sealed under
// another key fails with ErrWrongKey, a file moved or copied from another
// path, or with a changed header, fails with ErrTampered. Segments are
// authenticated when read.
func (v *Volume) OpenFile(name string, flag int, perm os.FileMode) (*File, error) {
	if err := checkName("open", name); err != nil {
		return nil, err
	}
	if flag&^supportedFlags != 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: unsupported open flag %#x", ErrInvalidOptions, flag&^supportedFlags)}
	}
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	write := acc == os.O_WRONLY || acc == os.O_RDWR
	if flag&os.O_TRUNC != 0 && !write {
		return nil, &fs.PathError{Op: "open", Path: name, Err: os.ErrPermission}
	}

	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.nodes[name]
	if n != nil {
		if flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL {
			return nil, &fs.PathError{Op: "open", Path: name, Err: os.ErrExist}
		}
	} else {
		var err error
		var created bool
		n, created, err = v.loadNode(name, flag, perm)
		if errors.Is(err, fs.ErrNotExist) && v.known[name] != nil {
			return nil, rolledBack(name, HeaderSegment, "file vanished: removed behind the volume's back")
		}
		if err != nil {
			return nil, err
		}
		if err := v.adopt(n, created); err != nil {
			n.f.Close()
			if created {
				v.root.Remove(name) // leave the disk as found, for RootHash to refuse
			}
			return nil, err
		}
		v.nodes[name] = n
	}
	if write && !n.writable {
		v.releaseLocked(n)
		return nil, &fs.PathError{Op: "open", Path: name, Err: os.ErrPermission}
	}
	if flag&os.O_TRUNC != 0 {
		n.mu.Lock()
		err := n.truncate(0)
		n.mu.Unlock()
		if err != nil {
			v.releaseLocked(n)
			return nil, err
		}
	}
	n.refs++
	return &File{v: v, n: n, read: acc != os.O_WRONLY, write: write, append: flag&os.O_APPEND != 0}, nil
}

// releaseLocked drops a node that has no File, closing its descriptor.
// The volume keeps its memory of the file, unless the node was detached
// (its file removed or replaced through the Volume). v.mu must be held.
func (v *Volume) releaseLocked(n *node) {
	if n.refs > 0 {
		return
	}
	if v.nodes[n.path] == n {
		delete(v.nodes, n.path)
		v.remember(n)
	}
	n.f.Close()
}

// loadNode opens or creates (then created is true) the ciphertext file of
// name. v.mu must be held.
func (v *Volume) loadNode(name string, flag int, perm os.FileMode) (n *node, created bool, err error) {
	if flag&os.O_CREATE != 0 {
		f, err := v.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm.Perm())
		switch {
		case err == nil:
			n, err := v.initNode(name, f)
			if err != nil {
				f.Close()
				v.root.Remove(name)
				return nil, false, err
			}
			return n, true, nil
		case errors.Is(err, fs.ErrExist) && flag&os.O_EXCL == 0:
			// fall through to open the existing file
		default:
			return nil, false, err
		}
	}
	writable := true
	f, err := v.openRegular(name, os.O_RDWR)
	if err != nil && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
		writable = false
		f, err = v.openRegular(name, os.O_RDONLY)
	}
	if err != nil {
		return nil, false, err
	}
	n, err = v.readNode(name, f)
	if err != nil {
		f.Close()
		return nil, false, err
	}
	n.writable = writable
	return n, false, nil
}

// initNode writes the header and the empty final segment of a new file.
func (v *Volume) initNode(name string, f *os.File) (*node, error) {
	h := header{segLog: v.segLog, keyID: v.keys.keyID}
	rand.Read(h.fileID[:]) // crypto/rand.Read never fails (Go 1.24+)
	rand.Read(h.nonce[:])
	v.keys.sealHeader(&h, name)
	n, err := v.newNode(name, f, &h)
	if err != nil {
		return nil, err
	}
	n.writable = true
	ct := n.sealSegment(h.marshal(), 0, true, nil)
	if _, err := f.WriteAt(ct, 0); err != nil {
		return nil, err
	}
	n.wrote(0, ct[HeaderSize:], 0)
	n.finalOK.Store(true)
	return n, nil
}

func (v *Volume) newNode(name string, f *os.File, h *header) (*node, error) {
	aead, err := v.keys.fileAEAD(&h.fileID)
	if err != nil {
		return nil, err
	}
	return &node{keys: v.keys, aead: aead, fileID: h.fileID, segLog: h.segLog, f: f, path: name}, nil
}

// openRegular opens name through the root and refuses anything but a
// regular file before a byte is read. O_NONBLOCK keeps a FIFO or device
// planted by the host from blocking the open; the fstat then rejects it.
func (v *Volume) openRegular(name string, flag int) (*os.File, error) {
	f, err := v.root.OpenFile(name, flag|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkRegular(name, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkRegular refuses a directory (EISDIR, what open(2) of a directory
// for writing says) and any special file (ErrNotSealfs).
func checkRegular(name string, fi os.FileInfo) error {
	switch {
	case fi.Mode().IsRegular():
		return nil
	case fi.IsDir():
		return &fs.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	}
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: %s is not a regular file", ErrNotSealfs, fi.Mode().Type())}
}

// readNode reads and authenticates the header of an existing file, which
// openRegular opened.
func (v *Volume) readNode(name string, f *os.File) (*node, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkRegular(name, fi); err != nil {
		return nil, err
	}
	h, err := v.readHeader(name, f)
	if err != nil {
		return nil, err
	}
	n, err := v.newNode(name, f, &h)
	if err != nil {
		return nil, err
	}
	if n.size, err = plainSize(name, fi.Size(), n.segSize()); err != nil {
		return nil, err
	}
	return n, nil
}

func (v *Volume) readHeader(name string, f *os.File) (header, error) {
	var hb [HeaderSize]byte
	m, err := f.ReadAt(hb[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return header{}, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	h, err := parseHeader(name, hb[:m])
	if err != nil {
		if errors.Is(err, ErrNotSealfs) {
			return h, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return h, err
	}
	return h, v.keys.verifyHeader(&h, name)
}

// Remove removes the file or empty directory name. Files open on it keep
// working on the removed content.
func (v *Volume) Remove(name string) error {
	if err := checkName("remove", name); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.root.Remove(name); err != nil {
		return err
	}
	v.detachLocked(name)
	return nil
}

// detachLocked removes an open node from the path map, and the volume's
// memory of the path, after its file was removed or replaced: later opens
// of the path get the new file.
func (v *Volume) detachLocked(name string) {
	delete(v.known, name)
	if n := v.nodes[name]; n != nil {
		delete(v.nodes, name)
		// The node stays usable by its open Files (like an unlinked
		// inode); Name() keeps reporting the last path.
	}
}

// Mkdir creates the directory name.
func (v *Volume) Mkdir(name string, perm os.FileMode) error {
	if err := checkName("mkdir", name); err != nil {
		return err
	}
	return v.root.Mkdir(name, perm)
}

// Rename renames (moves) oldname to newname, replacing newname if it is a
// file, like os.Rename. It rewrites the header of every file it moves (all
// files below oldname if it is a directory), binding each to its new path;
// file contents are not touched.
//
// Crash: a crash between rewriting a header and the directory rename leaves
// that file bound to a path it is not at, which reads as ErrTampered.
func (v *Volume) Rename(oldname, newname string) error {
	if err := checkName("rename", oldname); err != nil {
		return err
	}
	if err := checkName("rename", newname); err != nil {
		return err
	}
	if oldname == newname {
		return nil
	}
	if strings.HasPrefix(newname, oldname+"/") {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: syscall.EINVAL}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	fi, err := v.root.Lstat(oldname)
	if err != nil {
		return err
	}
	var files []string // paths relative to the volume root
	switch {
	case fi.Mode().IsRegular():
		files = []string{oldname}
	case fi.IsDir():
		err := fs.WalkDir(v.root.FS(), oldname, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	default:
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fmt.Errorf("%w: not a regular file or directory", ErrNotSealfs)}
	}
	moved := func(p string) string { return newname + strings.TrimPrefix(p, oldname) }
	// Check every header first, so a tampered file aborts the rename before
	// anything is rewritten.
	for _, p := range files {
		if v.nodes[p] != nil {
			continue // authenticated when opened; its file ID is checked by rebind
		}
		err := v.withFile(p, os.O_RDONLY, func(f *os.File) error {
			h, err := v.readHeader(p, f)
			if err != nil {
				return err
			}
			return v.checkKnownID(p, h.fileID)
		})
		if err != nil {
			return err
		}
	}
	for i, p := range files {
		if err := v.rebind(p, p, moved(p)); err != nil {
			for _, q := range files[:i] {
				v.rebind(q, moved(q), q)
			}
			return err
		}
	}
	if err := v.root.Rename(oldname, newname); err != nil {
		// Bind the files back to where they still are.
		for _, p := range files {
			v.rebind(p, moved(p), p)
		}
		return err
	}
	v.detachLocked(newname)
	// Take every moved node and memory out before putting any back, so
	// no new path overwrites an entry not yet moved.
	nodes := make(map[string]*node, len(files))
	mems := make(map[string]*fileMemory, len(files))
	for _, p := range files {
		if n := v.nodes[p]; n != nil {
			delete(v.nodes, p)
			nodes[moved(p)] = n
		}
		if m := v.known[p]; m != nil {
			delete(v.known, p)
			mems[moved(p)] = m
		}
	}
	maps.Copy(v.nodes, nodes)
	maps.Copy(v.known, mems)
	return nil
}

// rebind rewrites the header of the file at diskpath (open or not), now
// bound to oldpath, for newpath, with a fresh nonce. v.mu must be held. The
// node map is keyed by diskpath until the caller moves it.
func (v *Volume) rebind(diskpath, oldpath, newpath string) error {
	write := func(f *os.File) error {
		h, err := v.readHeader(oldpath, f)
		if err != nil {
			return err
		}
		if n := v.nodes[diskpath]; n != nil && h.fileID != n.fileID {
			// The host put back another genuine header of this path (an
			// older file ID): rebinding it would resurrect that version.
			return tampered(oldpath, HeaderSegment, "file ID differs from the open file's")
		}
		if err := v.checkKnownID(diskpath, h.fileID); err != nil {
			return err
		}
		rand.Read(h.nonce[:])
		v.keys.sealHeader(&h, newpath)
		_, err = f.WriteAt(h.marshal(), 0)
		return err
	}
	if n := v.nodes[diskpath]; n != nil {
		n.mu.Lock()
		defer n.mu.Unlock()
		if !n.writable {
			return &fs.PathError{Op: "rename", Path: oldpath, Err: os.ErrPermission}
		}
		if err := write(n.f); err != nil {
			return err
		}
		n.path = newpath
		return nil
	}
	return v.withFile(diskpath, os.O_RDWR, write)
}

// checkKnownID refuses a file ID at path (not open) other than the one the
// volume remembers for it. v.mu must be held.
func (v *Volume) checkKnownID(path string, id [fileIDSize]byte) error {
	if want, ok := v.knownID(path); ok && want != id {
		return rolledBack(path, HeaderSegment, "file ID is not the one this volume last saw")
	}
	return nil
}

func (v *Volume) withFile(name string, flag int, fn func(*os.File) error) error {
	f, err := v.openRegular(name, flag)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn(f)
}

// Chmod changes the mode of the file or directory name ("." is the volume
// root). Like every metadata method of Volume it goes through the volume's
// os.Root: a symlink planted in the backing directory (at name or at a
// parent) cannot make it touch anything outside the volume.
func (v *Volume) Chmod(name string, mode os.FileMode) error {
	if err := checkDirName("chmod", name); err != nil {
		return err
	}
	return v.root.Chmod(name, mode)
}

// Lchown changes the owner of name without following a final symlink; -1
// leaves a field unchanged.
func (v *Volume) Lchown(name string, uid, gid int) error {
	if err := checkDirName("chown", name); err != nil {
		return err
	}
	return v.root.Lchown(name, uid, gid)
}

// Chtimes changes the access and modification times of name; a zero
// time.Time leaves that time unchanged.
func (v *Volume) Chtimes(name string, atime, mtime time.Time) error {
	if err := checkDirName("chtimes", name); err != nil {
		return err
	}
	return v.root.Chtimes(name, atime, mtime)
}

// Stat returns the FileInfo of name, with the plaintext size for files.
// The size is computed from the ciphertext length and the header's segment
// size without authenticating anything; reading detects tampering.
func (v *Volume) Stat(name string) (os.FileInfo, error) {
	if err := checkDirName("stat", name); err != nil {
		return nil, err
	}
	fi, err := v.root.Lstat(name)
	if err != nil {
		return nil, err
	}
	return v.plainInfo(name, fi)
}

func (v *Volume) plainInfo(name string, fi os.FileInfo) (os.FileInfo, error) {
	if !fi.Mode().IsRegular() {
		return fi, nil
	}
	v.mu.Lock()
	n := v.nodes[name]
	v.mu.Unlock()
	if n != nil {
		return &fileInfo{FileInfo: fi, size: n.Size()}, nil
	}
	var size int64
	err := v.withFile(name, os.O_RDONLY, func(f *os.File) error {
		var hb [HeaderSize]byte
		m, err := f.ReadAt(hb[:], 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		h, err := parseHeader(name, hb[:m])
		if err != nil {
			return err
		}
		size, err = plainSize(name, fi.Size(), 1<<h.segLog)
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return &fileInfo{FileInfo: fi, size: size}, nil
}

// fileInfo overrides Size with the plaintext size. Sys still describes the
// ciphertext file.
type fileInfo struct {
	os.FileInfo
	size int64
}

func (fi *fileInfo) Size() int64 { return fi.size }

// ReadDir lists the directory name ("." is the volume root) sorted by name.
// Info on an entry gives the plaintext size, as Stat does.
func (v *Volume) ReadDir(name string) ([]os.DirEntry, error) {
	if err := checkDirName("readdir", name); err != nil {
		return nil, err
	}
	d, err := v.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ents, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	out := make([]os.DirEntry, len(ents))
	for i, e := range ents {
		out[i] = &dirEntry{DirEntry: e, v: v, path: path.Join(name, e.Name())}
	}
	return out, nil
}

type dirEntry struct {
	os.DirEntry
	v    *Volume
	path string
}

func (e *dirEntry) Info() (os.FileInfo, error) {
	fi, err := e.DirEntry.Info()
	if err != nil {
		return nil, err
	}
	return e.v.plainInfo(e.path, fi)
}
