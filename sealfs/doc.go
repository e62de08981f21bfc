// Package sealfs stores files encrypted and authenticated on an untrusted
// disk: every plaintext file of a volume is one ciphertext file at the same
// relative path, made of a header and AES-256-GCM sealed segments (the format
// is specified in docs/sealfs.md).
//
// Use OpenVolume with the 32-byte volume key (from the coordinator), then
// Create or Open files; a *File is an io.ReadWriteSeeker, io.ReaderAt and
// io.WriterAt that rewrites only the segments a write touches. Fsck verifies
// every byte of a volume; RootHash summarises the volume's state so that a
// caller that stores it (the coordinator, at unmount) can detect a rollback
// at the next mount.
//
// What sealfs protects: the confidentiality of file contents, and their
// integrity against anyone who can write the disk: a flipped byte, segments
// swapped within a file or copied from another file, a truncated or extended
// file, a file moved or copied to another path, and (through RootHash, if the
// caller compares it) a file or a whole volume rolled back to an older state.
// Reads never return unauthenticated plaintext: a failed check is an error
// wrapping ErrTampered. For the life of the Volume, sealfs also remembers
// each file's ID and the tag of every segment it wrote or authenticated
// (all of them after the first RootHash, the mount-time check), open or
// closed: a segment or a whole file put back to an older genuine version,
// or a file removed or added behind the Volume's back, fails on open, on
// read and in RootHash, so the hash reported at unmount never vouches for
// it. Emptying a file gives it a new file ID, so its earlier segments fail
// behind the new header.
//
// What it does NOT protect: file and directory names, the directory tree,
// exact file sizes, timestamps and permissions are stored in
// clear on the disk. Empty directories are not covered by RootHash. Across
// processes, rollback is only detected when the caller compares RootHash
// values: a new Volume remembers nothing, and relies on the root hash the
// coordinator kept (compared at mount). Stat and ReadDir report sizes computed from the
// ciphertext length without authenticating anything. sealfs is meant for a
// single process owning the directory: two Volumes (or two processes) on one
// directory do not coordinate their writes.
package sealfs
