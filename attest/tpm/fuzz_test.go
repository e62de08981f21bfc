package tpm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/google/go-eventlog/register"
	"github.com/google/go-eventlog/tcg"
	tpmpb "github.com/google/go-tpm-tools/proto/tpm"
	"google.golang.org/protobuf/proto"
)

// FuzzParsePayload feeds arbitrary bytes to the payload parser (protobuf
// decoding, quote, signature, key, certificate and event log parsing). It
// must never panic, and what it accepts must survive a marshal/parse round
// trip unchanged. Seeds: testdata/fuzz/FuzzParsePayload (both real vectors).
func FuzzParsePayload(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePayload(b)
		if err != nil {
			if attest.Class(err) != attest.ErrMalformed {
				t.Fatalf("parse error %v is not ErrMalformed", err)
			}
			return
		}
		if n := len(p.quotes); n == 0 || n > maxQuotes {
			t.Fatalf("accepted %d quotes", n)
		}
		if len(p.extraData) > maxExtraData {
			t.Fatalf("accepted %d bytes of extraData", len(p.extraData))
		}
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(p.att)
		if err != nil {
			t.Fatalf("marshal accepted attestation: %v", err)
		}
		p2, err := parsePayload(again)
		if err != nil {
			t.Fatalf("re-parse of marshaled attestation: %v", err)
		}
		if !proto.Equal(p.att, p2.att) {
			t.Fatal("round trip changed the attestation")
		}
	})
}

// FuzzVerify runs the whole verifier, at the vectors' pinned time, on
// arbitrary bytes: it must never panic, and every refusal must carry a
// refusal class. Seeds: testdata/fuzz/FuzzVerify (both real vectors).
func FuzzVerify(f *testing.F) {
	v := NewVerifier()
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := v.Verify(context.Background(), attest.Evidence{Format: attest.FormatTPM, Payload: b}, attest.Options{Now: pinned})
		if err != nil {
			if attest.Class(err) == nil {
				t.Fatalf("refusal %v has no class", err)
			}
			return
		}
		if c.Format != attest.FormatTPM || c.TEE != attest.TEETPM || len(c.Measurement) == 0 {
			t.Fatalf("accepted with claims %+v", c)
		}
	})
}

// FuzzMachineState fuzzes the code FuzzVerify's random bytes never reach,
// because they fail the quote signature first: the event log's replay
// (go-eventlog) and the machine state extraction that interprets the events
// (go-tpm-tools, go-eventlog). No digest covers an event's type, nor the data
// of many event types, so on GCE those bytes are the customer's to choose
// under a genuine quote. The target treats the fuzzed bytes as the event log
// and has the fake AK (certified by the fake CA the verifier is told to
// trust) quote the SHA-256 PCR values replaying them gives. That is more
// than a real attacker controls (digests too), so an acceptance here is no
// forgery; what must hold is that Verify does not panic, refuses with
// exactly one refusal class, and refuses every log that does not replay to
// the quoted PCRs. Seeds: testdata/fuzz/FuzzMachineState (the vectors' event
// log, truncations and edits, and a crasher; see testdata/README.md).
func FuzzMachineState(f *testing.F) {
	fake := newFakeTPM(f, nil)
	v := NewVerifier(WithRoots(fake.ca), WithIntermediates())
	extraData := make([]byte, attest.ReportDataSize)
	extraData[0] = 0xfa
	f.Fuzz(func(t *testing.T, eventLog []byte) {
		pcrs, replays := replaySHA256(eventLog)
		// Quote all 24 PCRs, as go-tpm-tools does; those the log does
		// not extend hold zeros.
		for i := range uint32(numPCRs) {
			if pcrs[i] == nil {
				pcrs[i] = make([]byte, sha256.Size)
			}
		}
		a := fake.attestPCRs(t, pcrs, extraData, fake.ak)
		a.EventLog = eventLog
		c, err := v.Verify(context.Background(), attest.Evidence{Format: attest.FormatTPM, Payload: marshal(t, a)}, attest.Options{Now: fakeNow})
		if err != nil {
			if n := len(refusalClasses(err)); n != 1 {
				t.Fatalf("refusal %v has %d refusal classes %v, want 1", err, n, refusalClasses(err))
			}
			return
		}
		if !replays {
			t.Fatalf("accepted an event log that does not replay to the quoted PCRs; claims %+v", c)
		}
		if c.Format != attest.FormatTPM || c.TEE != attest.TEETPM {
			t.Fatalf("accepted with format %q, TEE %q", c.Format, c.TEE)
		}
		if want := pcrDigest(pcrs, crypto.SHA256); !bytes.Equal(c.Measurement, want) {
			t.Fatalf("measurement %v, want the quoted PCRs' digest %x", c.Measurement, want)
		}
		if !bytes.Equal(c.ReportData, extraData) {
			t.Fatalf("report data %v, want the quoted extraData %x", c.ReportData, extraData)
		}
		if got := hasWarning(c, "no event log"); got != (len(eventLog) == 0) {
			t.Fatalf("warnings %q with a %d-byte event log", c.Warnings, len(eventLog))
		}
	})
}

