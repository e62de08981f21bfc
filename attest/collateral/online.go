package collateral

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Vendor endpoints Online uses by default.
const (
	// DefaultIntelPCS is Intel's Provisioning Certification Service.
	DefaultIntelPCS = "https://api.trustedservices.intel.com"
	// DefaultIntelRootCRL is the CRL of the Intel SGX Root CA.
	DefaultIntelRootCRL = "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
	// DefaultAMDKDS is AMD's Key Distribution Service.
	DefaultAMDKDS = "https://kdsintf.amd.com"
)

// Getter fetches a URL. It is how Online reaches the network, so that the
// caller decides on transport, proxies, timeouts and retries.
type Getter interface {
	// Get returns the body and header of a successful (2xx) response to a
	// GET of url. A 404 is an error wrapping ErrNotFound. Bodies larger
	// than MaxItemSize are an error.
	Get(ctx context.Context, url string) ([]byte, http.Header, error)
}

// HTTPGetter is a Getter over an *http.Client. It reads at most
// MaxItemSize bytes of a body and refuses responses that arrive over plain
// HTTP (after redirects).
type HTTPGetter struct {
	// Client sends the requests. Required: a nil Client is an error, never
	// http.DefaultClient, so that no verifier reaches the network unless
	// its caller gave it a client.
	Client *http.Client
}

// Get implements Getter.
func (g HTTPGetter) Get(ctx context.Context, rawURL string) ([]byte, http.Header, error) {
	if g.Client == nil {
		return nil, nil, errors.New("collateral: HTTPGetter has no Client")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("collateral: %w", err)
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("collateral: %w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.Request != nil && resp.Request.URL.Scheme != "https" {
		return nil, nil, fmt.Errorf("collateral: GET %s: answered over %s, want https", rawURL, resp.Request.URL.Scheme)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, nil, fmt.Errorf("collateral: GET %s: %s: %w", rawURL, resp.Status, ErrNotFound)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		// Throttled or down: try again later; not a verdict on the evidence.
		return nil, nil, fmt.Errorf("collateral: GET %s: %s: %w", rawURL, resp.Status, ErrUnavailable)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, nil, fmt.Errorf("collateral: GET %s: %s", rawURL, resp.Status)
	}
	// Read one byte past the limit to tell "exactly at the limit" from
	// "over it" without trusting Content-Length.
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxItemSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("collateral: GET %s: %w", rawURL, err)
	}
	if len(body) > MaxItemSize {
		return nil, nil, fmt.Errorf("collateral: GET %s: body exceeds %d bytes", rawURL, MaxItemSize)
	}
	return body, resp.Header, nil
}

// Online fetches collateral from the vendors' services: Intel PCS (API v4)
// for SGX and TDX, AMD KDS for SEV-SNP, and any HTTPS JWKS or OpenID
// configuration URL. It returns what the vendor serves, unchanged and
// unverified; verifiers check signatures and validity. Only https URLs are
// fetched.
//
// Online does not retry or rate-limit: AMD's KDS answers repeated requests
// with HTTP 429, so put a Cache in front of it.
type Online struct {
	// Getter performs the requests. Required.
	Getter Getter
	// IntelPCS is the PCS base URL. Empty means DefaultIntelPCS.
	IntelPCS string
	// IntelRootCRL is the Intel SGX Root CA CRL URL. Empty means
	// DefaultIntelRootCRL.
	IntelRootCRL string
	// AMDKDS is the KDS base URL. Empty means DefaultAMDKDS.
	AMDKDS string
}

// Intel PCS v4 response headers that carry the signing chain of TCB info
// and of QE identity, URL-encoded PEM (Intel PCS API v4 specification).
const (
	headerTCBInfoChain    = "TCB-Info-Issuer-Chain"
	headerTCBInfoChainV3  = "SGX-TCB-Info-Issuer-Chain"
	headerQEIdentityChain = "SGX-Enclave-Identity-Issuer-Chain"
)

// wellKnownOpenID is the OpenID Connect Discovery path of an issuer's
// configuration.
const wellKnownOpenID = "/.well-known/openid-configuration"

