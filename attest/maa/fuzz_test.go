package maa

import (
	"bytes"
	"context"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/ and include the genuine
// token, its JWKS and its decoded payload.

// FuzzParseToken checks that parseToken never panics, refuses only with
// ErrMalformed, and that what it accepts is exactly three canonical
// base64url segments: rejoining them gives the input back, and re-encoding
// the decoded header and signature gives the segments back.
func FuzzParseToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := parseToken(data)
		if err != nil {
			if attest.Class(err) != attest.ErrMalformed {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if got := bytes.Join(tok.segments[:], []byte(".")); !bytes.Equal(got, data) {
			t.Fatalf("segments rejoin to %q, input %q", got, data)
		}
		if got := b64.EncodeToString(tok.signature); got != string(tok.segments[2]) {
			t.Fatalf("signature re-encodes to %q, segment %q", got, tok.segments[2])
		}
		if tok.payload == nil {
			t.Fatal("nil payload accepted")
		}
	})
}

// FuzzParseJWKS checks that parsing a JWKS and deriving each key's public
// key never panics.
func FuzzParseJWKS(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJWKS(data)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if kid == "" || k.Kid != kid {
				t.Fatalf("key %q stored under %q", k.Kid, kid)
			}
			if pub, err := k.publicKey(); err == nil && (pub.N.BitLen() < minRSABits || pub.N.BitLen() > maxRSABits) {
				t.Fatalf("%d-bit key accepted", pub.N.BitLen())
			}
			_ = checkX5C(k.X5C)
		}
	})
}

// FuzzParseClaims feeds arbitrary payload JSON to the claims mapping, as if
// MAA had signed it: it must never panic, must return claims of a known TEE
// or an error of exactly one refusal class.
func FuzzParseClaims(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := parseObject(data)
		if err != nil {
			return
		}
		c, err := mapClaims(o)
		if err != nil {
			if cl := attest.Class(err); cl != attest.ErrMalformed && cl != attest.ErrTCB {
				t.Fatalf("error %v has class %v", err, cl)
			}
			return
		}
		if c.Format != attest.FormatMAA || c.TEE == attest.TEEInvalid || c.TCBStatus == attest.TCBStatusInvalid {
			t.Fatalf("claims %+v", c)
		}
		if n := len(c.ReportData); n != 0 && n != attest.ReportDataSize {
			t.Fatalf("report data of %d bytes", n)
		}
	})
}

// FuzzVerify runs the whole verification path over arbitrary bytes with the
// genuine JWKS at the genuine vector's pinned time: it must never panic and
// every refusal must carry a class.
func FuzzVerify(f *testing.F) {
	v, err := NewVerifier(Config{TrustedIssuers: []string{genuineIssuer}})
	if err != nil {
		f.Fatal(err)
	}
	opts := attest.Options{Now: genuineNow, Collateral: collateral.Dir(genuineJWKS)}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := v.Verify(context.Background(), evidence(data), opts)
		if err != nil {
			if attest.Class(err) == nil {
				t.Fatalf("error %v has no refusal class", err)
			}
			return
		}
		if c.TEE == attest.TEEInvalid {
			t.Fatalf("claims %+v", c)
		}
	})
}
