package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
)

// certFiles is the workload certificate and key, read from their files and
// read again when either file changes: cofre run --supervise renews the
// certificate while the program runs (rewriting the file), and the
// coordinator then refuses the superseded one, so a program that loaded
// its pair once would lose the coordinator after the first renewal, and
// its callers once the old certificate expired.
//
// A change is a different modification time, size or file (the launcher
// replaces files by rename). A new pair that does not load (a file caught
// half-written, a certificate that does not match the key) is not used:
// the last good pair is kept, and the files are tried again on the next
// call, since their stamps are not taken until they load. So a caller is
// never handed a broken pair.
//
// It does not check the certificate's validity dates or issuer: the
// coordinator and the TLS peers do, and the launcher writes only what the
// coordinator issued.
type certFiles struct {
	cert, key string // paths; key may equal cert (one PEM with both)

	mu       sync.Mutex
	pair     *tls.Certificate
	certStat os.FileInfo // of the files pair was loaded from
	keyStat  os.FileInfo
}

// loadCertFiles reads the pair; the first load must succeed.
func loadCertFiles(cert, key string) (*certFiles, error) {
	c := &certFiles{cert: cert, key: key}
	pair, cs, ks, err := c.load()
	if err != nil {
		return nil, err
	}
	c.pair, c.certStat, c.keyStat = pair, cs, ks
	return c, nil
}

// get returns the current pair: the cached one unless a file changed and
// the changed files load. Never an error once loaded: a pair that fails to
// load keeps the last good one (GetCertificate's signature is the clients'
// and tls.Config's).
func (c *certFiles) get() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err1 := os.Stat(c.cert)
	ks, err2 := os.Stat(c.key)
	if err1 != nil || err2 != nil || (same(cs, c.certStat) && same(ks, c.keyStat)) {
		// A file missing for a moment (being replaced) is no change.
		return c.pair, nil
	}
	pair, cs, ks, err := c.load()
	if err != nil {
		return c.pair, nil
	}
	c.pair, c.certStat, c.keyStat = pair, cs, ks
	return c.pair, nil
}

// load reads both files, stamping each before reading it: a file replaced
// after its stamp differs from it at the next call and is read again.
func (c *certFiles) load() (*tls.Certificate, os.FileInfo, os.FileInfo, error) {
	cs, err := os.Stat(c.cert)
	if err != nil {
		return nil, nil, nil, err
	}
	ks, err := os.Stat(c.key)
	if err != nil {
		return nil, nil, nil, err
	}
	certPEM, err := readFile(c.cert, maxPEMFile)
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := readFile(c.key, maxPEMFile)
	if err != nil {
		return nil, nil, nil, err
	}
	// The error of X509KeyPair names what is wrong, never key bytes.
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certificate and key: %w", err)
	}
	return &pair, cs, ks, nil
}

// same reports whether b is a itself, unchanged.
func same(a, b os.FileInfo) bool {
	return b != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}
