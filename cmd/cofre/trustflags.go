package main

import (
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/formats"
	"github.com/cofre-cc/cofre/attest/sim"
)

// trustFlags are the inputs of every command that verifies evidence: which
// simulation roots and Azure Attestation instances to trust, and where
// vendor collateral comes from.
type trustFlags struct {
	simRoots      []string
	maaIssuers    []string
	collateralDir string
	online        bool
	cacheDir      string
}

func (t *trustFlags) register(fl *pflag.FlagSet) {
	fl.StringArrayVar(&t.simRoots, "sim-root", nil, "trusted SIMULATION root certificate (PEM); repeatable")
	fl.StringArrayVar(&t.maaIssuers, "maa-issuer", nil, "trusted Azure Attestation instance (https origin); repeatable")
	fl.StringVar(&t.collateralDir, "collateral", "", "offline collateral directory (tcb_info.json, qe_identity.json, vcek.der, cert_chain.pem…)")
	fl.BoolVar(&t.online, "online", false, "fetch missing collateral from Intel PCS, AMD KDS and token issuers (cached on disk)")
	fl.StringVar(&t.cacheDir, "cache-dir", defaultCacheDir(), "collateral cache directory for --online")
}

// registry returns the verifiers, trusting the --sim-root files and any
// extra simulation root PEM (attestd --dev adds its own).
func (t *trustFlags) registry(extraSimPEM []byte) (*attest.Registry, error) {
	simPEM := extraSimPEM
	for _, p := range t.simRoots {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, usagef("--sim-root: %v", err)
		}
		simPEM = append(simPEM, b...)
	}
	cfg := formats.Config{MAAIssuers: t.maaIssuers}
	if len(simPEM) > 0 {
		pool, err := sim.ParseRootCertificates(simPEM)
		if err != nil {
			return nil, usagef("--sim-root: %v", err)
		}
		cfg.SimRoots = pool
	}
	reg, err := formats.NewRegistry(cfg)
	if err != nil {
		return nil, usageError{err}
	}
	return reg, nil
}

// collateral returns the collateral source: explicit items first, then the
// offline bundle, then (with --online) the vendors through an on-disk cache,
// because AMD KDS throttles repeated requests. Nil when there is none.
func (t *trustFlags) collateral(first ...collateral.Source) (collateral.Source, error) {
	sources := collateral.First(first)
	if t.collateralDir != "" {
		if st, err := os.Stat(t.collateralDir); err != nil || !st.IsDir() {
			return nil, usagef("--collateral %s: not a readable directory", t.collateralDir)
		}
		sources = append(sources, collateral.Dir(t.collateralDir))
	}
	if t.online {
		sources = append(sources, &collateral.Cache{
			Dir:          t.cacheDir,
			Next:         &collateral.Online{Getter: collateral.HTTPGetter{Client: &http.Client{Timeout: 30 * time.Second}}},
			StaleIfError: true,
		})
	}
	if len(sources) == 0 {
		return nil, nil
	}
	return sources, nil
}

func defaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "cofre-collateral")
	}
	return filepath.Join(d, "cofre", "collateral")
}
