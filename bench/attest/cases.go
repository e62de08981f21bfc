package main

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
)

// cases builds one case per format from the vectors committed for tests.
func cases() ([]benchCase, error) {
	var out []benchCase

	now := time.Now()
	root, err := sim.NewRoot(now, time.Hour)
	if err != nil {
		return nil, err
	}
	plat, err := root.NewPlatform("bench", now, time.Hour)
	if err != nil {
		return nil, err
	}
	ev, err := (&sim.Producer{Platform: plat, Measurement: make([]byte, 32)}).Produce(context.Background(), [64]byte{})
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	out = append(out, verifyWith(attest.FormatSim, sim.NewVerifier(pool), ev, attest.Options{Now: now}))

	return out, nil
}
