package tpm

import (
	"context"
	"testing"

	"github.com/cofre-cc/cofre/attest"
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
