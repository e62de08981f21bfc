package seal

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

type holderKeys struct {
	pub  map[string]*ecdh.PublicKey
	priv map[string]*ecdh.PrivateKey
}

// newHolders makes one key per holder, cycling through the three curves.
func newHolders(t testing.TB, names ...string) holderKeys {
	t.Helper()
	curves := []ecdh.Curve{ecdh.P256(), ecdh.P384(), ecdh.X25519()}
	hk := holderKeys{pub: map[string]*ecdh.PublicKey{}, priv: map[string]*ecdh.PrivateKey{}}
	for i, n := range names {
		k, err := curves[i%len(curves)].GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		hk.priv[n], hk.pub[n] = k, k.PublicKey()
	}
	return hk
}

func testSecret() []byte {
	s := make([]byte, 32)
	rand.Read(s)
	return s
}

func openAll(t *testing.T, r *RecoveryRecord, hk holderKeys) map[string][]byte {
	t.Helper()
	shares := map[string][]byte{}
	for name, priv := range hk.priv {
		s, err := r.OpenShare(name, priv)
		if err != nil {
			t.Fatalf("OpenShare(%s): %v", name, err)
		}
		shares[name] = s
	}
	return shares
}

func TestRecoveryEverySubset(t *testing.T) {
	names := []string{"alice", "bob", "carol", "dave", "erin"}
	hk := newHolders(t, names...)
	secret := testSecret()
	orig := bytes.Clone(secret)
	r, err := NewRecoveryRecord(secret, hk.pub, 3, "manifest-a")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(secret, orig) {
		t.Fatal("NewRecoveryRecord modified the secret")
	}
	// The record goes through JSON, as it does through the store.
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(js, secret) {
		t.Fatal("record contains the secret")
	}
	r, err = ParseRecoveryRecord(js)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Holders(); !slices.Equal(got, names) {
		t.Fatalf("Holders() = %v, want %v", got, names)
	}
	shares := openAll(t, r, hk)

	for mask := range 1 << len(names) {
		pick := map[string][]byte{}
		for i, n := range names {
			if mask&(1<<i) != 0 {
				pick[n] = shares[n]
			}
		}
		got, err := r.Combine(pick)
		if len(pick) < 3 {
			if !errors.Is(err, ErrTooFewShares) {
				t.Fatalf("%d shares: err = %v, want ErrTooFewShares", len(pick), err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("subset %05b: %v", mask, err)
		}
		if !bytes.Equal(got, secret) {
			t.Fatalf("subset %05b: wrong secret", mask)
		}
	}
}

func TestRecoveryThresholdOne(t *testing.T) {
	hk := newHolders(t, "ops", "backup")
	secret := testSecret()
	r, err := NewRecoveryRecord(secret, hk.pub, 1, "m")
	if err != nil {
		t.Fatal(err)
	}
	for name, priv := range hk.priv {
		s, err := r.OpenShare(name, priv)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Combine(map[string][]byte{name: s})
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("%s alone: %v", name, err)
		}
	}
	if _, err := r.Combine(nil); !errors.Is(err, ErrTooFewShares) {
		t.Fatalf("no shares: err = %v, want ErrTooFewShares", err)
	}
}

func TestOpenShareErrors(t *testing.T) {
	hk := newHolders(t, "alice", "bob", "carol")
	r, err := NewRecoveryRecord(testSecret(), hk.pub, 2, "manifest-a")
	if err != nil {
		t.Fatal(err)
	}
	stranger := newHolders(t, "x", "y", "z") // same curves, other keys

	altered := cloneRecord(t, r)
	altered.Shares["alice"].Ciphertext[len(altered.Shares["alice"].Ciphertext)-1] ^= 1

	otherInfo := cloneRecord(t, r)
	otherInfo.Info = "manifest-b" // a record moved to another manifest

	swapped := cloneRecord(t, r)
	// Bob's entry, with Alice's key id so the key check passes: the
	// holder name in the HPKE info still refuses it.
	swapped.Shares["bob"].Ciphertext = swapped.Shares["alice"].Ciphertext
	swapped.Shares["bob"].KEM = swapped.Shares["alice"].KEM
	swapped.Shares["bob"].KeyID = swapped.Shares["alice"].KeyID

	tests := []struct {
		name   string
		r      *RecoveryRecord
		holder string
		priv   *ecdh.PrivateKey
		want   error
	}{
		{"unknown holder", r, "mallory", hk.priv["alice"], ErrUnknownHolder},
		{"another holder's key", r, "alice", hk.priv["bob"], ErrWrongRecoveryKey},
		{"stranger same curve", r, "alice", stranger.priv["x"], ErrWrongRecoveryKey},
		{"nil key", r, "alice", nil, ErrWrongRecoveryKey},
		{"ciphertext altered", altered, "alice", hk.priv["alice"], ErrUnseal},
		{"info changed", otherInfo, "alice", hk.priv["alice"], ErrUnseal},
		{"ciphertext moved to another holder", swapped, "bob", hk.priv["alice"], ErrUnseal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.r.OpenShare(tt.holder, tt.priv)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var se *ShareError
			if !errors.As(err, &se) || se.Holder != tt.holder {
				t.Fatalf("err = %v, want a ShareError naming %q", err, tt.holder)
			}
		})
	}
}