// Fetch implements Source.
func (o *Online) Fetch(ctx context.Context, req Request) ([]byte, error) {
	if o.Getter == nil {
		return nil, errors.New("collateral: Online has no Getter")
	}
	switch req.Kind {
	case KindTCBInfo:
		u, err := o.tcbInfoURL(req)
		if err != nil {
			return nil, err
		}
		body, _, err := o.get(ctx, u)
		return body, err
	case KindQEIdentity:
		u, err := o.qeIdentityURL(req)
		if err != nil {
			return nil, err
		}
		body, _, err := o.get(ctx, u)
		return body, err
	case KindTCBSigningChain:
		return o.signingChain(ctx, req)
	case KindPCKCRL:
		if req.CA != "processor" && req.CA != "platform" {
			return nil, fmt.Errorf("collateral: PCK CRL: CA %q, want processor or platform", req.CA)
		}
		body, _, err := o.get(ctx, o.pcs()+"/sgx/certification/v4/pckcrl?ca="+req.CA+"&encoding=der")
		return body, err
	case KindRootCRL:
		body, _, err := o.get(ctx, or(o.IntelRootCRL, DefaultIntelRootCRL))
		return body, err
	case KindAMDCRL:
		product, err := amdProduct(req.Product)
		if err != nil {
			return nil, err
		}
		body, _, err := o.get(ctx, o.kds()+"/vcek/v1/"+product.name+"/crl")
		return body, err
	case KindVCEK:
		u, err := o.vcekURL(req)
		if err != nil {
			return nil, err
		}
		body, _, err := o.get(ctx, u)
		return body, err
	case KindASKARK:
		product, err := amdProduct(req.Product)
		if err != nil {
			return nil, err
		}
		body, _, err := o.get(ctx, o.kds()+"/vcek/v1/"+product.name+"/cert_chain")
		return body, err
	case KindJWKS:
		return o.jwks(ctx, req.URL)
	case KindNVIDIACertChain:
		// The GPU hands its own chain over with its evidence.
		return nil, fmt.Errorf("collateral: %v is not served online: %w", req.Kind, ErrNotFound)
	default:
		return nil, fmt.Errorf("collateral: invalid kind %v", req.Kind)
	}
}

func (o *Online) pcs() string { return strings.TrimSuffix(or(o.IntelPCS, DefaultIntelPCS), "/") }
func (o *Online) kds() string { return strings.TrimSuffix(or(o.AMDKDS, DefaultAMDKDS), "/") }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// get fetches an https URL through the Getter and bounds the body, whatever
// the Getter does.
func (o *Online) get(ctx context.Context, rawURL string) ([]byte, http.Header, error) {
	if err := requireHTTPS(rawURL); err != nil {
		return nil, nil, err
	}
	body, h, err := o.Getter.Get(ctx, rawURL)
	if err != nil {
		return nil, nil, err
	}
	if len(body) > MaxItemSize {
		return nil, nil, fmt.Errorf("collateral: GET %s: body is %d bytes, limit %d", rawURL, len(body), MaxItemSize)
	}
	return body, h, nil
}

// requireHTTPS refuses anything but an absolute https URL with a host: the
// collateral is signed, but a JWKS is not, and plain HTTP would also leak
// which platforms a verifier sees.
func requireHTTPS(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("collateral: URL %q: %w", rawURL, err)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Errorf("collateral: URL %q: want https://host/…", rawURL)
	}
	return nil
}

// intelTEE checks the Intel TEE a request names: "sgx" or "tdx".
func intelTEE(req Request) (string, error) {
	if req.TEE != "sgx" && req.TEE != "tdx" {
		return "", fmt.Errorf("collateral: %v: TEE %q, want sgx or tdx", req.Kind, req.TEE)
	}
	return req.TEE, nil
}

// fmspcLen is the size of an FMSPC (Intel SGX PCK certificate extensions).
const fmspcLen = 6

func (o *Online) tcbInfoURL(req Request) (string, error) {
	tee, err := intelTEE(req)
	if err != nil {
		return "", err
	}
	b, err := hex.DecodeString(req.FMSPC)
	if err != nil || len(b) != fmspcLen {
		return "", fmt.Errorf("collateral: %v: FMSPC %q, want %d hex bytes", req.Kind, req.FMSPC, fmspcLen)
	}
	return o.pcs() + "/" + tee + "/certification/v4/tcb?fmspc=" + strings.ToUpper(hex.EncodeToString(b)), nil
}

func (o *Online) qeIdentityURL(req Request) (string, error) {
	tee, err := intelTEE(req)
	if err != nil {
		return "", err
	}
	return o.pcs() + "/" + tee + "/certification/v4/qe/identity", nil
}

