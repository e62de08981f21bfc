package sealed

import (
	"bytes"
	"errors"
	"testing"
)

var kems = []KEM{X25519, P256}

func mustKey(t testing.TB, kem KEM) *PrivateKey {
	t.Helper()
	k, err := GenerateKey(kem)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const ctxInfer = "POST /v2/models/chest/infer"

func TestRoundTrip(t *testing.T) {
	for _, kem := range kems {
		t.Run(kem.String(), func(t *testing.T) {
			priv := mustKey(t, kem)
			for _, msg := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("patient "), 10000)} {
				body, opener, err := SealRequest(priv.PublicKey(), ctxInfer, msg)
				if err != nil {
					t.Fatal(err)
				}
				if want := hdrSize + kem.encSize() + len(msg) + nt; len(body) != want {
					t.Errorf("request body is %d bytes, want %d", len(body), want)
				}
				got, sealer, err := OpenRequest(priv, ctxInfer, body)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, msg) {
					t.Fatal("request plaintext differs")
				}
				resp := append([]byte("answer to "), msg...)
				rbody, err := sealer.Seal(resp)
				if err != nil {
					t.Fatal(err)
				}
				if want := responseNonceSize + len(resp) + nt; len(rbody) != want {
					t.Errorf("response body is %d bytes, want %d", len(rbody), want)
				}
				got, err = opener.Open(rbody)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, resp) {
					t.Fatal("response plaintext differs")
				}
			}
		})
	}
}

