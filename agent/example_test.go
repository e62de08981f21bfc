package agent_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/cofre-cc/cofre/agent"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
)

// A launcher gets sim evidence for its workload from the node agent; the
// coordinator verifies it against the sim root and checks the binding.
func ExampleClient_Producer() {
	now := time.Now()
	root, _ := sim.NewRoot(now, time.Hour)
	platform, _ := root.NewPlatform("node-1", now, time.Hour)
	srv, _ := agent.New(agent.Config{Platform: platform})
	ts := httptest.NewServer(srv.Handler()) // cofre agent serves a unix socket
	defer ts.Close()

	// The launcher's side.
	digest := sha256.Sum256([]byte("the workload's executable and fixed args"))
	nonce := make([]byte, attest.NonceSize) // from the coordinator's challenge
	workloadKey := []byte("PKIX DER of the workload key")
	rd, _ := attest.ReportData(nonce, workloadKey, digest[:])
	c := &agent.Client{BaseURL: ts.URL} // or Socket: "/run/cofre/agent.sock"
	ev, err := c.Producer(digest[:]).Produce(context.Background(), rd)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The coordinator's side.
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	claims, err := sim.NewVerifier(roots).Verify(context.Background(), ev, attest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Format, claims.TEE, bytes.Equal(claims.Measurement, digest[:]))
	fmt.Println("binding:", attest.CheckBinding(claims, nonce, workloadKey, digest[:]))
	// Output:
	// sim.v1 sim true
	// binding: <nil>
}
