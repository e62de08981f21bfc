package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The data-key file is one PEM block of type pemDataKey whose bytes are
// the sealer's output and whose "Sealer" header records the sealer's Name
// (informational only: it makes a mismatch readable, it decides nothing).
const (
	pemDataKey       = "COFRE SEALED DATA KEY"
	pemSealerHeader  = "Sealer"
	dataKeySealedAAD = "cofre data key v1"
)

// CreateDataKey makes a random DataKeySize-byte data key, seals it with s
// and writes it to path (mode 0600): to a temporary file in the same
// directory, fsynced, then linked into place and the directory fsynced, so
// a crash leaves either no file or the whole file. It refuses to replace an
// existing file (an error wrapping fs.ErrExist): that would orphan the
// state sealed under the old key. It returns the data key; the caller
// clears it when done.
func CreateDataKey(path string, s Sealer) ([]byte, error) {
	key := make([]byte, DataKeySize)
	rand.Read(key)
	sealed, err := s.Seal(key, []byte(dataKeySealedAAD))
	if err != nil {
		clear(key)
		return nil, fmt.Errorf("seal: seal data key: %w", err)
	}
	b := pem.EncodeToMemory(&pem.Block{
		Type:    pemDataKey,
		Headers: map[string]string{pemSealerHeader: s.Name()},
		Bytes:   sealed,
	})
	if err := writeFileExclusive(path, b); err != nil {
		clear(key)
		return nil, err
	}
	return key, nil
}

// OpenDataKey reads and unseals the data key at path. Errors:
//   - a missing file wraps fs.ErrNotExist (a first start: CreateDataKey);
//   - a file that is not a sealed data-key file wraps ErrMalformed;
//   - a well-formed file that s cannot unseal wraps ErrSealingKeyLost
//     (the coordinator enters recovery). A ciphertext altered by the host
//     looks the same as a lost key, which is the safe reading: recovery
//     restores the key from its holders.
func OpenDataKey(path string, s Sealer) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: data key: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDataKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("seal: data key: %w", err)
	}
	if len(b) > maxDataKeyFile {
		return nil, fmt.Errorf("%w: data-key file is larger than %d bytes", ErrMalformed, maxDataKeyFile)
	}
	blk, rest := pem.Decode(b)
	if blk == nil || blk.Type != pemDataKey || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: %s is not one %q PEM block", ErrMalformed, filepath.Base(path), pemDataKey)
	}
	key, err := s.Unseal(blk.Bytes, []byte(dataKeySealedAAD))
	switch {
	case errors.Is(err, ErrMalformed):
		return nil, fmt.Errorf("seal: data key: %w", err)
	case err != nil:
		return nil, fmt.Errorf("%w: sealed by %q, opening with %q: %w", ErrSealingKeyLost, blk.Headers[pemSealerHeader], s.Name(), err)
	}
	if len(key) != DataKeySize {
		clear(key)
		return nil, fmt.Errorf("%w: data key is %d bytes, want %d", ErrMalformed, len(key), DataKeySize)
	}
	return key, nil
}

// writeFileExclusive writes b to path with mode 0600, atomically and
// durably, failing if path exists. The temporary file is linked, not
// renamed, into place: link fails with EEXIST where rename would silently
// replace, and there is no window in which path exists half-written.
func writeFileExclusive(path string, b []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("seal: write %s: %w", base, err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("seal: write %s: %w", base, err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("seal: write %s: %w", base, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("seal: write %s: %w", base, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("seal: write %s: %w", base, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("seal: write %s: %w", base, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("seal: sync directory of %s: %w", base, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("seal: sync directory of %s: %w", base, err)
	}
	return nil
}
