package auditlog

import (
	"bytes"
	"crypto"
	"encoding/json"
	"testing"
)

// FuzzVerify: an audit log is read back from disk, which the trust model
// does not trust. Whatever the bytes, Verify must not panic; a log it
// accepts must re-verify to the same summary; with signatures required,
// every accepted line's signature was checked.
func FuzzVerify(f *testing.F) {
	keys := []crypto.PublicKey{ed25519Key().Public(), p256Key().Public()}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, opts := range []VerifyOptions{
			{},
			{PublicKeys: keys},
			{PublicKeys: keys, RequireSignatures: true},
		} {
			sum, err := Verify(bytes.NewReader(b), opts)
			if err != nil {
				continue
			}
			again, err := Verify(bytes.NewReader(b), VerifyOptions{PublicKeys: opts.PublicKeys, RequireSignatures: opts.RequireSignatures, Head: &sum.Head})
			if err != nil || again != sum {
				t.Fatalf("accepted log does not re-verify alike: %+v %+v %v", sum, again, err)
			}
			if opts.RequireSignatures && sum.Signed != sum.Lines {
				t.Fatalf("%d lines, %d signatures checked", sum.Lines, sum.Signed)
			}
		}
	})
}

// FuzzSignedHead: a signed head arrives from a coordinator the auditor
// does not trust. Decoding must not panic, what decodes must encode and
// decode to the same value, and Verify must not panic.
func FuzzSignedHead(f *testing.F) {
	keys := []crypto.PublicKey{ed25519Key().Public(), p256Key().Public()}
	f.Fuzz(func(t *testing.T, b []byte) {
		var sh SignedHead
		if err := json.Unmarshal(b, &sh); err != nil {
			return
		}
		_ = sh.Verify(keys)
		out, err := json.Marshal(sh)
		if err != nil {
			t.Fatal(err)
		}
		var again SignedHead
		if err := json.Unmarshal(out, &again); err != nil || again.Head != sh.Head || !again.Time.Equal(sh.Time) || again.KeyID != sh.KeyID || !bytes.Equal(again.Signature, sh.Signature) {
			t.Fatalf("round trip: %+v != %+v (%v)", again, sh, err)
		}
	})
}
