package collateral

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-sev-guest/kds"
)

// vendor is a fake Intel PCS + AMD KDS + OpenID issuer on a loopback TLS
// server. It answers every path in bodies with that body, and records the
// request URIs.
type vendor struct {
	srv     *httptest.Server
	mu      sync.Mutex
	seen    []string          // guarded by mu
	bodies  map[string]string // request URI → body
	headers map[string]http.Header
}

func newVendor(t *testing.T) *vendor {
	t.Helper()
	v := &vendor{bodies: map[string]string{}, headers: map[string]http.Header{}}
	v.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		v.seen = append(v.seen, r.URL.RequestURI())
		v.mu.Unlock()
		body, ok := v.bodies[r.URL.RequestURI()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		for k, vs := range v.headers[r.URL.RequestURI()] {
			w.Header()[k] = vs
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *vendor) online() *Online {
	return &Online{
		Getter:       HTTPGetter{Client: v.srv.Client()},
		IntelPCS:     v.srv.URL,
		IntelRootCRL: v.srv.URL + "/IntelSGXRootCA.der",
		AMDKDS:       v.srv.URL,
	}
}

func (v *vendor) last() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.seen) == 0 {
		return ""
	}
	return v.seen[len(v.seen)-1]
}

func TestOnlineURLs(t *testing.T) {
	chipID := bytes.Repeat([]byte{0xab}, 64)
	chipIDHex := hex.EncodeToString(chipID)
	const tcb = 0xd315000000000a04 // byte0 04, byte1 0a, byte6 15, byte7 d3
	for _, tc := range []struct {
		name string
		req  Request
		uri  string
	}{
		{"sgx tcb info", Request{Kind: KindTCBInfo, TEE: "sgx", FMSPC: "00606a000000"}, "/sgx/certification/v4/tcb?fmspc=00606A000000"},
		{"tdx tcb info", Request{Kind: KindTCBInfo, TEE: "tdx", FMSPC: "C0806F000000"}, "/tdx/certification/v4/tcb?fmspc=C0806F000000"},
		{"sgx qe identity", Request{Kind: KindQEIdentity, TEE: "sgx"}, "/sgx/certification/v4/qe/identity"},
		{"tdx qe identity", Request{Kind: KindQEIdentity, TEE: "tdx"}, "/tdx/certification/v4/qe/identity"},
		{"pck crl processor", Request{Kind: KindPCKCRL, CA: "processor"}, "/sgx/certification/v4/pckcrl?ca=processor&encoding=der"},
		{"pck crl platform", Request{Kind: KindPCKCRL, CA: "platform"}, "/sgx/certification/v4/pckcrl?ca=platform&encoding=der"},
		{"intel root crl", Request{Kind: KindRootCRL, TEE: "sgx"}, "/IntelSGXRootCA.der"},
		{"amd crl", Request{Kind: KindAMDCRL, Product: "Genoa"}, "/vcek/v1/Genoa/crl"},
		{"amd cert chain", Request{Kind: KindASKARK, Product: "Milan"}, "/vcek/v1/Milan/cert_chain"},
		{"milan vcek", Request{Kind: KindVCEK, Product: "Milan", ChipID: chipID, ReportedTCB: tcb},
			"/vcek/v1/Milan/" + chipIDHex + "?blSPL=4&teeSPL=10&snpSPL=21&ucodeSPL=211"},
		{"turin vcek", Request{Kind: KindVCEK, Product: "Turin", ChipID: chipID, ReportedTCB: 0xd3000000_1b0a0401},
			"/vcek/v1/Turin/abababababababab?fmcSPL=1&blSPL=4&teeSPL=10&snpSPL=27&ucodeSPL=211"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVendor(t)
			v.bodies[tc.uri] = "item:" + tc.name
			got, err := v.online().Fetch(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("Fetch: %v (requested %q)", err, v.last())
			}
			if string(got) != "item:"+tc.name {
				t.Errorf("body = %q", got)
			}
			if v.last() != tc.uri {
				t.Errorf("requested %q, want %q", v.last(), tc.uri)
			}
		})
	}
}

func TestOnlineVCEKURLMatchesGoSevGuest(t *testing.T) {
	// go-sev-guest builds the same URL for family 19h parts.
	chipID := bytes.Repeat([]byte{0x5a}, 64)
	const tcb = 0x4405000000000002
	o := &Online{Getter: HTTPGetter{}}
	for _, product := range []string{"Milan", "Genoa"} {
		got, err := o.vcekURL(Request{Kind: KindVCEK, Product: product, ChipID: chipID, ReportedTCB: tcb})
		if err != nil {
			t.Fatal(err)
		}
		if want := kds.VCEKCertURL(product, chipID, kds.TCBVersion(tcb)); got != want {
			t.Errorf("%s: %s, want %s", product, got, want)
		}
	}
}

