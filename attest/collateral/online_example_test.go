package collateral_test

import (
	"net/http"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
)

// A verifier's usual collateral source: the vendors' services through an
// injected HTTP client, behind an on-disk cache (AMD's KDS throttles, and
// VCEKs never change).
func ExampleCache() {
	src := &collateral.Cache{
		Dir: "/var/cache/cofre/collateral",
		Next: &collateral.Online{
			Getter: collateral.HTTPGetter{Client: &http.Client{Timeout: 30 * time.Second}},
		},
		StaleIfError: true, // verifiers check each item's own validity
	}
	_ = attest.Options{Collateral: src}
}
