package dcap

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/internal/dcap/dcaptest"
)

// fakeCA is a certificate authority of a fake Intel PKI.
type fakeCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var fakeNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newCA issues a CA certificate named cn, self-signed if parent is nil.
func newCA(t testing.TB, cn string, parent *fakeCA) fakeCA {
	t.Helper()
	key := dcaptest.Key(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{"Fake Intel"}},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotBefore: fakeNow.Add(-24 * time.Hour), NotAfter: fakeNow.Add(24 * time.Hour),
	}
	if parent == nil {
		return fakeCA{dcaptest.Certificate(t, tmpl, nil, key, &key.PublicKey), key}
	}
	return fakeCA{dcaptest.Certificate(t, tmpl, parent.cert, parent.key, &key.PublicKey), key}
}

// crl issues a DER CRL by ca listing the given serial numbers.
func (ca fakeCA) crl(t testing.TB, thisUpdate, nextUpdate time.Time, revoked ...int64) []byte {
	t.Helper()
	var serials []*big.Int
	for _, s := range revoked {
		serials = append(serials, big.NewInt(s))
	}
	return dcaptest.CRL(t, ca.cert, ca.key, thisUpdate, nextUpdate, serials...)
}

// source serves one item, or fails with err.
type source struct {
	b   []byte
	err error
}

func (s source) Fetch(_ context.Context, req collateral.Request) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.b == nil {
		return nil, fmt.Errorf("%v: %w", req.Kind, collateral.ErrNotFound)
	}
	return s.b, nil
}

// TestFetchCRL runs the CRL checks under both date policies; they differ
// only on dates.
func TestFetchCRL(t *testing.T) {
	ca := newCA(t, CNPlatformCA, nil)
	other := newCA(t, CNPlatformCA, nil) // same name, another key
	root := newCA(t, "Intel SGX Root CA", nil)
	hour := time.Hour
	current := ca.crl(t, fakeNow.Add(-hour), fakeNow.Add(hour))
	stale := ca.crl(t, fakeNow.Add(-48*hour), fakeNow.Add(-24*hour))
	early := ca.crl(t, fakeNow.Add(hour), fakeNow.Add(2*hour))
	type want struct {
		field string // refused on field; "" accepted
		warn  string // accepted with this warning
	}
	tests := []struct {
		name              string
		src               source
		enforced, staleOK want
	}{
		{"current", source{b: current}, want{}, want{}},
		{"pem", source{b: pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: current})}, want{}, want{}},
		{"stale", source{b: stale}, want{field: "pck_crl.nextUpdate"}, want{warn: "pck_crl expired at"}},
		{"not yet valid", source{b: early}, want{field: "pck_crl.thisUpdate"}, want{}},
		{"another issuer", source{b: root.crl(t, fakeNow.Add(-hour), fakeNow.Add(hour))}, want{field: "pck_crl.issuer"}, want{field: "pck_crl.issuer"}},
		{"forged", source{b: other.crl(t, fakeNow.Add(-hour), fakeNow.Add(hour))}, want{field: "pck_crl.signature"}, want{field: "pck_crl.signature"}},
		{"garbage", source{b: []byte("not a CRL")}, want{field: "pck_crl.der"}, want{field: "pck_crl.der"}},
		{"pem of another type", source{b: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: current})}, want{field: "pck_crl.der"}, want{field: "pck_crl.der"}},
		{"fetch failed", source{err: errors.New("connection refused")}, want{field: "pck_crl.der"}, want{field: "pck_crl.der"}},
	}
	for _, tt := range tests {
		for _, p := range []struct {
			dates CRLDates
			want  want
		}{{CRLDatesEnforced, tt.enforced}, {CRLDatesStaleWarns, tt.staleOK}} {
			t.Run(tt.name+"/"+p.dates.String(), func(t *testing.T) {
				opts := &Options{TEE: attest.TEESGX, Collateral: tt.src, CRLDates: p.dates}
				crl, warnings, err := fetchCRL(context.Background(), opts, collateral.Request{Kind: collateral.KindPCKCRL}, "pck_crl", ca.cert, fakeNow)
				if p.want.field != "" {
					var ce *attest.CheckError
					if attest.Class(err) != attest.ErrCollateral || !errors.As(err, &ce) || ce.Field != p.want.field {
						t.Fatalf("err = %v, want ErrCollateral on %q", err, p.want.field)
					}
					return
				}
				if err != nil || crl == nil {
					t.Fatalf("crl %v, err %v", crl, err)
				}
				if got := strings.Join(warnings, "; "); (p.want.warn == "") != (got == "") || !strings.HasPrefix(got, p.want.warn) {
					t.Errorf("warnings %q, want %q", got, p.want.warn)
				}
			})
		}
	}
	// Not found is no CRL, no warning and no error: the caller warns.
	for _, dates := range []CRLDates{CRLDatesEnforced, CRLDatesStaleWarns} {
		opts := &Options{TEE: attest.TEESGX, Collateral: source{}, CRLDates: dates}
		if crl, w, err := fetchCRL(context.Background(), opts, collateral.Request{Kind: collateral.KindPCKCRL}, "pck_crl", ca.cert, fakeNow); crl != nil || w != nil || err != nil {
			t.Errorf("%v: not found gave %v, %q, %v", dates, crl, w, err)
		}
	}
}

func TestCheckNotRevoked(t *testing.T) {
	ca := newCA(t, CNPlatformCA, nil)
	crl, err := x509.ParseRevocationList(ca.crl(t, fakeNow, fakeNow.Add(time.Hour), 7, 9))
	if err != nil {
		t.Fatal(err)
	}
	for serial, revoked := range map[int64]bool{7: true, 8: false, 9: true} {
		err := checkNotRevoked(attest.ErrCertificate, crl, "pck", &x509.Certificate{SerialNumber: big.NewInt(serial)})
		var ce *attest.CheckError
		if revoked != (err != nil) || (revoked && (!errors.Is(err, attest.ErrCertificate) || !errors.As(err, &ce) || ce.Field != "pck.serialNumber")) {
			t.Errorf("serial %d: %v", serial, err)
		}
	}
}

// FuzzParseCRL checks that the CRL parser never panics. The committed
// corpus holds Intel's PCK Platform CA and root CA CRLs, as go-tdx-guest
// ships them.
func FuzzParseCRL(f *testing.F) {
	ca := newCA(f, CNPlatformCA, nil)
	f.Add(ca.crl(f, fakeNow, fakeNow.Add(time.Hour), 1, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCRL(b)
		if err == nil && c == nil {
			t.Fatal("nil CRL without error")
		}
	})
}