func TestOnlineSigningChainHeader(t *testing.T) {
	// A PEM chain with a "+" and a "/" in its base64, as real ones have.
	chain := "-----BEGIN CERTIFICATE-----\nMIIB+/zz\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nMIIC+/yy\n-----END CERTIFICATE-----\n"
	enc := url.PathEscape(chain) // RFC 3986: spaces as %20, "+" kept
	for _, tc := range []struct {
		name   string
		req    Request
		uri    string
		header string
	}{
		{"from tcb info", Request{Kind: KindTCBSigningChain, TEE: "tdx", FMSPC: "C0806F000000"}, "/tdx/certification/v4/tcb?fmspc=C0806F000000", "TCB-Info-Issuer-Chain"},
		{"from tcb info, v3 header", Request{Kind: KindTCBSigningChain, TEE: "sgx", FMSPC: "00606A000000"}, "/sgx/certification/v4/tcb?fmspc=00606A000000", "SGX-TCB-Info-Issuer-Chain"},
		{"from qe identity", Request{Kind: KindTCBSigningChain, TEE: "sgx"}, "/sgx/certification/v4/qe/identity", "SGX-Enclave-Identity-Issuer-Chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVendor(t)
			v.bodies[tc.uri] = `{"tcbInfo":{}}`
			v.headers[tc.uri] = http.Header{tc.header: {enc}}
			got, err := v.online().Fetch(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != chain {
				t.Errorf("chain = %q, want %q", got, chain)
			}
		})
	}
	t.Run("no header", func(t *testing.T) {
		v := newVendor(t)
		v.bodies["/sgx/certification/v4/qe/identity"] = "{}"
		if _, err := v.online().Fetch(context.Background(), Request{Kind: KindTCBSigningChain, TEE: "sgx"}); err == nil || !strings.Contains(err.Error(), "SGX-Enclave-Identity-Issuer-Chain") {
			t.Fatalf("err = %v, want a missing-header error", err)
		}
	})
	t.Run("not PEM", func(t *testing.T) {
		v := newVendor(t)
		v.bodies["/sgx/certification/v4/qe/identity"] = "{}"
		v.headers["/sgx/certification/v4/qe/identity"] = http.Header{"SGX-Enclave-Identity-Issuer-Chain": {"garbage"}}
		if _, err := v.online().Fetch(context.Background(), Request{Kind: KindTCBSigningChain, TEE: "sgx"}); err == nil {
			t.Fatal("accepted a header without PEM")
		}
	})
}

