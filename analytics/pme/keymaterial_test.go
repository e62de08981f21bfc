package pme

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// Golden key material, hand-checked against parquet-java's
// KeyMaterial.createSerialized (1.12+: Jackson over Map<String,Object>, so
// booleans are JSON booleans; "PKMT1"; "internalStorage":true for
// internal storage; kmsInstanceID/URL only for the footer key;
// keyEncryptionKeyID/wrappedKEK only with double wrapping) and Arrow C++'s
// KeyMaterial::SerializeToJson (same fields, this order).
const (
	goldenFooterDouble = `{"keyMaterialType":"PKMT1","internalStorage":true,"isFooterKey":true,"kmsInstanceID":"DEFAULT","kmsInstanceURL":"DEFAULT","masterKeyID":"kf","wrappedDEK":"bm9uY2UtdHdvLTEy6gQbeTnubbFX2+SmvyNtqQA+XXnkudwf3tmvu8qHrds=","doubleWrapping":true,"keyEncryptionKeyID":"a2VrLWlkLTAxMjM0NTY3OA==","wrappedKEK":"bm9uY2Utb25lLTEyIegeQcBcj+phyXTlYr86tsaKX6F7an1kw4er5DkdIHo="}`
	goldenColumnSingle = `{"keyMaterialType":"PKMT1","internalStorage":true,"isFooterKey":false,"masterKeyID":"kf","wrappedDEK":"bm9uY2UtdHdvLTEyq5RxuTB8sRcBG9/YEok/c0bjHFt8GzbCJHq+EHLUMNo=","doubleWrapping":false}`

	// The same material in another field order, as Java's HashMap may
	// write it.
	javaOrderDouble = `{"wrappedKEK":"bm9uY2Utb25lLTEyIegeQcBcj+phyXTlYr86tsaKX6F7an1kw4er5DkdIHo=","masterKeyID":"kf","kmsInstanceURL":"DEFAULT","internalStorage":true,"keyEncryptionKeyID":"a2VrLWlkLTAxMjM0NTY3OA==","doubleWrapping":true,"wrappedDEK":"bm9uY2UtdHdvLTEy6gQbeTnubbFX2+SmvyNtqQA+XXnkudwf3tmvu8qHrds=","isFooterKey":true,"kmsInstanceID":"DEFAULT","keyMaterialType":"PKMT1"}`
)

// The wrapped keys above are pinned known answers (AES-GCM with fixed
// nonces, computed independently of this package with crypto/cipher):
//
//	master key "kf" = "0123456789012345", KEK = "KEK-KEK-KEK-KEK!",
//	KEK ID = "kek-id-012345678", DEK = "DEK-DEK-DEK-DEK!"
//	wrappedKEK = b64("nonce-one-12" ‖ GCM(kf, KEK, aad "kf"))        (InMemoryKMS)
//	wrappedDEK = b64("nonce-two-12" ‖ GCM(KEK, DEK, aad KEK ID))     (double)
//	wrappedDEK = b64("nonce-two-12" ‖ GCM(kf, DEK, aad "kf"))        (single)
const knownDEK = "DEK-DEK-DEK-DEK!"

func TestKeyMaterialGolden(t *testing.T) {
	cases := []struct {
		name string
		m    keyMaterial
		want string
	}{
		{"footer, double", keyMaterial{IsFooterKey: true, KMSInstanceID: "DEFAULT", KMSInstanceURL: "DEFAULT", MasterKeyID: "kf",
			WrappedDEK: "bm9uY2UtdHdvLTEy6gQbeTnubbFX2+SmvyNtqQA+XXnkudwf3tmvu8qHrds=", DoubleWrapping: true,
			KEKID: "a2VrLWlkLTAxMjM0NTY3OA==", WrappedKEK: "bm9uY2Utb25lLTEyIegeQcBcj+phyXTlYr86tsaKX6F7an1kw4er5DkdIHo="}, goldenFooterDouble},
		{"column, single", keyMaterial{MasterKeyID: "kf", WrappedDEK: "bm9uY2UtdHdvLTEyq5RxuTB8sRcBG9/YEok/c0bjHFt8GzbCJHq+EHLUMNo="}, goldenColumnSingle},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.m.marshal()); got != tc.want {
				t.Fatalf("marshal:\n got %s\nwant %s", got, tc.want)
			}
			back, err := parseKeyMaterial([]byte(tc.want))
			if err != nil {
				t.Fatal(err)
			}
			if *back != tc.m {
				t.Fatalf("parse: got %+v, want %+v", back, tc.m)
			}
		})
	}
}

// TestKnownAnswer unwraps the pinned vectors through the retriever, as a
// reader of a parquet-java file with InMemoryKMS master keys would.
func TestKnownAnswer(t *testing.T) {
	kms := newCounting(newTestKMS(t, "kf"))
	f := NewFactory(kms, FactoryOptions{})
	for _, md := range []string{goldenFooterDouble, javaOrderDouble, goldenColumnSingle} {
		r := &retriever{f: f, ctx: context.Background()}
		if got := r.GetKey([]byte(md)); got != knownDEK {
			t.Fatalf("GetKey = %q, want %q", got, knownDEK)
		}
	}
	// The two double-wrapped materials share their KEK: one KMS unwrap;
	// the single-wrapped one is another.
	if _, unwraps := kms.counts(); unwraps != 2 {
		t.Errorf("%d KMS unwraps, want 2", unwraps)
	}
}

