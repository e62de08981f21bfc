package dcaptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
)

func TestSGXExtensionParses(t *testing.T) {
	want := &pcs.PCKExtensions{
		PPID:    [16]byte{1, 2, 3},
		TCB:     pcs.PCKTCB{Components: [16]uint8{7, 9, 3, 3, 255, 255, 1}, PCESVN: 13, CPUSVN: [16]byte{7, 9, 3}},
		PCEID:   [2]byte{0, 1},
		FMSPC:   [6]byte{0x00, 0x90, 0x6e, 0xd5},
		SGXType: pcs.SGXTypeScalable,
	}
	got, err := pcs.ParsePCKExtensions(SGXExtension(t, want))
	if err != nil {
		t.Fatal(err)
	}
	if got.PPID != want.PPID || got.TCB != want.TCB || got.PCEID != want.PCEID || got.FMSPC != want.FMSPC || got.SGXType != want.SGXType {
		t.Errorf("round trip: %+v, want %+v", got, want)
	}
}

func TestEnvelopeParses(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"TD_QE","version":2,"issueDate":"2024-01-01T00:00:00Z","nextUpdate":"2024-02-01T00:00:00Z","tcbEvaluationDataNumber":1,` +
		`"miscselect":"00000000","miscselectMask":"FFFFFFFF","attributes":"11000000000000000000000000000000","attributesMask":"FBFFFFFFFFFFFFFF0000000000000000",` +
		`"mrsigner":"DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5","isvprodid":2,"tcbLevels":[{"tcb":{"isvsvn":4},"tcbDate":"2024-01-01T00:00:00Z","tcbStatus":"UpToDate"}]}`)
	qi, err := pcs.ParseQEIdentity(Envelope(t, key, "enclaveIdentity", body), attest.TEETDX)
	if err != nil {
		t.Fatal(err)
	}
	r, s := new(big.Int).SetBytes(qi.Signature[:32]), new(big.Int).SetBytes(qi.Signature[32:])
	if !bytes.Equal(qi.Signed, body) || !ecdsa.Verify(&key.PublicKey, sha256Sum(body), r, s) {
		t.Error("the envelope does not carry body and its signature")
	}
}

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}
