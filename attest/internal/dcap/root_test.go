package dcap

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"testing"

	"github.com/cofre-cc/cofre/attest/internal/dcap/layout"
)

// The real vectors are the verifiers' (see their testdata/README.md).
const (
	sgxQuote        = "../../sgx/testdata/quote_v3_ecdsa_p256_pck_chain.bin"
	sgxSigningChain = "../../sgx/testdata/collateral/tcb_signing_chain.pem"
	tdxQuote        = "../../tdx/testdata/quote_v4_tdx_ecdsa_p256.bin"
	tdxSigningChain = "../../tdx/testdata/collateral/tcb_signing_chain.pem"
)

func read(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// realPCKChains returns the PCK chains of the real SGX and TDX quotes.
func realPCKChains(t testing.TB) map[string][][]byte {
	t.Helper()
	sgx := read(t, sgxQuote)[432+4+128:] // header, body, length, signature, key
	tdx := read(t, tdxQuote)
	n := binary.LittleEndian.Uint32(tdx[632+4+128+2:]) // certification data type 6
	tdx = tdx[632+4+128+6:][:n]
	out := map[string][][]byte{}
	for name, b := range map[string][]byte{"sgx": sgx, "tdx": tdx} {
		d, err := layout.ParseQECertData(b)
		if err != nil {
			t.Fatal(err)
		}
		if out[name], err = layout.PEMCertificates(d.CertData); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestIntelRoot(t *testing.T) {
	root := IntelRoot()
	if got := sha256.Sum256(root.Raw); hex.EncodeToString(got[:]) != IntelRootFingerprint {
		t.Fatalf("embedded root fingerprint %x", got)
	}
	if root.Subject.CommonName != "Intel SGX Root CA" || !root.IsCA {
		t.Errorf("root subject %v", root.Subject)
	}
	if IntelRoot() == root {
		t.Error("IntelRoot shares one certificate between callers")
	}
	// The same certificate ends the real TCB signing chains and PCK
	// chains, SGX and TDX.
	for _, p := range []string{sgxSigningChain, tdxSigningChain} {
		ders, err := layout.PEMCertificates(read(t, p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ders[len(ders)-1], root.Raw) {
			t.Errorf("%s: root differs from the embedded root", p)
		}
	}
	for name, ders := range realPCKChains(t) {
		if len(ders) != 3 || !bytes.Equal(ders[2], root.Raw) {
			t.Errorf("%s pck chain: root differs from the embedded root", name)
		}
	}
}
