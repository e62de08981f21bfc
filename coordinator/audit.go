package coordinator

import (
	"bufio"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/store"
	"github.com/cofre-cc/cofre/internal/auditlog"
)

// auditLine is one audit log line: the chain header, then the event.
type auditLine struct {
	auditlog.Header
	*Event
}

// openAudit opens the audit log, signed by key. The head kept in the
// sealed store at the last clean shutdown must still be in the log, so a
// log cut short while the coordinator was down is refused.
//
// After a lost sealing key the old audit key is gone with the old global
// state: the old log is kept beside the new one (renamed with the time)
// and a new chain starts; the first event of the new chain names it.
func (c *Coordinator) openAudit(key crypto.Signer, lost bool) error {
	path := filepath.Join(c.cfg.StateDir, auditFile)
	if lost {
		if _, err := os.Stat(path); err == nil {
			old := path + "." + c.now().UTC().Format("20060102T150405Z") + ".sealing-key-lost"
			if err := os.Rename(path, old); err != nil {
				return fmt.Errorf("coordinator: keep the old audit log: %w", err)
			}
			c.log.Warn("audit log of the lost state kept aside; a new chain starts", "old", old)
		}
	}
	// Every line must be signed: a line the host appends without a
	// signature would otherwise become part of the chain.
	vopts := auditlog.VerifyOptions{RequireSignatures: true}
	var head auditlog.Head
	err := c.store.View(func(tx *store.Tx) error {
		b, err := tx.Get(store.Global, tableAudit, keyAuditHead)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &head)
	})
	if err != nil {
		// The head is written with the global state: missing, it was removed.
		return fmt.Errorf("coordinator: audit head (tampered?): %w", err)
	}
	if head.Seq > 0 {
		vopts.Head = &head
	}
	l, err := auditlog.Open(path, auditlog.Options{Signer: key, Verify: vopts})
	if err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	c.audit, c.auditKey = l, key
	return nil
}

// auditHeadEvery is how often the audit head is copied into the sealed
// store while the coordinator runs. A host that kills the coordinator and
// cuts the log can remove at most this much of it undetected at the next
// start; auditors' signed heads cover the rest.
const auditHeadEvery = time.Second

// keepAuditHead copies the audit head into the sealed store whenever it
// moved, until Close.
func (c *Coordinator) keepAuditHead() {
	defer close(c.headsDone)
	t := time.NewTicker(auditHeadEvery)
	defer t.Stop()
	saved := c.audit.Head()
	for {
		select {
		case <-c.stopHeads:
			return
		case <-t.C:
		}
		if h := c.audit.Head(); h != saved && c.audit.Err() == nil {
			if err := c.saveAuditHead(); err != nil {
				c.log.Error("save audit head", "err", err)
				continue
			}
			saved = h
		}
	}
}

// appendAudit appends ev to the audit log.
func (c *Coordinator) appendAudit(ev *Event) error {
	_, err := c.audit.Append(c.now(), &auditLine{Event: ev})
	return err
}

func (c *Coordinator) auditErr() error { return c.audit.Err() }

func (c *Coordinator) auditHead() api.AuditHead {
	h := c.audit.Head()
	return api.AuditHead{Seq: h.Seq, SHA256: hex.EncodeToString(h.Hash[:])}
}

// saveAuditHead keeps the audit head in the sealed store, for the
// truncation check at the next start.
func (c *Coordinator) saveAuditHead() error {
	b, err := json.Marshal(c.audit.Head())
	if err != nil {
		return err
	}
	return c.store.Update(func(tx *store.Tx) error {
		return tx.Put(store.Global, tableAudit, keyAuditHead, b)
	})
}

// SignedAuditHead returns the audit head signed by the audit key: a copy
// kept by an auditor later proves what the log held.
func (c *Coordinator) SignedAuditHead() (*api.SignedAuditHead, error) {
	sh, err := auditlog.SignHead(c.auditKey, c.audit.Head(), c.now())
	if err != nil {
		c.log.Error("sign audit head", "err", err)
		return nil, errInternal
	}
	pub, err := x509.MarshalPKIXPublicKey(c.auditKey.Public())
	if err != nil {
		return nil, errInternal
	}
	return &api.SignedAuditHead{
		Head:      api.AuditHead{Seq: sh.Head.Seq, SHA256: hex.EncodeToString(sh.Head.Hash[:])},
		Time:      sh.Time,
		PublicKey: pub,
		Signature: sh.Signature,
	}, nil
}

// AuditLines writes the audit log lines from seq from on (at most
// maxAuditPage) to w, for a user who holds an audit read role in some
// manifest. The log covers every manifest: audit roles are for the
// coordinator's auditors.
func (c *Coordinator) AuditLines(ctx context.Context, from uint64, user *x509.Certificate, w io.Writer) error {
	ev := &Event{Kind: EventAuditRead}
	err := c.auditLines(from, user, w, ev)
	ev.fail(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return rerr
	}
	return err
}

func (c *Coordinator) auditLines(from uint64, user *x509.Certificate, w io.Writer, ev *Event) error {
	if user == nil {
		return unauthorized("a user client certificate is required")
	}
	// The coordinator's auditors read every line; a manifest's auditors
	// only that manifest's, since lines name other tenants' users,
	// addresses and secrets.
	all := false
	for _, k := range c.cfg.Auditors {
		if eq, ok := k.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(user.PublicKey) {
			all, ev.User = true, "coordinator auditor"
		}
	}
	scope := ""
	if !all {
		c.mu.RLock()
		for _, l := range c.manifests {
			if name, err := c.authorize(l, user, "audit", "", "read"); err == nil {
				scope, ev.User, ev.Manifest = l.m.Name, name, l.m.Name
				break
			}
		}
		c.mu.RUnlock()
		if scope == "" {
			return forbidden("this certificate is neither a coordinator auditor nor a user with an audit role")
		}
	}
	f, err := os.Open(filepath.Join(c.cfg.StateDir, auditFile))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), auditlog.MaxLine+1)
	lines, size := 0, 0
	for sc.Scan() && lines < maxAuditPage && size < maxAuditPageBytes {
		var h struct {
			Seq      uint64 `json:"seq"`
			Manifest string `json:"manifest"`
		}
		if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		if h.Seq < from || (scope != "" && h.Manifest != scope) {
			continue
		}
		if _, err := w.Write(append(sc.Bytes(), '\n')); err != nil {
			return err
		}
		lines++
		size += len(sc.Bytes()) + 1
	}
	return sc.Err()
}

// closeAudit keeps the head and closes the log.
func (c *Coordinator) closeAudit() error {
	if c.audit == nil {
		return nil
	}
	var errs []error
	if c.audit.Err() == nil && c.store != nil {
		errs = append(errs, c.saveAuditHead())
	}
	errs = append(errs, c.audit.Close())
	return errors.Join(errs...)
}
