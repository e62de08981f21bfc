package manifest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func pemPublic(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// testOwners are the signing keys of the manifests in these tests.
type testOwners map[string]crypto.Signer

func newOwners(t *testing.T) testOwners {
	t.Helper()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	return testOwners{"alice": p256, "bob": p384, "carol": ed}
}

// doc builds a valid manifest document (JSON) owned by owners.
func (o testOwners) doc(t *testing.T, name string, version uint64, predecessor string, threshold int) []byte {
	t.Helper()
	owners := map[string]any{}
	for n, k := range o {
		owners[n] = map[string]string{"public_key": pemPublic(t, k.Public())}
	}
	m := map[string]any{
		"name": name, "version": version, "owners": owners, "update_threshold": threshold,
		"packages":    map[string]any{"app": map[string]any{"references": []any{map[string]any{"tee": "sim", "any_code": true}}}},
		"services":    map[string]any{"web": map[string]any{"package": "app", "command": []string{"/app/web"}}},
		"attestation": map[string]any{"allow_simulation": true},
	}
	if predecessor != "" {
		m["predecessor"] = predecessor
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, doc []byte) *Manifest {
	t.Helper()
	m, err := Parse("test", doc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (o testOwners) sign(t *testing.T, doc []byte, names ...string) []Signature {
	t.Helper()
	var sigs []Signature
	for _, n := range names {
		s, err := Sign(doc, o[n])
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, Signature{Owner: n, Signature: s})
	}
	return sigs
}

func TestVerifySignatures(t *testing.T) {
	owners := newOwners(t)
	doc := owners.doc(t, "hello", 1, "", 2)
	m := mustParse(t, doc)
	other := owners.doc(t, "other", 1, "", 2)
	forged := owners.sign(t, other, "alice")[0]
	mallory, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	malSig, _ := Sign(doc, mallory)

	tests := []struct {
		name    string
		sigs    []Signature
		wantErr []error // each must match with errors.Is; nil: accepted
		have    int     // for ErrThreshold
	}{
		{"two of three", owners.sign(t, doc, "alice", "bob"), nil, 0},
		{"three of three", owners.sign(t, doc, "alice", "bob", "carol"), nil, 0},
		{"ed25519 and p384", owners.sign(t, doc, "carol", "bob"), nil, 0},
		{"one of three", owners.sign(t, doc, "carol"), []error{ErrThreshold}, 1},
		{"none", nil, []error{ErrThreshold}, 0},
		{"same owner twice", owners.sign(t, doc, "alice", "alice"), []error{ErrThreshold}, 1},
		{"unknown owner", append(owners.sign(t, doc, "alice", "bob"), Signature{Owner: "mallory", Signature: malSig}), []error{ErrUnknownOwner}, 0},
		{"signature over another manifest", append(owners.sign(t, doc, "bob"), forged), []error{ErrBadSignature, ErrThreshold}, 1},
		{"signature under another owner's name", []Signature{{Owner: "bob", Signature: owners.sign(t, doc, "alice")[0].Signature}, owners.sign(t, doc, "carol")[0]}, []error{ErrBadSignature, ErrThreshold}, 1},
		{"outsider's key claiming an owner", append(owners.sign(t, doc, "bob"), Signature{Owner: "alice", Signature: malSig}), []error{ErrBadSignature, ErrThreshold}, 1},
		{"empty signature", append(owners.sign(t, doc, "alice", "bob"), Signature{Owner: "carol"}), []error{ErrBadSignature}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignatures(m, Hash(doc), tt.sigs)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not match %v", err, want)
				}
			}
			var te *ThresholdError
			if errors.As(err, &te) && (te.Have != tt.have || te.Need != 2) {
				t.Errorf("ThresholdError{%d, %d}, want {%d, 2}", te.Have, te.Need, tt.have)
			}
			var se *SignatureError
			if errors.As(err, &se) && se.Owner == "" {
				t.Errorf("SignatureError does not name the owner")
			}
		})
	}
}

func TestSignKeyTypes(t *testing.T) {
	doc := []byte("name: x\n")
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	for _, k := range []crypto.Signer{rsaKey, p521} {
		if _, err := Sign(doc, k); !errors.Is(err, ErrKeyType) {
			t.Errorf("%T: Sign error %v, want ErrKeyType", k, err)
		}
	}
}

func TestDomainSeparation(t *testing.T) {
	// A plain signature over the hash (no context) must not verify.
	owners := newOwners(t)
	doc := owners.doc(t, "hello", 1, "", 1)
	m := mustParse(t, doc)
	h := Hash(doc)
	plain := ed25519.Sign(owners["carol"].(ed25519.PrivateKey), h[:])
	err := VerifySignatures(m, h, []Signature{{Owner: "carol", Signature: plain}})
	if !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature without the context accepted: %v", err)
	}
}

