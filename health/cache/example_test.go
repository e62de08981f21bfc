package cache_test

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"github.com/cofre-cc/cofre/health/cache"
)

// A care API caches a FHIR resource under its logical id. The Redis host
// sees a pseudonymous key and a sealed value. (Not run: it needs a server.)
func Example() {
	var tlsConfig *tls.Config    // the coordinator-issued client certificate and CA
	var sealing cache.SealingKey // from the coordinator's secrets
	var naming cache.NamingKey   // from the coordinator's secrets, distinct
	c, err := cache.New(cache.Config{
		Addr:       "redis.internal:6379",
		TLS:        tlsConfig,
		Username:   "careapi",
		Password:   "from the coordinator's secrets",
		SealingKey: sealing,
		NamingKey:  naming,
		Namespace:  "careapi/patient",
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "Patient/123", []byte(`{"resourceType":"Patient"}`), 10*time.Minute); err != nil {
		return // a cache: carry on without it
	}
	v, err := c.Get(ctx, "Patient/123")
	switch {
	case errors.Is(err, cache.ErrMiss), errors.Is(err, cache.ErrTampered):
		// fetch from the source of truth
	case err != nil:
		// Redis unreachable: fetch from the source of truth
	default:
		_ = v
	}
}
