package coordinator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/seal"
	"github.com/cofre-cc/cofre/coordinator/store"
)

// recoveryRecord reads the recovery record of a manifest.
func (c *Coordinator) recoveryRecord(name string) (*seal.RecoveryRecord, []byte, error) {
	var raw []byte
	err := c.store.View(func(tx *store.Tx) error {
		var err error
		raw, err = tx.Get(store.Public, tableRecovery, name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notFound("manifest %q has no recovery record", name)
	}
	if err != nil {
		c.log.Error("read recovery record", "manifest", name, "err", err)
		return nil, nil, errInternal
	}
	rec, err := seal.ParseRecoveryRecord(raw)
	if err != nil {
		c.log.Error("parse recovery record", "manifest", name, "err", err)
		return nil, nil, errInternal
	}
	return rec, raw, nil
}

// RecoveryRecord returns a manifest's recovery record (JSON): shares
// encrypted to each holder, safe to publish. Holders open their share
// locally (cofre recover) and submit it with SubmitShare.
func (c *Coordinator) RecoveryRecord(name string) ([]byte, error) {
	_, raw, err := c.recoveryRecord(name)
	return raw, err
}

// RecoveryStatus lists the locked manifests and the shares received.
func (c *Coordinator) RecoveryStatus() (*api.RecoveryStatus, error) {
	c.mu.RLock()
	names := slices.Sorted(maps.Keys(c.locked))
	c.mu.RUnlock()
	st := &api.RecoveryStatus{Manifests: []api.RecoveryManifest{}}
	for _, name := range names {
		rm := api.RecoveryManifest{Name: name, Holders: []string{}, Submitted: []string{}}
		if rec, _, err := c.recoveryRecord(name); err == nil {
			rm.Threshold = rec.Threshold
			rm.Holders = rec.Holders()
		}
		c.mu.RLock()
		for h := range c.shares[name] {
			rm.Submitted = append(rm.Submitted, h)
		}
		c.mu.RUnlock()
		sort.Strings(rm.Submitted)
		st.Manifests = append(st.Manifests, rm)
	}
	return st, nil
}

// SubmitShare takes one holder's recovery share for a locked manifest.
// Each share is checked against its commitment in the record as it
// arrives, so a wrong share is refused at once rather than spoiling the
// combination; when the threshold is reached the namespace key is
// rebuilt, checked, and the manifest unlocked under this coordinator's
// new root (its intermediate CA is reissued: the old root is gone).
func (c *Coordinator) SubmitShare(ctx context.Context, name string, share *api.RecoveryShare) (*api.RecoveryResult, error) {
	ev := &Event{Kind: EventRecoveryShare, Manifest: clipName(name), Holder: clipName(share.Holder)}
	res, err := c.submitShare(ctx, name, share)
	ev.fail(err)
	if rerr := c.record(ctx, ev); rerr != nil && err == nil {
		return nil, rerr
	}
	if err == nil && res.Recovered {
		if rerr := c.record(ctx, &Event{Kind: EventRecovered, Manifest: name, Granted: true}); rerr != nil {
			return nil, rerr
		}
	}
	return res, err
}

func (c *Coordinator) submitShare(_ context.Context, name string, share *api.RecoveryShare) (*api.RecoveryResult, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.RLock()
	isLocked := c.locked[name]
	c.mu.RUnlock()
	if !isLocked {
		return nil, conflict("manifest %q is not locked", name)
	}
	rec, _, err := c.recoveryRecord(name)
	if err != nil {
		return nil, err
	}
	if err := rec.CheckShare(share.Holder, share.Share); err != nil {
		return nil, forbidden("%s", clip(err.Error()))
	}
	c.mu.Lock()
	if c.shares[name] == nil {
		c.shares[name] = make(map[string][]byte)
	}
	c.shares[name][share.Holder] = append([]byte(nil), share.Share...)
	got := maps.Clone(c.shares[name])
	c.mu.Unlock()
	if len(got) < rec.Threshold {
		return &api.RecoveryResult{Remaining: rec.Threshold - len(got)}, nil
	}
	key, err := rec.Combine(got)
	if err != nil {
		return nil, forbidden("%s", clip(err.Error()))
	}
	defer clear(key)
	if err := c.unlockRecovered(name, key); err != nil {
		c.log.Error("unlock recovered manifest", "manifest", name, "err", err)
		return nil, errInternal
	}
	c.mu.Lock()
	delete(c.locked, name)
	for _, s := range c.shares[name] {
		clear(s)
	}
	delete(c.shares, name)
	c.mu.Unlock()
	c.log.Info("manifest recovered", "manifest", name)
	return &api.RecoveryResult{Recovered: true}, nil
}

// unlockRecovered opens a manifest's namespace with its recovered key,
// keeps the key (sealed under the new data key) and installs the
// manifest. Its own root and intermediate CAs are in its namespace, so
// its workloads' trust survives the coordinator's lost root.
func (c *Coordinator) unlockRecovered(name string, key []byte) error {
	if err := c.store.Unlock(store.Manifest(name), key); err != nil {
		return err
	}
	var l *loaded
	err := c.store.Update(func(tx *store.Tx) error {
		var err error
		if l, err = c.readLoaded(tx, name); err != nil {
			return err
		}
		// A namespace the host planted, with a record for keys it holds,
		// would "recover" into a manifest nobody admitted.
		if !c.admitted(l.m, slices.Sorted(maps.Keys(l.m.Owners))) {
			return errors.New("none of the recovered manifest's owners is admitted by this coordinator")
		}
		return tx.Put(store.Global, tableNSKeys, name, key)
	})
	if err != nil {
		return fmt.Errorf("recover %q: %w", name, err)
	}
	c.mu.Lock()
	c.manifests[name] = l
	c.mu.Unlock()
	return nil
}
