package sealed

import (
	"bytes"
	"crypto/hpke"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC9180 checks the HPKE base-mode layer for our two suites against
// the CFRG test vectors (testdata/rfc9180/, one file per suite): the
// recipient side, which is what the service runs, with the vector's fixed
// keys. The sender side cannot be derandomized from outside crypto/hpke;
// round trips cover it.
func TestRFC9180(t *testing.T) {
	files, err := filepath.Glob("testdata/rfc9180/*.json")
	if err != nil || len(files) != 2 {
		t.Fatalf("want 2 vector files, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var v struct {
				Outcome     string `json:"outcome"`
				Mode        int    `json:"mode"`
				KEM         KEM    `json:"kem_id"`
				KDF         uint16 `json:"kdf_id"`
				AEAD        uint16 `json:"aead_id"`
				Info        string `json:"info"`
				SkRm        string `json:"skRm"`
				PkRm        string `json:"pkRm"`
				Enc         string `json:"enc"`
				Encryptions []struct {
					Aad, Ct, Pt string
				} `json:"encryptions"`
				Exports []struct {
					Context string `json:"exporter_context"`
					L       int    `json:"L"`
					Value   string `json:"exported_value"`
				} `json:"exports"`
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			if v.Outcome != "accept" || v.Mode != 0 || v.KDF != kdfID || v.AEAD != aeadID {
				t.Fatalf("vector is not a base-mode vector of our suite")
			}
			priv, err := NewPrivateKey(v.KEM, mustHex(t, v.SkRm))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(priv.PublicKey().Bytes(), mustHex(t, v.PkRm)) {
				t.Fatal("pkRm differs")
			}
			r, err := hpke.NewRecipient(mustHex(t, v.Enc), priv.hpke, kdf, aead, mustHex(t, v.Info))
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range v.Encryptions {
				pt, err := r.Open(mustHex(t, e.Aad), mustHex(t, e.Ct))
				if err != nil {
					t.Fatalf("encryption %d: %v", i, err)
				}
				if !bytes.Equal(pt, mustHex(t, e.Pt)) {
					t.Fatalf("encryption %d: plaintext differs", i)
				}
			}
			for i, e := range v.Exports {
				got, err := r.Export(string(mustHex(t, e.Context)), e.L)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, mustHex(t, e.Value)) {
					t.Fatalf("export %d: got %x, want %s", i, got, e.Value)
				}
			}
		})
	}
}

// TestVectors checks the whole cofre wire format (info, request body,
// response derivation and body) against testdata/vectors.json, made by the
// independent Python implementation testdata/vectors.py.
func TestVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Outcome string `json:"outcome"`
		Cases   []struct {
			KEM             KEM    `json:"kem_id"`
			SkR             string `json:"skR"`
			PkR             string `json:"pkR"`
			ThumbprintInput string `json:"thumbprint_input"`
			KeyID           string `json:"key_id"`
			Info            string `json:"info"`
			Context         string `json:"context"`
			Plaintext       string `json:"plaintext"`
			Request         string `json:"request"`
			ResponseSecret  string `json:"response_secret"`
			ResponseNonce   string `json:"response_nonce"`
			Response        string `json:"response"`
			SealedResponse  string `json:"sealed_response"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if file.Outcome != "accept" || len(file.Cases) != 2 {
		t.Fatalf("want 2 accepting cases, got %d %q", len(file.Cases), file.Outcome)
	}
	for _, c := range file.Cases {
		t.Run(c.KEM.String(), func(t *testing.T) {
			priv, err := NewPrivateKey(c.KEM, mustHex(t, c.SkR))
			if err != nil {
				t.Fatal(err)
			}
			pub := priv.PublicKey()
			if !bytes.Equal(pub.Bytes(), mustHex(t, c.PkR)) {
				t.Fatal("public key differs")
			}
			if string(pub.thumbprintInput()) != c.ThumbprintInput || pub.KeyID() != c.KeyID {
				t.Fatalf("thumbprint: got %s %s", pub.thumbprintInput(), pub.KeyID())
			}
			if got := info(header(c.KEM), pub.keyID); !bytes.Equal(got, mustHex(t, c.Info)) {
				t.Fatalf("info: got %x", got)
			}
			pt, sealer, err := OpenRequest(priv, c.Context, mustHex(t, c.Request))
			if err != nil {
				t.Fatal(err)
			}
			if string(pt) != c.Plaintext {
				t.Fatalf("plaintext: got %q", pt)
			}
			if !bytes.Equal(sealer.secret, mustHex(t, c.ResponseSecret)) {
				t.Fatalf("response secret: got %x", sealer.secret)
			}
			resp, err := sealer.seal(mustHex(t, c.ResponseNonce), []byte(c.Response))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp, mustHex(t, c.SealedResponse)) {
				t.Fatalf("sealed response: got %x", resp)
			}
			// The client side: an opener holding the same exported secret.
			enc := mustHex(t, c.Request)[hdrSize : hdrSize+c.KEM.encSize()]
			opener := &ResponseOpener{secret: sealer.secret, enc: enc, context: c.Context}
			got, err := opener.Open(resp)
			if err != nil || string(got) != c.Response {
				t.Fatalf("open response: %q %v", got, err)
			}
		})
	}
}
