package client

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzDecodeAPIError: error bodies come from a server that may be hostile
// (the attestation endpoint answers before it is verified). Decoding never
// panics, and what the CLI prints holds no control characters and stays
// bounded.
func FuzzDecodeAPIError(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := decodeAPIError(status, body)
		msg := e.Error()
		if strings.ContainsFunc(msg, func(r rune) bool { return unicode.IsControl(r) }) {
			t.Fatalf("control character in %q", msg)
		}
		if len(e.Reasons) > maxReasons || len(e.Message) > maxErrorString+len("…") || len(e.Code) > maxErrorString+len("…") {
			t.Fatalf("unbounded error: %d reasons, message %d bytes", len(e.Reasons), len(e.Message))
		}
	})
}

// FuzzParseAttestation: the attestation response is the first thing the
// client reads from an unverified server. Parsing never panics, and what
// it accepts has evidence and a parsed root.
func FuzzParseAttestation(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		ar, root, err := parseAttestation(body)
		if err != nil {
			return
		}
		if root == nil || ar.Evidence.Format == "" || len(ar.Evidence.Data) == 0 {
			t.Fatalf("accepted without evidence or root: %+v", ar)
		}
		checkRootShape(root)
	})
}