func cloneRecord(t *testing.T, r *RecoveryRecord) *RecoveryRecord {
	t.Helper()
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var c RecoveryRecord
	if err := json.Unmarshal(js, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestCombineErrors(t *testing.T) {
	hk := newHolders(t, "alice", "bob", "carol")
	r, err := NewRecoveryRecord(testSecret(), hk.pub, 2, "manifest-a")
	if err != nil {
		t.Fatal(err)
	}
	shares := openAll(t, r, hk)
	flipped := bytes.Clone(shares["bob"])
	flipped[0] ^= 1

	// A share of the same holders for another secret (another manifest).
	r2, err := NewRecoveryRecord(testSecret(), hk.pub, 2, "manifest-a")
	if err != nil {
		t.Fatal(err)
	}
	foreign := openAll(t, r2, hk)

	badCheck := cloneRecord(t, r)
	badCheck.Check[0] ^= 1

	tests := []struct {
		name    string
		r       *RecoveryRecord
		shares  map[string][]byte
		want    error
		holders []string // named in the error
	}{
		{"flipped share", r, map[string][]byte{"alice": shares["alice"], "bob": flipped}, ErrShareMismatch, []string{"bob"}},
		{"share under another name", r, map[string][]byte{"alice": shares["alice"], "carol": shares["bob"]}, ErrShareMismatch, []string{"carol"}},
		{"share of another record", r, map[string][]byte{"alice": foreign["alice"], "bob": foreign["bob"]}, ErrShareMismatch, []string{"alice", "bob"}},
		{"unknown holder", r, map[string][]byte{"alice": shares["alice"], "mallory": shares["bob"]}, ErrUnknownHolder, []string{"mallory"}},
		{"empty share", r, map[string][]byte{"alice": shares["alice"], "bob": nil}, ErrShareMismatch, []string{"bob"}},
		{"one share", r, map[string][]byte{"alice": shares["alice"]}, ErrTooFewShares, nil},
		{"forged check value", badCheck, map[string][]byte{"alice": shares["alice"], "bob": shares["bob"]}, ErrCheckFailed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.r.Combine(tt.shares)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Fatal("Combine returned a secret with an error")
			}
			for _, h := range tt.holders {
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", h)) {
					t.Errorf("error %q does not name %q", err, h)
				}
			}
		})
	}
}