// refusalClasses returns the refusal classes err wraps.
func refusalClasses(err error) []error {
	var out []error
	for _, c := range []error{attest.ErrMalformed, attest.ErrSignature, attest.ErrCertificate, attest.ErrCollateral,
		attest.ErrTCB, attest.ErrBinding, attest.ErrUnsupportedFormat} {
		if errors.Is(err, c) {
			out = append(out, c)
		}
	}
	return out
}

// replaySHA256 returns the SHA-256 PCR values a TPM would hold after
// measuring eventLog, computed from the events' SHA-256 digests the way
// go-eventlog's replay does: PCR 0 starts at the locality of a StartupLocality
// event, an H-CRTM event (which must come first) resets its PCR to 0…04, and
// EV_NO_ACTION events extend nothing. It returns the PCRs below numPCRs that
// events extend; what the others hold the log does not say.
//
// replays is false when no bank can replay to the log: it does not parse, or
// a PCR has an event without a SHA-256 digest or a late H-CRTM event (that
// PCR is then left out). An empty log replays (to no values).
func replaySHA256(eventLog []byte) (pcrs map[uint32][]byte, replays bool) {
	pcrs = map[uint32][]byte{}
	if len(eventLog) == 0 {
		return pcrs, true
	}
	el, err := tcg.ParseEventLog(eventLog, tcg.ParseOpts{})
	if err != nil {
		return pcrs, false
	}
	events := el.Events(register.HashSHA256)
	replays = true
	for i := range numPCRs {
		var (
			value    []byte
			locality byte
			ok       = true
		)
		for _, e := range events {
			if e.Index != i {
				continue
			}
			if e.Type == tcg.NoAction {
				if i == 0 && len(e.Data) == 17 && strings.HasPrefix(string(e.Data), "StartupLocality") {
					locality = e.Data[16]
				}
				continue
			}
			if e.Type == tcg.EFIHCRTMEvent {
				if len(value) != 0 {
					ok = false
					break
				}
				value = make([]byte, sha256.Size)
				value[sha256.Size-1] = 4
			}
			if len(e.Digest) != sha256.Size {
				ok = false
				break
			}
			if len(value) == 0 {
				value = make([]byte, sha256.Size)
				value[sha256.Size-1] = locality
			}
			d := sha256.Sum256(append(value, e.Digest...))
			value = d[:]
		}
		if !ok {
			replays = false
			continue
		}
		if value != nil {
			pcrs[uint32(i)] = value
		}
	}
	return pcrs, replays
}

// TestReplaySHA256 checks the fuzz target's replay against the real vectors:
// it must compute the SHA-256 PCRs their TPM quoted for every PCR the log
// extends, 0 to 9. (The firmware log does not cover PCR 10, the kernel's IMA,
// and PCRs 17 to 22 hold their reset value, all ones.)
func TestReplaySHA256(t *testing.T) {
	for _, name := range []string{vectorNoNonce, vectorNonce} {
		t.Run(name, func(t *testing.T) {
			a := unmarshalVector(t, name)
			got, replays := replaySHA256(a.GetEventLog())
			if !replays {
				t.Fatal("vector's event log does not replay")
			}
			var want map[uint32][]byte
			for _, q := range a.GetQuotes() {
				if q.GetPcrs().GetHash() == tpmpb.HashAlgo_SHA256 {
					want = q.GetPcrs().GetPcrs()
				}
			}
			if len(want) != numPCRs {
				t.Fatalf("vector quotes %d SHA-256 PCRs", len(want))
			}
			if len(got) != 10 { // PCRs 0 to 9
				t.Errorf("log extends %d PCRs, want 10", len(got))
			}
			for i, g := range got {
				if !bytes.Equal(g, want[i]) {
					t.Errorf("PCR %d = %x, quoted %x", i, g, want[i])
				}
			}
		})
	}
}