func TestParseKeyMaterialErrors(t *testing.T) {
	g := goldenFooterDouble
	cases := []struct {
		name string
		in   string
	}{
		{"empty", ``},
		{"not JSON", `PKMT1`},
		{"array", `[]`},
		{"trailing data", g + `{}`},
		{"wrong type", strings.Replace(g, `"PKMT1"`, `"PKMT2"`, 1)},
		{"no type", strings.Replace(g, `"keyMaterialType":"PKMT1",`, ``, 1)},
		{"external storage", strings.Replace(g, `"internalStorage":true`, `"internalStorage":false`, 1)},
		{"external reference", `{"keyMaterialType":"PKMT1","internalStorage":false,"keyReference":"footerKey"}`},
		{"boolean as string", strings.Replace(g, `"isFooterKey":true`, `"isFooterKey":"true"`, 1)},
		{"no isFooterKey", strings.Replace(g, `"isFooterKey":true,`, ``, 1)},
		{"no doubleWrapping", strings.Replace(g, `"doubleWrapping":true,`, ``, 1)},
		{"empty master key", strings.Replace(g, `"masterKeyID":"kf"`, `"masterKeyID":""`, 1)},
		{"no wrapped DEK", strings.Replace(g, `"wrappedDEK":"bm9uY2UtdHdvLTEy6gQbeTnubbFX2+SmvyNtqQA+XXnkudwf3tmvu8qHrds=",`, ``, 1)},
		{"footer without instance", strings.Replace(g, `"kmsInstanceID":"DEFAULT",`, ``, 1)},
		{"column with instance", strings.Replace(g, `"isFooterKey":true`, `"isFooterKey":false`, 1)},
		{"double without KEK", strings.Replace(g, `,"wrappedKEK":"bm9uY2Utb25lLTEyIegeQcBcj+phyXTlYr86tsaKX6F7an1kw4er5DkdIHo="`, ``, 1)},
		{"KEK ID not base64", strings.Replace(g, `a2VrLWlkLTAxMjM0NTY3OA==`, `not base64!`, 1)},
		{"KEK ID too short", strings.Replace(g, `a2VrLWlkLTAxMjM0NTY3OA==`, `a2Vr`, 1)},
		{"single with KEK", strings.Replace(goldenColumnSingle, `"doubleWrapping":false`, `"doubleWrapping":false,"wrappedKEK":"x"`, 1)},
		{"unknown field", strings.Replace(g, `{`, `{"extra":1,`, 1)},
		{"not UTF-8", "{\"keyMaterialType\":\"PKMT1\xff\"}"},
		{"too long", `{"masterKeyID":"` + strings.Repeat("a", maxKeyMetadata) + `"}`},
		{"master key ID too long", strings.Replace(g, `"masterKeyID":"kf"`, `"masterKeyID":"`+strings.Repeat("k", maxIDLen+1)+`"`, 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseKeyMaterial([]byte(tc.in))
			if !errors.Is(err, ErrKeyMaterial) {
				t.Fatalf("got %v, want ErrKeyMaterial", err)
			}
			if strings.Contains(err.Error(), "6gQbeTnubbFX2") {
				t.Errorf("error quotes the wrapped key: %v", err)
			}
		})
	}
}

// TestRetrieverErrors checks the classes GetKey panics with.
func TestRetrieverErrors(t *testing.T) {
	cases := []struct {
		name string
		md   string
		kms  KMSClient
		want error
	}{
		{"malformed", `{}`, newTestKMS(t), ErrKeyMaterial},
		{"unknown master key", goldenFooterDouble, newTestKMS(t, "kc1"), ErrNoKey},
		{"wrapped DEK under another KEK ID", strings.Replace(goldenFooterDouble, `a2VrLWlkLTAxMjM0NTY3OA==`, `a2VrLWlkLTAxMjM0NTY3OQ==`, 1), newTestKMS(t), ErrTampered},
		{"wrapped DEK not base64", strings.Replace(goldenColumnSingle, `q5Rx`, `q5R!`, 1), newTestKMS(t), ErrNoKey},
		{"wrapped DEK too short", strings.Replace(goldenFooterDouble, `bm9uY2UtdHdvLTEy6gQbeTnubbFX2+SmvyNtqQA+XXnkudwf3tmvu8qHrds=`, `AAAA`, 1), newTestKMS(t), ErrKeyMaterial},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &retriever{f: NewFactory(tc.kms, FactoryOptions{}), ctx: context.Background()}
			err := RecoverRead(func() error { r.GetKey([]byte(tc.md)); return nil })
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzKeyMaterial feeds untrusted key_metadata to the parser: it must not
// panic, and what it accepts must survive marshal-then-parse unchanged.
func FuzzKeyMaterial(f *testing.F) {
	f.Add([]byte(goldenFooterDouble))
	f.Add([]byte(goldenColumnSingle))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseKeyMaterial(b)
		if err != nil {
			if !errors.Is(err, ErrKeyMaterial) {
				t.Fatalf("error %v does not wrap ErrKeyMaterial", err)
			}
			return
		}
		out := m.marshal()
		back, err := parseKeyMaterial(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if *back != *m {
			t.Fatalf("round trip: %+v != %+v", back, m)
		}
		if again := back.marshal(); !bytes.Equal(again, out) {
			t.Fatalf("marshal not stable: %s != %s", again, out)
		}
	})
}