// signingChain serves KindTCBSigningChain. PCS does not publish the chain
// as a document: it sends it, URL-encoded, in a header of the TCB info (when
// the request names an FMSPC) or QE identity response.
func (o *Online) signingChain(ctx context.Context, req Request) ([]byte, error) {
	var (
		u       string
		err     error
		headers []string
	)
	if req.FMSPC != "" {
		u, err = o.tcbInfoURL(req)
		headers = []string{headerTCBInfoChain, headerTCBInfoChainV3}
	} else {
		u, err = o.qeIdentityURL(req)
		headers = []string{headerQEIdentityChain}
	}
	if err != nil {
		return nil, err
	}
	_, h, err := o.get(ctx, u)
	if err != nil {
		return nil, err
	}
	var enc string
	for _, name := range headers {
		if enc = h.Get(name); enc != "" {
			break
		}
	}
	if enc == "" {
		return nil, fmt.Errorf("collateral: GET %s: no %s header", u, headers[0])
	}
	// RFC 3986 percent-encoding: PathUnescape keeps a literal "+" (which
	// base64 uses) instead of turning it into a space.
	chain, err := url.PathUnescape(enc)
	if err != nil {
		return nil, fmt.Errorf("collateral: GET %s: %s header: %w", u, headers[0], err)
	}
	if len(chain) > MaxItemSize {
		return nil, fmt.Errorf("collateral: GET %s: %s header exceeds %d bytes", u, headers[0], MaxItemSize)
	}
	if b, _ := pem.Decode([]byte(chain)); b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("collateral: GET %s: %s header holds no PEM certificate", u, headers[0])
	}
	return []byte(chain), nil
}

// amdProductLine describes one AMD product line's KDS conventions.
type amdProductLine struct {
	name string
	// hwidLen is how much of CHIP_ID names the chip in VCEK URLs: Turin
	// uses the first 8 bytes only.
	hwidLen int
	// turinTCB is true for the family 1Ah TCB_VERSION layout (FMC in byte
	// 0; BOOT_LOADER, TEE, SNP in bytes 1-3), false for family 19h
	// (BOOT_LOADER, TEE in bytes 0-1; SNP in byte 6). MICROCODE is byte 7
	// in both. (SEV-SNP firmware ABI specification 56860, TCB_VERSION.)
	turinTCB bool
}

// amdProduct accepts only the product lines whose conventions are known:
// a name from the request ends up in a URL path.
func amdProduct(name string) (amdProductLine, error) {
	switch name {
	case "Milan", "Genoa":
		return amdProductLine{name: name, hwidLen: 64}, nil
	case "Turin":
		return amdProductLine{name: name, hwidLen: 8, turinTCB: true}, nil
	}
	return amdProductLine{}, fmt.Errorf("collateral: AMD product line %q, want Milan, Genoa or Turin", name)
}

// chipIDLen is the size of an SEV-SNP report's CHIP_ID.
const chipIDLen = 64

func (o *Online) vcekURL(req Request) (string, error) {
	product, err := amdProduct(req.Product)
	if err != nil {
		return "", err
	}
	if len(req.ChipID) != chipIDLen {
		return "", fmt.Errorf("collateral: VCEK: chip ID is %d bytes, want %d", len(req.ChipID), chipIDLen)
	}
	spl := func(i int) uint64 { return (req.ReportedTCB >> (8 * i)) & 0xff }
	var q string
	if product.turinTCB {
		q = fmt.Sprintf("fmcSPL=%d&blSPL=%d&teeSPL=%d&snpSPL=%d&ucodeSPL=%d", spl(0), spl(1), spl(2), spl(3), spl(7))
	} else {
		q = fmt.Sprintf("blSPL=%d&teeSPL=%d&snpSPL=%d&ucodeSPL=%d", spl(0), spl(1), spl(6), spl(7))
	}
	return o.kds() + "/vcek/v1/" + product.name + "/" + hex.EncodeToString(req.ChipID[:product.hwidLen]) + "?" + q, nil
}

// jwks fetches a JSON Web Key Set from rawURL, or, when rawURL is an OpenID
// configuration, from its jwks_uri. The configuration's issuer must be the
// URL it was fetched from, less the well-known suffix (OpenID Connect
// Discovery 1.0, section 4.3), so a configuration cannot speak for another
// issuer.
func (o *Online) jwks(ctx context.Context, rawURL string) ([]byte, error) {
	if err := requireHTTPS(rawURL); err != nil {
		return nil, err
	}
	u, _ := url.Parse(rawURL) // parsed by requireHTTPS
	if strings.HasSuffix(u.Path, wellKnownOpenID) {
		body, _, err := o.get(ctx, rawURL)
		if err != nil {
			return nil, err
		}
		var cfg struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(body, &cfg); err != nil {
			return nil, fmt.Errorf("collateral: OpenID configuration %s: %w", rawURL, err)
		}
		issuer := url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, wellKnownOpenID)}
		want := strings.TrimSuffix(issuer.String(), "/")
		if strings.TrimSuffix(cfg.Issuer, "/") != want {
			return nil, fmt.Errorf("collateral: OpenID configuration %s: issuer %q, want %q", rawURL, cfg.Issuer, want)
		}
		if cfg.JWKSURI == "" {
			return nil, fmt.Errorf("collateral: OpenID configuration %s has no jwks_uri", rawURL)
		}
		rawURL = cfg.JWKSURI
	}
	body, _, err := o.get(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || set.Keys == nil {
		return nil, fmt.Errorf("collateral: JWKS %s: not a JSON object with a keys array", rawURL)
	}
	return body, nil
}
