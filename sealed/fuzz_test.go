package sealed

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzKey is a fixed X25519 key so the committed seeds (made with it, see
// the seed files) stay valid requests.
func fuzzKey(t testing.TB) *PrivateKey {
	k, err := NewPrivateKey(X25519, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzOpenRequest feeds arbitrary bodies to OpenRequest: it must never
// panic, must fail only with the package's errors, and whatever it opens
// must be what was sealed (nothing opens that was not sealed to the key,
// which the fuzzer cannot do, so an accepted input is one of the seeds).
func FuzzOpenRequest(f *testing.F) {
	priv := fuzzKey(f)
	body, _, err := SealRequest(priv.PublicKey(), ctxInfer, []byte(`{"inputs":[]}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Fuzz(func(t *testing.T, body []byte) {
		pt, sealer, err := OpenRequest(priv, ctxInfer, body)
		if err != nil {
			if !errors.Is(err, ErrOpen) && !errors.Is(err, ErrSuite) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error class: %v", err)
			}
			if pt != nil || sealer != nil {
				t.Fatal("error with output")
			}
			return
		}
		if _, err := sealer.Seal(pt); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzOpenResponse feeds arbitrary bodies to a ResponseOpener.
func FuzzOpenResponse(f *testing.F) {
	priv := fuzzKey(f)
	body, opener, err := SealRequest(priv.PublicKey(), ctxInfer, []byte("q"))
	if err != nil {
		f.Fatal(err)
	}
	_, sealer, err := OpenRequest(priv, ctxInfer, body)
	if err != nil {
		f.Fatal(err)
	}
	resp, err := sealer.Seal([]byte(`{"outputs":[]}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(resp)
	f.Fuzz(func(t *testing.T, body []byte) {
		pt, err := opener.Open(body)
		if err != nil {
			if !errors.Is(err, ErrOpen) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error class: %v", err)
			}
			if pt != nil {
				t.Fatal("error with output")
			}
			return
		}
		if !bytes.Equal(body, resp) {
			// Opening something other than the one real response would be
			// a forgery.
			t.Fatalf("opened a body that was never sealed")
		}
	})
}

// FuzzParsePublicJWK checks that parsing never panics and that an accepted
// JWK re-encodes to a JWK that parses to the same key.
func FuzzParsePublicJWK(f *testing.F) {
	f.Add(fuzzKey(f).PublicJWK())
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"","y":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePublicJWK(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSuite) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		k2, err := ParsePublicJWK(k.JWK())
		if err != nil || !k2.Equal(k) || !bytes.Equal(k2.JWK(), k.JWK()) {
			t.Fatalf("re-encoded JWK does not round trip: %v", err)
		}
	})
}