func TestOnlineJWKS(t *testing.T) {
	const jwks = `{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`
	t.Run("openid configuration", func(t *testing.T) {
		v := newVendor(t)
		v.bodies["/.well-known/openid-configuration"] = `{"issuer":"` + v.srv.URL + `","jwks_uri":"` + v.srv.URL + `/certs"}`
		v.bodies["/certs"] = jwks
		got, err := v.online().Fetch(context.Background(), Request{Kind: KindJWKS, URL: v.srv.URL + "/.well-known/openid-configuration"})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != jwks {
			t.Errorf("jwks = %q", got)
		}
	})
	t.Run("issuer with path", func(t *testing.T) {
		v := newVendor(t)
		v.bodies["/tenant/.well-known/openid-configuration"] = `{"issuer":"` + v.srv.URL + `/tenant/","jwks_uri":"` + v.srv.URL + `/certs"}`
		v.bodies["/certs"] = jwks
		if _, err := v.online().Fetch(context.Background(), Request{Kind: KindJWKS, URL: v.srv.URL + "/tenant/.well-known/openid-configuration"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("direct", func(t *testing.T) {
		v := newVendor(t)
		v.bodies["/certs"] = jwks
		if _, err := v.online().Fetch(context.Background(), Request{Kind: KindJWKS, URL: v.srv.URL + "/certs"}); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name string
		cfg  func(base string) string
		url  func(base string) string
	}{
		{"http jwks_uri", func(b string) string {
			return `{"issuer":"` + b + `","jwks_uri":"` + strings.Replace(b, "https:", "http:", 1) + `/certs"}`
		}, nil},
		{"foreign issuer", func(b string) string { return `{"issuer":"https://evil.example","jwks_uri":"` + b + `/certs"}` }, nil},
		{"no jwks_uri", func(b string) string { return `{"issuer":"` + b + `"}` }, nil},
		{"not json", func(string) string { return `<html>` }, nil},
		{"http configuration URL", nil, func(b string) string {
			return strings.Replace(b, "https:", "http:", 1) + "/.well-known/openid-configuration"
		}},
		{"not a key set", nil, func(b string) string { return b + "/notjwks" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVendor(t)
			if tc.cfg != nil {
				v.bodies["/.well-known/openid-configuration"] = tc.cfg(v.srv.URL)
			}
			v.bodies["/certs"] = jwks
			v.bodies["/notjwks"] = `{"foo":1}`
			u := v.srv.URL + "/.well-known/openid-configuration"
			if tc.url != nil {
				u = tc.url(v.srv.URL)
			}
			if got, err := v.online().Fetch(context.Background(), Request{Kind: KindJWKS, URL: u}); err == nil {
				t.Fatalf("accepted: %q", got)
			}
		})
	}
}

func TestOnlineErrors(t *testing.T) {
	v := newVendor(t)
	big := strings.Repeat("x", MaxItemSize+1)
	v.bodies["/vcek/v1/Milan/cert_chain"] = big
	o := v.online()
	ctx := context.Background()

	if _, err := o.Fetch(ctx, Request{Kind: KindASKARK, Product: "Genoa"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("404: err = %v, want ErrNotFound", err)
	}
	if _, err := o.Fetch(ctx, Request{Kind: KindASKARK, Product: "Milan"}); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("oversized body: err = %v", err)
	}
	if _, err := o.Fetch(ctx, Request{Kind: KindNVIDIACertChain}); !errors.Is(err, ErrNotFound) {
		t.Errorf("nvidia: err = %v, want ErrNotFound", err)
	}

	// A Getter that ignores the limit is bounded by Online itself.
	greedy := &Online{Getter: getterFunc(func(context.Context, string) ([]byte, http.Header, error) {
		return []byte(big), nil, nil
	})}
	if _, err := greedy.Fetch(ctx, Request{Kind: KindASKARK, Product: "Milan"}); err == nil {
		t.Error("oversized body from a custom Getter accepted")
	}

	for _, tc := range []struct {
		name string
		o    *Online
		req  Request
	}{
		{"nil getter", &Online{}, Request{Kind: KindASKARK, Product: "Milan"}},
		{"nil client", &Online{Getter: HTTPGetter{}}, Request{Kind: KindASKARK, Product: "Milan"}},
		{"http base", &Online{Getter: HTTPGetter{Client: v.srv.Client()}, AMDKDS: strings.Replace(v.srv.URL, "https:", "http:", 1)}, Request{Kind: KindASKARK, Product: "Milan"}},
		{"bad tee", o, Request{Kind: KindTCBInfo, TEE: "sev", FMSPC: "00606A000000"}},
		{"bad fmspc", o, Request{Kind: KindTCBInfo, TEE: "sgx", FMSPC: "00606A/../x"}},
		{"short fmspc", o, Request{Kind: KindTCBInfo, TEE: "sgx", FMSPC: "0060"}},
		{"bad ca", o, Request{Kind: KindPCKCRL, CA: "root"}},
		{"bad product", o, Request{Kind: KindASKARK, Product: "../../etc"}},
		{"short chip id", o, Request{Kind: KindVCEK, Product: "Milan", ChipID: []byte{1, 2}}},
		{"invalid kind", o, Request{Kind: KindInvalid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := tc.o.Fetch(ctx, tc.req); err == nil {
				t.Fatalf("accepted: %q", got)
			}
		})
	}
}

func TestHTTPGetterRefusesRedirectToHTTP(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("plain")) }))
	defer plain.Close()
	tls := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/x", http.StatusFound))
	defer tls.Close()
	if _, _, err := (HTTPGetter{Client: tls.Client()}).Get(context.Background(), tls.URL); err == nil {
		t.Fatal("followed a redirect to http")
	}
}

func TestHTTPGetterStatus(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, _, err := (HTTPGetter{Client: srv.Client()}).Get(context.Background(), srv.URL)
	if err == nil || errors.Is(err, ErrNotFound) || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "429") {
		t.Fatalf("err = %v, want a 429 ErrUnavailable that is not ErrNotFound", err)
	}
}

type getterFunc func(context.Context, string) ([]byte, http.Header, error)

func (f getterFunc) Get(ctx context.Context, u string) ([]byte, http.Header, error) { return f(ctx, u) }