func TestVerifyInitial(t *testing.T) {
	owners := newOwners(t)
	v1 := owners.doc(t, "hello", 1, "", 2)
	v2 := owners.doc(t, "hello", 2, strings.Repeat("ab", 32), 2)
	tests := []struct {
		name    string
		doc     []byte
		signers []string
		wantErr error
	}{
		{"ok", v1, []string{"alice", "carol"}, nil},
		{"too few", v1, []string{"alice"}, ErrThreshold},
		{"not version 1", v2, []string{"alice", "carol"}, ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyInitial(mustParse(t, tt.doc), Hash(tt.doc), owners.sign(t, tt.doc, tt.signers...))
			if tt.wantErr == nil && err != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("VerifyInitial: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestVerifyUpdate(t *testing.T) {
	old := newOwners(t)
	prevDoc := old.doc(t, "hello", 1, "", 2)
	prev := mustParse(t, prevDoc)
	prevHash := Hash(prevDoc)
	prevHex := hex.EncodeToString(prevHash[:])

	// The update hands the manifest to entirely new owners, threshold 1.
	newcomers := newOwners(t)
	next := newcomers.doc(t, "hello", 2, prevHex, 1)
	stale := newcomers.doc(t, "hello", 2, strings.Repeat("00", 32), 1)
	skip := newcomers.doc(t, "hello", 3, prevHex, 1)
	renamed := newcomers.doc(t, "bye", 2, prevHex, 1)

	tests := []struct {
		name    string
		doc     []byte
		signers testOwners
		names   []string
		wantErr []error
	}{
		{"signed by the old owners", next, old, []string{"alice", "bob"}, nil},
		{"signed only by the new owners", next, newcomers, []string{"alice", "bob", "carol"}, []error{ErrBadSignature, ErrThreshold}},
		{"below the old threshold", next, old, []string{"carol"}, []error{ErrThreshold}},
		{"stale predecessor", stale, old, []string{"alice", "bob"}, []error{ErrStalePredecessor}},
		{"version skipped", skip, old, []string{"alice", "bob"}, []error{ErrVersion}},
		{"renamed", renamed, old, []string{"alice", "bob"}, []error{ErrNameChanged}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := mustParse(t, tt.doc)
			err := VerifyUpdate(prev, prevHash, n, Hash(tt.doc), tt.signers.sign(t, tt.doc, tt.names...))
			if tt.wantErr == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not match %v", err, want)
				}
			}
		})
	}

	// The stale-predecessor error names the expected and the actual hash.
	err := CheckUpdate(prev, prevHash, mustParse(t, stale))
	if !strings.Contains(err.Error(), prevHex) || !strings.Contains(err.Error(), strings.Repeat("00", 32)) {
		t.Errorf("stale predecessor error does not name both hashes: %v", err)
	}
}

func TestSignatureFile(t *testing.T) {
	owners := newOwners(t)
	doc := owners.doc(t, "hello", 1, "", 1)
	sig := owners.sign(t, doc, "alice")[0]
	b, err := MarshalSignature(sig, Hash(doc))
	if err != nil {
		t.Fatal(err)
	}
	got, h, err := ParseSignature(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != sig.Owner || string(got.Signature) != string(sig.Signature) || h != Hash(doc) {
		t.Fatalf("round trip: got %+v %x", got, h)
	}
	if err := VerifySignatures(mustParse(t, doc), h, []Signature{got}); err != nil {
		t.Fatal(err)
	}

	hash := strings.Repeat("ab", 32)
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"not an object", `["alice"]`},
		{"yaml", "owner: alice\n"},
		{"unknown field", `{"owner":"a","manifest_sha256":"` + hash + `","signature":"AAAA","extra":1}`},
		{"duplicate key", `{"owner":"a","owner":"b","manifest_sha256":"` + hash + `","signature":"AAAA"}`},
		{"case variant", `{"Owner":"a","manifest_sha256":"` + hash + `","signature":"AAAA"}`},
		{"missing owner", `{"manifest_sha256":"` + hash + `","signature":"AAAA"}`},
		{"bad owner", `{"owner":"a b","manifest_sha256":"` + hash + `","signature":"AAAA"}`},
		{"short hash", `{"owner":"a","manifest_sha256":"abcd","signature":"AAAA"}`},
		{"uppercase hash", `{"owner":"a","manifest_sha256":"` + strings.ToUpper(hash) + `","signature":"AAAA"}`},
		{"bad base64", `{"owner":"a","manifest_sha256":"` + hash + `","signature":"A*AA"}`},
		{"empty signature", `{"owner":"a","manifest_sha256":"` + hash + `","signature":""}`},
		{"huge signature", `{"owner":"a","manifest_sha256":"` + hash + `","signature":"` + strings.Repeat("A", 1024) + `"}`},
		{"number owner", `{"owner":1,"manifest_sha256":"` + hash + `","signature":"AAAA"}`},
		{"two documents", `{"owner":"a","manifest_sha256":"` + hash + `","signature":"AAAA"}` + "\n---\n{}"},
		{"too big", `{"owner":"a","pad":"` + strings.Repeat(" ", maxSignatureFileSize) + `"}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ParseSignature([]byte(tt.in)); !errors.Is(err, ErrSignatureFile) {
				t.Fatalf("ParseSignature: %v, want ErrSignatureFile", err)
			}
		})
	}
}
