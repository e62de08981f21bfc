package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

const payloadVersion = 1

// signatureDomain separates sim report signatures from any other use of a
// platform key.
const signatureDomain = "cofre-sim-v1\x00"

// Report is the signed body of sim evidence: what the simulated platform
// claims about the workload.
type Report struct {
	Measurement attest.Hex `json:"measurement"`
	Signer      attest.Hex `json:"signer,omitempty"`
	ProductID   string     `json:"product_id,omitempty"`
	SVN         uint64     `json:"svn"`
	ReportData  attest.Hex `json:"report_data"`
	IssuedAt    time.Time  `json:"issued_at"`
}

// payload is the sim.v1 envelope.
type payload struct {
	Version      int      `json:"version"`
	Report       []byte   `json:"report"`
	Signature    []byte   `json:"signature"`
	Certificates [][]byte `json:"certificates"`
}

// parsePayload decodes the envelope and the report strictly: unknown
// fields, trailing data and out-of-range sizes are refused. It checks no
// signature.
func parsePayload(b []byte) (*payload, *Report, error) {
	if len(b) > maxPayloadSize {
		return nil, nil, attest.Malformed("sim: payload is %d bytes, limit %d", len(b), maxPayloadSize)
	}
	var p payload
	if err := decodeStrict(b, &p); err != nil {
		return nil, nil, attest.Malformed("sim: envelope: %w", err)
	}
	if p.Version != payloadVersion {
		return nil, nil, attest.Malformed("sim: version %d, want %d", p.Version, payloadVersion)
	}
	if len(p.Certificates) == 0 || len(p.Certificates) > maxChainLength {
		return nil, nil, attest.Malformed("sim: %d certificates, want 1 to %d", len(p.Certificates), maxChainLength)
	}
	if len(p.Signature) == 0 {
		return nil, nil, attest.Malformed("sim: no signature")
	}
	var r Report
	if err := decodeStrict(p.Report, &r); err != nil {
		return nil, nil, attest.Malformed("sim: report: %w", err)
	}
	if len(r.ReportData) != attest.ReportDataSize {
		return nil, nil, attest.Malformed("sim: report_data is %d bytes, want %d", len(r.ReportData), attest.ReportDataSize)
	}
	if len(r.Measurement) == 0 || len(r.Measurement) > maxFieldSize {
		return nil, nil, attest.Malformed("sim: measurement is %d bytes, want 1 to %d", len(r.Measurement), maxFieldSize)
	}
	if len(r.Signer) > maxFieldSize {
		return nil, nil, attest.Malformed("sim: signer is %d bytes, limit %d", len(r.Signer), maxFieldSize)
	}
	if len(r.ProductID) > maxFieldSize {
		return nil, nil, attest.Malformed("sim: product_id is %d bytes, limit %d", len(r.ProductID), maxFieldSize)
	}
	return &p, &r, nil
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// signedDigestInput returns the bytes the platform key signs.
func signedDigestInput(report []byte) []byte {
	return append([]byte(signatureDomain), report...)
}
