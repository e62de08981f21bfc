package careapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cofre-cc/cofre/health/cache"
)

// Logical keys in the sealed cache. The cache turns each into a keyed
// hash before it reaches Redis, so ids and kinds are not visible there.
const (
	keyPatientIndex = "index/patients"
)

func keyPatient(id string) string               { return "patient/" + id }
func keyObservation(id string) string           { return "observation/" + id }
func keyReport(id string) string                { return "report/" + id }
func keyObservationIndex(patient string) string { return "index/observations/" + patient }
func keyReportIndex(patient string) string      { return "index/reports/" + patient }
func keyImage(patient, image string) string     { return "image/" + patient + "/" + image }
func keyImageIndex(patient string) string       { return "index/images/" + patient }
func keySession(id string) string               { return "session/" + id }

// errNotFound means a record is not in the store (never written, expired,
// or failing authentication: see store.get).
var errNotFound = errors.New("careapi: not found")

// errFull means an index has reached its limit.
var errFull = errors.New("careapi: index full")

// store keeps records in the sealed cache. Index updates are
// read-modify-write, so they are serialized by indexMu; this holds within
// one process only, and the care API runs as one replica.
type store struct {
	c   *cache.Cache
	log *slog.Logger

	indexMu sync.Mutex // guards read-modify-write of every index value
}

// get reads a record. A miss and a value that fails authentication are
// both "not found": the cache's host is untrusted, and a tampered record
// must not be served; a tamper is logged, not distinguished to the
// client.
func (s *store) get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.c.Get(ctx, key)
	if errors.Is(err, cache.ErrTampered) {
		// A security event for the operator; the key names a patient,
		// so it is not logged.
		s.log.Warn("careapi: a stored record failed authentication (altered, moved, or sealed under another key)")
	}
	if errors.Is(err, cache.ErrMiss) || errors.Is(err, cache.ErrTampered) {
		return nil, fmt.Errorf("%w (%w)", errNotFound, err)
	}
	return b, err
}

func (s *store) put(ctx context.Context, key string, value []byte) error {
	return s.c.Set(ctx, key, value, RecordTTL)
}

// index returns the ids in the index at key (empty if there is none).
func (s *store) index(ctx context.Context, key string) ([]string, error) {
	b, err := s.get(ctx, key)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("careapi: index: %w", err)
	}
	return ids, nil
}

// addToIndex writes value under key, then appends id to the index at
// indexKey, refusing with errFull once the index holds limit ids. The
// record is written first so that an index never names a record that was
// not stored.
func (s *store) addToIndex(ctx context.Context, indexKey, id string, limit int, key string, value []byte) error {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	ids, err := s.index(ctx, indexKey)
	if err != nil {
		return err
	}
	if len(ids) >= limit {
		return errFull
	}
	if err := s.put(ctx, key, value); err != nil {
		return err
	}
	b, err := json.Marshal(append(ids, id))
	if err != nil {
		return err
	}
	return s.put(ctx, indexKey, b)
}

// list reads the records an index names, skipping ones that have gone
// (expired or tampered): a listing shows what can still be read.
func (s *store) list(ctx context.Context, indexKey string, key func(string) string) ([]string, []json.RawMessage, error) {
	ids, err := s.index(ctx, indexKey)
	if err != nil {
		return nil, nil, err
	}
	var outIDs []string
	var out []json.RawMessage
	for _, id := range ids {
		b, err := s.get(ctx, key(id))
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		outIDs = append(outIDs, id)
		out = append(out, b)
	}
	return outIDs, out, nil
}
