package attestd_test

import (
	"context"
	"log"
	"net"
	"os"
	"time"

	"github.com/cofre-cc/cofre/attest/formats"
	"github.com/cofre-cc/cofre/attestd"
	"github.com/cofre-cc/cofre/token"
)

// Example wires a development service the way `cofre attestd --dev` does:
// generated TLS, admin and simulation material, a sealed key file, a
// policy directory and an audit log under one state directory.
func Example() {
	state, _ := os.MkdirTemp("", "attestd")
	defer os.RemoveAll(state)
	now := time.Now()

	dev, err := attestd.PrepareDev(state+"/dev", now)
	if err != nil {
		log.Fatal(err)
	}
	reg, err := formats.NewRegistry(formats.Config{SimRoots: dev.SimRoots})
	if err != nil {
		log.Fatal(err)
	}
	keyFile := attestd.KeyFile{Path: state + "/keys.sealed", Sealer: dev.Sealer}
	keys, err := token.NewKeySet(token.ES256, now)
	if err != nil {
		log.Fatal(err)
	}
	if err := keyFile.Save(keys); err != nil {
		log.Fatal(err)
	}
	policies, err := attestd.OpenDirPolicies(state + "/policies")
	if err != nil {
		log.Fatal(err)
	}
	dp, _ := attestd.NewStoredPolicy([]byte(attestd.DevPolicy))
	policies.PutPolicy(context.Background(), dp)
	audit, err := attestd.OpenAuditLog(state + "/audit.log")
	if err != nil {
		log.Fatal(err)
	}
	defer audit.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := attestd.New(attestd.Config{
		Registry: reg,
		Policies: policies,
		Keys:     keys,
		KeyStore: keyFile,
		Issuer:   "https://" + ln.Addr().String(),
		AdminCAs: dev.AdminCAs,
		Audit:    audit,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// Serve until ctx is done, then shut down gracefully.
	if err := srv.Serve(ctx, ln, dev.TLSCert); err != nil {
		log.Fatal(err)
	}
}