func TestNewRecoveryRecordErrors(t *testing.T) {
	hk := newHolders(t, "alice", "bob")
	p521, err := ecdh.P521().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	many := map[string]*ecdh.PublicKey{}
	for i := range MaxRecoveryHolders + 1 {
		many[fmt.Sprint(i)] = hk.pub["alice"]
	}
	tests := []struct {
		name    string
		secret  []byte
		holders map[string]*ecdh.PublicKey
		k       int
		info    string
		want    error // nil: any error
	}{
		{"short secret", make([]byte, MinRecoverySecret-1), hk.pub, 2, "m", nil},
		{"long secret", make([]byte, MaxRecoverySecret+1), hk.pub, 2, "m", nil},
		{"no holders", testSecret(), nil, 1, "m", nil},
		{"too many holders", testSecret(), many, 2, "m", nil},
		{"threshold 0", testSecret(), hk.pub, 0, "m", nil},
		{"threshold above holders", testSecret(), hk.pub, 3, "m", nil},
		{"long info", testSecret(), hk.pub, 2, strings.Repeat("m", MaxRecoveryInfoLen+1), nil},
		{"empty holder name", testSecret(), map[string]*ecdh.PublicKey{"": hk.pub["alice"]}, 1, "m", nil},
		{"control character in name", testSecret(), map[string]*ecdh.PublicKey{"a\nb": hk.pub["alice"]}, 1, "m", nil},
		{"nil key", testSecret(), map[string]*ecdh.PublicKey{"a": nil}, 1, "m", ErrUnsupportedKey},
		{"P-521", testSecret(), map[string]*ecdh.PublicKey{"a": p521.PublicKey()}, 1, "m", ErrUnsupportedKey},
		{"one key for two holders", testSecret(), map[string]*ecdh.PublicKey{"a": hk.pub["alice"], "b": hk.pub["alice"]}, 1, "m", ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRecoveryRecord(tt.secret, tt.holders, tt.k, tt.info)
			if err == nil || r != nil {
				t.Fatal("NewRecoveryRecord succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseRecoveryRecordErrors(t *testing.T) {
	hk := newHolders(t, "alice", "bob", "carol")
	r, err := NewRecoveryRecord(testSecret(), hk.pub, 2, "m")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(r *RecoveryRecord)) string {
		c := cloneRecord(t, r)
		f(c)
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(js)
	}
	good := edit(func(*RecoveryRecord) {})
	tests := []struct {
		name string
		doc  string
	}{
		{"empty", ""},
		{"YAML", "version: 1\n"},
		{"array", "[]"},
		{"unknown field", strings.Replace(good, `{"version"`, `{"extra":1,"version"`, 1)},
		{"duplicate field", strings.Replace(good, `{"version":1`, `{"version":1,"version":1`, 1)},
		{"trailing document", good + good},
		{"version 2", edit(func(r *RecoveryRecord) { r.Version = 2 })},
		{"threshold 0", edit(func(r *RecoveryRecord) { r.Threshold = 0 })},
		{"threshold above holders", edit(func(r *RecoveryRecord) { r.Threshold = 4 })},
		{"no holders", edit(func(r *RecoveryRecord) { r.Shares = nil })},
		{"short check", edit(func(r *RecoveryRecord) { r.Check = r.Check[:31] })},
		{"null holder", edit(func(r *RecoveryRecord) { r.Shares["bob"] = nil })},
		{"unknown KEM", edit(func(r *RecoveryRecord) { r.Shares["bob"].KEM = 0x0012 })},
		{"KEM of another curve", edit(func(r *RecoveryRecord) { r.Shares["alice"].KEM = 0x0020 })},
		{"short key id", edit(func(r *RecoveryRecord) { r.Shares["bob"].KeyID = nil })},
		{"short commitment", edit(func(r *RecoveryRecord) { r.Shares["bob"].Commitment = []byte{1} })},
		{"truncated ciphertext", edit(func(r *RecoveryRecord) { r.Shares["bob"].Ciphertext = r.Shares["bob"].Ciphertext[:40] })},
		{"ciphertext one byte short", edit(func(r *RecoveryRecord) {
			c := r.Shares["bob"].Ciphertext
			r.Shares["bob"].Ciphertext = c[:len(c)-1]
		})},
		{"bad holder name", edit(func(r *RecoveryRecord) { r.Shares["\x00"] = r.Shares["bob"] })},
		{"huge", good + strings.Repeat(" ", maxRecoveryRecord)},
	}
	if _, err := ParseRecoveryRecord([]byte(good)); err != nil {
		t.Fatalf("unedited record: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRecoveryRecord([]byte(tt.doc))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestRecoveryKeyPEM(t *testing.T) {
	for _, c := range []ecdh.Curve{ecdh.P256(), ecdh.P384(), ecdh.X25519()} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			k, err := c.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			pubPEM, err := MarshalRecoveryPublicKey(k.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			privPEM, err := MarshalRecoveryPrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParseRecoveryPublicKey(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			priv, err := ParseRecoveryPrivateKey(privPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(k.PublicKey()) || !priv.Equal(k) {
				t.Fatal("PEM round trip changed the key")
			}
		})
	}

	// A manifest's map of PEM keys.
	hk := newHolders(t, "alice", "bob", "carol")
	pems := map[string]string{}
	for n, pub := range hk.pub {
		b, err := MarshalRecoveryPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		pems[n] = string(b)
	}
	pubs, err := ParseRecoveryPublicKeys(pems)
	if err != nil {
		t.Fatal(err)
	}
	for n, pub := range hk.pub {
		if !pubs[n].Equal(pub) {
			t.Fatalf("holder %s: key changed", n)
		}
	}
	pems["bob"] = "not a key"
	_, err = ParseRecoveryPublicKeys(pems)
	var se *ShareError
	if !errors.As(err, &se) || se.Holder != "bob" || !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad key: err = %v, want a ShareError naming bob wrapping ErrMalformed", err)
	}

	// SEC 1 "EC PRIVATE KEY", as openssl ecparam -genkey writes it.
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRecoveryPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})); err != nil {
		t.Fatalf("SEC 1 key: %v", err)
	}
}

func TestRecoveryKeyPEMErrors(t *testing.T) {
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edPubDER, _ := x509.MarshalPKIXPublicKey(edPub)
	edPrivDER, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	p521PubDER, _ := x509.MarshalPKIXPublicKey(&p521.PublicKey)
	p521PrivDER, _ := x509.MarshalPKCS8PrivateKey(p521)
	good, _ := ecdh.P256().GenerateKey(rand.Reader)
	goodPub, _ := MarshalRecoveryPublicKey(good.PublicKey())
	goodPriv, _ := MarshalRecoveryPrivateKey(good)
	enc := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }

	pubTests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"private key", goodPriv, ErrMalformed},
		{"trailing block", append(bytes.Clone(goodPub), goodPub...), ErrMalformed},
		{"garbage DER", enc("PUBLIC KEY", []byte{0x30, 0x00}), ErrMalformed},
		{"Ed25519", enc("PUBLIC KEY", edPubDER), ErrUnsupportedKey},
		{"P-521", enc("PUBLIC KEY", p521PubDER), ErrUnsupportedKey},
	}
	for _, tt := range pubTests {
		t.Run("public/"+tt.name, func(t *testing.T) {
			if _, err := ParseRecoveryPublicKey(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}})
	privTests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"public key", goodPub, ErrMalformed},
		{"encrypted PEM", encrypted, ErrMalformed},
		{"garbage DER", enc("PRIVATE KEY", []byte{0x30, 0x00}), ErrMalformed},
		{"Ed25519", enc("PRIVATE KEY", edPrivDER), ErrUnsupportedKey},
		{"P-521", enc("PRIVATE KEY", p521PrivDER), ErrUnsupportedKey},
	}
	for _, tt := range privTests {
		t.Run("private/"+tt.name, func(t *testing.T) {
			if _, err := ParseRecoveryPrivateKey(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzParseRecoveryRecord(f *testing.F) {
	hk := newHolders(f, "alice", "bob", "carol")
	secret := make([]byte, 32)
	r, err := NewRecoveryRecord(secret, hk.pub, 2, "seed")
	if err != nil {
		f.Fatal(err)
	}
	js, _ := json.Marshal(r)
	f.Add(js)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"info":"","threshold":1,"check":"","shares":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecoveryRecord(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Parse then marshal is stable: what the coordinator stores is
		// what it read.
		m1, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseRecoveryRecord(m1)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		m2, err := json.Marshal(r2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m1, m2) {
			t.Fatalf("marshal not stable:\n%s\n%s", m1, m2)
		}
		// A parsed record never panics in use.
		_, _ = r.Combine(map[string][]byte{"alice": make([]byte, 33), "bob": make([]byte, 33)})
		_, _ = r.OpenShare("alice", hk.priv["alice"])
	})
}

// FuzzParseRecoveryKey feeds both key parsers; what parses must marshal
// back to a key that parses to the same key.
func FuzzParseRecoveryKey(f *testing.F) {
	k, _ := ecdh.X25519().GenerateKey(rand.Reader)
	pub, _ := MarshalRecoveryPublicKey(k.PublicKey())
	priv, _ := MarshalRecoveryPrivateKey(k)
	f.Add(pub)
	f.Add(priv)
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParseRecoveryPublicKey(b); err == nil {
			m, err := MarshalRecoveryPublicKey(p)
			if err != nil {
				t.Fatal(err)
			}
			if p2, err := ParseRecoveryPublicKey(m); err != nil || !p2.Equal(p) {
				t.Fatalf("public key round trip: %v", err)
			}
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedKey) {
			t.Fatalf("public: unexpected error class: %v", err)
		}
		if p, err := ParseRecoveryPrivateKey(b); err == nil {
			m, err := MarshalRecoveryPrivateKey(p)
			if err != nil {
				t.Fatal(err)
			}
			if p2, err := ParseRecoveryPrivateKey(m); err != nil || !p2.Equal(p) {
				t.Fatalf("private key round trip: %v", err)
			}
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedKey) {
			t.Fatalf("private: unexpected error class: %v", err)
		}
	})
}
