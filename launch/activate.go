package launch

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/coordinator/api"
)

// Coordinator is what activation needs of a coordinator client
// (*client.Client), which must have verified the coordinator.
type Coordinator interface {
	Challenge(ctx context.Context) (*api.Challenge, error)
	Activate(ctx context.Context, req *api.ActivateRequest) (*api.ActivateResponse, error)
}

// Request names what to activate and how to prove it.
type Request struct {
	Manifest, Service string
	// Digest is the workload digest (Measure): bound into the evidence.
	Digest []byte
	// HostParams are the values for the placeholders the service declares.
	HostParams map[string]string
	// Producer makes the evidence: in-guest hardware, or the node agent
	// (sim). Non-nil.
	Producer attest.Producer
	// Parts produce further evidence bound to the same report data (a
	// GPU's), or nil.
	Parts []attest.Producer
}

// Workload is an admitted instance: the coordinator's answer and the key
// its certificate is for, which never leaves this process.
type Workload struct {
	Activation *api.ActivateResponse
	Key        *ecdsa.PrivateKey
	Leaf       *x509.Certificate
	Digest     []byte
}

// Activate makes a fresh key, asks for a challenge, produces evidence
// binding (nonce, the key, the workload digest) and asks the coordinator
// to admit the workload. A refusal is the coordinator's error, with its
// reasons (see client.APIError).
func Activate(ctx context.Context, c Coordinator, req Request) (*Workload, error) {
	if req.Producer == nil {
		return nil, errors.New("launch: activate: no evidence producer")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("launch: activate: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, fmt.Errorf("launch: activate: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("launch: activate: %w", err)
	}
	ch, err := c.Challenge(ctx)
	if err != nil {
		return nil, fmt.Errorf("launch: challenge: %w", err)
	}
	rd, err := attest.ReportData(ch.Nonce, spki, req.Digest)
	if err != nil {
		return nil, fmt.Errorf("launch: activate: %w", err)
	}
	ev, err := req.Producer.Produce(ctx, rd)
	if err != nil {
		return nil, fmt.Errorf("launch: produce %s evidence: %w", req.Producer.Format(), err)
	}
	ar := &api.ActivateRequest{Manifest: req.Manifest, Service: req.Service, Nonce: ch.Nonce,
		Evidence: api.Evidence{Format: ev.Format, Data: ev.Payload}, CSR: csr, WorkloadDigest: req.Digest, HostParams: req.HostParams}
	for _, p := range req.Parts {
		pev, err := p.Produce(ctx, rd)
		if err != nil {
			return nil, fmt.Errorf("launch: produce %s evidence: %w", p.Format(), err)
		}
		ar.Parts = append(ar.Parts, api.Evidence{Format: pev.Format, Data: pev.Payload})
	}
	resp, err := c.Activate(ctx, ar)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(resp.Certificate)
	if err != nil {
		return nil, fmt.Errorf("launch: the coordinator's certificate: %w", err)
	}
	// The coordinator must certify the key this process holds: anything
	// else would be another workload's identity.
	if !key.PublicKey.Equal(leaf.PublicKey) {
		return nil, errors.New("launch: the coordinator certified another key")
	}
	return &Workload{Activation: resp, Key: key, Leaf: leaf, Digest: req.Digest}, nil
}