// TestTamper flips every byte of a request (header, encapsulated key,
// ciphertext) and of a response (nonce, ciphertext) and expects a refusal:
// ErrSuite for the header's ids, ErrOpen everywhere else.
func TestTamper(t *testing.T) {
	for _, kem := range kems {
		t.Run(kem.String(), func(t *testing.T) {
			priv := mustKey(t, kem)
			body, opener, err := SealRequest(priv.PublicKey(), ctxInfer, []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			for i := range body {
				bad := bytes.Clone(body)
				bad[i] ^= 0x01
				_, _, err := OpenRequest(priv, ctxInfer, bad)
				want := ErrOpen
				if i < hdrSize {
					want = ErrSuite
				}
				if !errors.Is(err, want) {
					t.Fatalf("request byte %d flipped: got %v, want %v", i, err, want)
				}
			}
			_, sealer, err := OpenRequest(priv, ctxInfer, body)
			if err != nil {
				t.Fatal(err)
			}
			rbody, err := sealer.Seal([]byte("world"))
			if err != nil {
				t.Fatal(err)
			}
			for i := range rbody {
				bad := bytes.Clone(rbody)
				bad[i] ^= 0x80
				if _, err := opener.Open(bad); !errors.Is(err, ErrOpen) {
					t.Fatalf("response byte %d flipped: got %v, want ErrOpen", i, err)
				}
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	for _, kem := range kems {
		t.Run(kem.String(), func(t *testing.T) {
			priv, other := mustKey(t, kem), mustKey(t, kem)
			body, opener, err := SealRequest(priv.PublicKey(), ctxInfer, []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			body2, opener2, err := SealRequest(priv.PublicKey(), ctxInfer, []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			_, sealer, err := OpenRequest(priv, ctxInfer, body)
			if err != nil {
				t.Fatal(err)
			}
			_, sealer2, err := OpenRequest(priv, ctxInfer, body2)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := sealer.Seal([]byte("answer"))
			if err != nil {
				t.Fatal(err)
			}
			resp2, err := sealer2.Seal([]byte("answer"))
			if err != nil {
				t.Fatal(err)
			}
			// A sealer built for another context: a proxy moving the
			// response between endpoints.
			_, otherCtxSealer, err := OpenRequest(priv, ctxInfer, body)
			if err != nil {
				t.Fatal(err)
			}
			otherCtxSealer.context = "POST /v2/models/other/infer"
			respOtherCtx, err := otherCtxSealer.Seal([]byte("answer"))
			if err != nil {
				t.Fatal(err)
			}

			tests := []struct {
				name string
				run  func() error
				want error
			}{
				{"wrong key", func() error { _, _, err := OpenRequest(other, ctxInfer, body); return err }, ErrOpen},
				{"wrong context", func() error {
					_, _, err := OpenRequest(priv, "POST /v2/models/other/infer", body)
					return err
				}, ErrOpen},
				{"empty context", func() error { _, _, err := OpenRequest(priv, "", body); return err }, ErrOpen},
				{"response with another request's opener", func() error { _, err := opener2.Open(resp); return err }, ErrOpen},
				{"response replayed to another request", func() error { _, err := opener.Open(resp2); return err }, ErrOpen},
				{"response for another context", func() error { _, err := opener.Open(respOtherCtx); return err }, ErrOpen},
				{"truncated request", func() error { _, _, err := OpenRequest(priv, ctxInfer, body[:len(body)-1]); return err }, ErrOpen},
				{"request without ciphertext", func() error {
					_, _, err := OpenRequest(priv, ctxInfer, body[:hdrSize+kem.encSize()+nt-1])
					return err
				}, ErrMalformed},
				{"request shorter than header", func() error { _, _, err := OpenRequest(priv, ctxInfer, body[:5]); return err }, ErrMalformed},
				{"empty request", func() error { _, _, err := OpenRequest(priv, ctxInfer, nil); return err }, ErrMalformed},
				{"request over limit", func() error {
					_, _, err := OpenRequest(priv, ctxInfer, make([]byte, MaxBodySize+1))
					return err
				}, ErrTooLarge},
				{"context over limit", func() error {
					_, _, err := OpenRequest(priv, string(make([]byte, maxContextSize+1)), body)
					return err
				}, ErrTooLarge},
				{"short response", func() error { _, err := opener.Open(resp[:responseNonceSize+nt-1]); return err }, ErrMalformed},
				{"truncated response", func() error { _, err := opener.Open(resp[:len(resp)-1]); return err }, ErrOpen},
				{"response over limit", func() error { _, err := opener.Open(make([]byte, MaxBodySize+1)); return err }, ErrTooLarge},
				{"plaintext over limit", func() error {
					_, _, err := SealRequest(priv.PublicKey(), ctxInfer, make([]byte, MaxBodySize))
					return err
				}, ErrTooLarge},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if err := tt.run(); !errors.Is(err, tt.want) {
						t.Fatalf("got %v, want %v", err, tt.want)
					}
				})
			}
		})
	}
}

// TestSuite checks the allowlist: every id outside it is refused with
// ErrSuite before any cryptography runs, as is a KEM other than the key's.
func TestSuite(t *testing.T) {
	priv := mustKey(t, X25519)
	body, _, err := SealRequest(priv.PublicKey(), ctxInfer, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		hdr  []byte
	}{
		{"kem P-384", []byte{0x00, 0x11, 0, 1, 0, 2}},
		{"kem zero", []byte{0, 0, 0, 1, 0, 2}},
		{"kem P-256 for an X25519 key", []byte{0x00, 0x10, 0, 1, 0, 2}},
		{"kdf HKDF-SHA384", []byte{0x00, 0x20, 0, 2, 0, 2}},
		{"aead AES-128-GCM", []byte{0x00, 0x20, 0, 1, 0, 1}},
		{"aead ChaCha20Poly1305", []byte{0x00, 0x20, 0, 1, 0, 3}},
		{"aead export-only", []byte{0x00, 0x20, 0, 1, 0xff, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := append(bytes.Clone(tt.hdr), body[hdrSize:]...)
			if _, _, err := OpenRequest(priv, ctxInfer, bad); !errors.Is(err, ErrSuite) {
				t.Fatalf("got %v, want ErrSuite", err)
			}
		})
	}
	if _, err := GenerateKey(KEM(0x0011)); !errors.Is(err, ErrSuite) {
		t.Errorf("GenerateKey(P-384): got %v, want ErrSuite", err)
	}
	if _, err := NewPrivateKey(0, make([]byte, 32)); !errors.Is(err, ErrSuite) {
		t.Errorf("NewPrivateKey(0): got %v, want ErrSuite", err)
	}
}

// TestInvalidEncapsulatedKey sends encapsulated keys that are not valid
// points; they must look like any other authentication failure.
func TestInvalidEncapsulatedKey(t *testing.T) {
	for _, kem := range kems {
		t.Run(kem.String(), func(t *testing.T) {
			priv := mustKey(t, kem)
			body, _, err := SealRequest(priv.PublicKey(), ctxInfer, []byte("hi"))
			if err != nil {
				t.Fatal(err)
			}
			for _, fill := range []byte{0x00, 0xff} {
				bad := bytes.Clone(body)
				for i := hdrSize; i < hdrSize+kem.encSize(); i++ {
					bad[i] = fill
				}
				if _, _, err := OpenRequest(priv, ctxInfer, bad); !errors.Is(err, ErrOpen) {
					t.Fatalf("enc filled with %#x: got %v, want ErrOpen", fill, err)
				}
			}
		})
	}
}

// TestErrorsCarryNoSecret checks that a failed open says nothing of the
// plaintext or the key.
func TestErrorsCarryNoSecret(t *testing.T) {
	priv := mustKey(t, P256)
	secret := "patient-name-Maria-Silva"
	body, _, err := SealRequest(priv.PublicKey(), ctxInfer, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = OpenRequest(priv, "POST /elsewhere", body)
	if !errors.Is(err, ErrOpen) || err.Error() != ErrOpen.Error() {
		t.Fatalf("got %v, want exactly ErrOpen", err)
	}
	raw := priv.priv.Bytes()
	if _, err := NewPrivateKey(P256, raw[:31]); !errors.Is(err, ErrMalformed) || bytes.Contains([]byte(err.Error()), []byte(b64.EncodeToString(raw[:31]))) {
		t.Fatalf("NewPrivateKey short: got %v", err)
	}
}

func TestFreshResponseNonce(t *testing.T) {
	priv := mustKey(t, X25519)
	body, _, err := SealRequest(priv.PublicKey(), ctxInfer, []byte("q"))
	if err != nil {
		t.Fatal(err)
	}
	_, sealer, err := OpenRequest(priv, ctxInfer, body)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sealer.Seal([]byte("same"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := sealer.Seal([]byte("same"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[:responseNonceSize], b[:responseNonceSize]) || bytes.Equal(a, b) {
		t.Fatal("two responses share a nonce")
	}
}

// TestZeroValues checks that a sealer or opener not made by this package
// refuses to work instead of deriving keys from an empty secret.
func TestZeroValues(t *testing.T) {
	if _, err := new(ResponseSealer).Seal([]byte("x")); err == nil {
		t.Error("zero ResponseSealer sealed")
	}
	if _, err := new(ResponseOpener).Open(make([]byte, 64)); err == nil || errors.Is(err, ErrOpen) {
		t.Errorf("zero ResponseOpener: got %v, want a usage error", err)
	}
}

// TestSealRequestParts: the two parts, sent one after the other, are the
// body SealRequest would send; a part alone does not open.
func TestSealRequestParts(t *testing.T) {
	priv := mustKey(t, X25519)
	const ctx = "POST /v2/models/chest/infer"
	prefix, ct, opener, err := SealRequestParts(priv.PublicKey(), ctx, []byte("image bytes"))
	if err != nil {
		t.Fatal(err)
	}
	body := append(append([]byte(nil), prefix...), ct...)
	pt, sealer, err := OpenRequest(priv, ctx, body)
	if err != nil || string(pt) != "image bytes" {
		t.Fatalf("open: %q, %v", pt, err)
	}
	resp, _ := sealer.Seal([]byte("finding"))
	if got, err := opener.Open(resp); err != nil || string(got) != "finding" {
		t.Fatalf("response: %q, %v", got, err)
	}
	for name, part := range map[string][]byte{"prefix alone": prefix, "ciphertext alone": ct} {
		if _, _, err := OpenRequest(priv, ctx, part); err == nil {
			t.Errorf("%s opened", name)
		}
	}
}
