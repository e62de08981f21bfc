package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/cofre-cc/cofre/attest"
)

// FuzzDecodeEvidenceRequest feeds arbitrary bodies to the server's request
// decoder (seeds in testdata/fuzz/FuzzDecodeEvidenceRequest). It must never
// panic; what it accepts must satisfy every field check and survive a
// marshal-then-decode round trip unchanged.
func FuzzDecodeEvidenceRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeEvidenceRequest(b)
		if err != nil {
			if !errors.Is(err, errInvalid) {
				t.Fatalf("refusal %v is not errInvalid: the server would answer 500", err)
			}
			return
		}
		if len(req.ReportData) != attest.ReportDataSize || len(req.Measurement) != 32 ||
			len(req.Signer) > maxFieldSize || len(req.ProductID) > maxFieldSize || !utf8.ValidString(req.ProductID) {
			t.Fatalf("accepted an out-of-range request: %+v", req)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		req2, err := decodeEvidenceRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request refused: %v\n%s", err, again)
		}
		if !bytes.Equal(req.ReportData, req2.ReportData) || !bytes.Equal(req.Measurement, req2.Measurement) ||
			!bytes.Equal(req.Signer, req2.Signer) || req.ProductID != req2.ProductID || req.SVN != req2.SVN {
			t.Fatalf("round trip changed the request: %+v != %+v", req, req2)
		}
	})
}

// FuzzDecodeEvidenceResponse feeds arbitrary answers to the client's
// decoder (an agent is untrusted; seeds in
// testdata/fuzz/FuzzDecodeEvidenceResponse). It must never panic, refuse
// with ErrMalformedResponse, and accept only sim.v1 evidence of a bounded
// size.
func FuzzDecodeEvidenceResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := decodeEvidenceResponse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("refusal %v is not ErrMalformedResponse", err)
			}
			return
		}
		if ev.Format != attest.FormatSim || len(ev.Payload) == 0 || len(ev.Payload) > maxEvidenceSize {
			t.Fatalf("accepted %s evidence of %d bytes", ev.Format, len(ev.Payload))
		}
		if _, err := decodePlatformInfo(b); err == nil {
			t.Fatal("one body decoded as both evidence and platform info")
		}
	})
}
