package service

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Refresher keeps one token fresh: it fetches a token when created, then
// again once two thirds of the current one's lifetime have passed (retrying
// every minute after a failure, while the old token is still served).
type Refresher struct {
	fetch func(context.Context) (string, time.Time, error)
	log   *slog.Logger

	mu  sync.RWMutex
	tok string
	exp time.Time
}

// NewRefresher fetches the first token; an error there is returned.
func NewRefresher(ctx context.Context, log *slog.Logger, fetch func(context.Context) (tok string, exp time.Time, err error)) (*Refresher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Refresher{fetch: fetch, log: log}
	tok, exp, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	r.tok, r.exp = tok, exp
	return r, nil
}

// Token returns the current token.
func (r *Refresher) Token() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.tok
}

// Run refreshes until ctx ends.
func (r *Refresher) Run(ctx context.Context) {
	for {
		r.mu.RLock()
		wait := time.Until(r.exp) * 2 / 3
		r.mu.RUnlock()
		wait = max(wait, time.Second)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		tok, exp, err := r.fetch(ctx)
		if err != nil {
			r.log.Warn("token refresh failed; retrying in a minute", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Minute):
			}
			continue
		}
		r.mu.Lock()
		r.tok, r.exp = tok, exp
		r.mu.Unlock()
	}
}
