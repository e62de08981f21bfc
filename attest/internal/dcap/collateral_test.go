package dcap

import (
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// FuzzParseSigningChain runs the TCB signing chain checks on arbitrary
// bytes, with the embedded root, at a time when Intel's TCB Signing
// certificate is valid: whatever the bytes, the result is a signer or a
// refusal of class ErrCollateral. The committed corpus holds the chains of
// the TDX vector and of go-tdx-guest.
func FuzzParseSigningChain(f *testing.F) {
	f.Add(read(f, sgxSigningChain))
	f.Add(read(f, tdxSigningChain))
	root := IntelRoot()
	now := time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		signer, key, err := checkTCBSigningChain(b, root, now)
		if err != nil {
			if attest.Class(err) != attest.ErrCollateral {
				t.Fatalf("refusal %v is not ErrCollateral", err)
			}
			return
		}
		if signer == nil || key == nil || signer.Subject.CommonName != CNTCBSigning {
			t.Fatalf("accepted signer %v", signer)
		}
	})
}

func TestCheckTCBSigningChainReal(t *testing.T) {
	root := IntelRoot()
	for _, p := range []string{sgxSigningChain, tdxSigningChain} {
		signer, _, err := checkTCBSigningChain(read(t, p), root, time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC))
		if err != nil || signer.Subject.CommonName != CNTCBSigning {
			t.Errorf("%s: %v", p, err)
		}
	}
}
