package sim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// Producer makes sim.v1 evidence on a simulated platform. The workload
// values it reports are whatever it is told: that is the point of
// simulation, and why its evidence is capped at "warning".
type Producer struct {
	Platform *Platform // non-nil

	Measurement []byte // non-empty: the workload digest
	Signer      []byte // or nil
	ProductID   string // or empty
	SVN         uint64

	// Now, or nil for time.Now, stamps the report.
	Now func() time.Time
}

var _ attest.Producer = (*Producer)(nil)

func (p *Producer) Format() string { return attest.FormatSim }

// Produce signs a report binding reportData.
func (p *Producer) Produce(_ context.Context, reportData [attest.ReportDataSize]byte) (attest.Evidence, error) {
	if p.Platform == nil || p.Platform.Key == nil || len(p.Platform.Chain) == 0 {
		return attest.Evidence{}, errors.New("sim: producer has no platform")
	}
	if len(p.Measurement) == 0 {
		return attest.Evidence{}, errors.New("sim: producer has no measurement")
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	report, err := json.Marshal(Report{
		Measurement: p.Measurement,
		Signer:      p.Signer,
		ProductID:   p.ProductID,
		SVN:         p.SVN,
		ReportData:  reportData[:],
		IssuedAt:    now().UTC(),
	})
	if err != nil {
		return attest.Evidence{}, fmt.Errorf("sim: marshal report: %w", err)
	}
	digest := sha256.Sum256(signedDigestInput(report))
	sig, err := p.Platform.Key.Sign(rand.Reader, digest[:], nil)
	if err != nil {
		return attest.Evidence{}, fmt.Errorf("sim: sign report: %w", err)
	}
	env := payload{Version: payloadVersion, Report: report, Signature: sig}
	for _, c := range p.Platform.Chain {
		if c.IsCA && c.CheckSignatureFrom(c) == nil {
			continue // the root is the verifier's to have, not ours to send
		}
		env.Certificates = append(env.Certificates, c.Raw)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return attest.Evidence{}, fmt.Errorf("sim: marshal payload: %w", err)
	}
	return attest.Evidence{Format: attest.FormatSim, Payload: b}, nil
}
