package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/coordinator/api"
)

// Options configure a Client. The zero values of the optional fields select
// the defaults their comments give.
type Options struct {
	// Registry verifies the coordinator's evidence. Non-nil unless Root is
	// set.
	Registry *attest.Registry
	// Collateral feeds the verifiers of hardware formats, or nil (sim needs
	// none; hardware formats refuse without it).
	Collateral collateral.Source
	// Policy holds the reference values the coordinator's claims must
	// satisfy (appraise.Appraise must accept them). Nil only with
	// InsecureSimulation, and then only sim evidence is accepted.
	Policy *appraise.Policy
	// InsecureSimulation accepts sim.v1 evidence. Development only: a
	// simulated coordinator protects nothing. Default false.
	InsecureSimulation bool
	// Root is a coordinator root certificate pinned earlier (from a
	// verified session, or out of band). When set, the client skips
	// attestation and trusts the server certificates the root issued
	// directly. Or nil.
	Root *x509.Certificate
	// Certificate is the user's or workload's TLS client certificate, or
	// nil. It is only ever presented to a verified coordinator.
	Certificate *tls.Certificate
	// GetCertificate, if set, returns the client certificate instead of
	// Certificate, asked before each request: a supervised workload's
	// certificate is renewed (and the old one refused) while the program
	// runs. When the certificate it returns changes, later requests go
	// over new connections that present it (requests in flight finish on
	// theirs). An error fails the request, wrapping it.
	GetCertificate func() (*tls.Certificate, error)
	// Timeout bounds each request (streams: until the response headers).
	// Default 30 s.
	Timeout time.Duration
	// Now returns the current time for certificate validity and appraisal;
	// nil means time.Now, read at each use.
	Now func() time.Time
}

// Client is a client of one coordinator. Its methods verify the coordinator
// (Verify) before their first request. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	opts      Options
	bootstrap *http.Client // GET /v1/attestation only: no client certificate

	// verifyLock is a one-slot semaphore serializing Verify, so that
	// concurrent first calls attest once; a channel, so waiting honours
	// the caller's context.
	verifyLock chan struct{}
	state      atomic.Pointer[verified]
	// simulation is set by sim evidence or by any response that carries
	// the api.HeaderSimulation header.
	simulation atomic.Bool
}

// verified is what Verify established; immutable once stored.
type verified struct {
	root *x509.Certificate
	// cert is the client certificate this state's connections present,
	// or nil; tr carries them.
	cert   *tls.Certificate
	tr     *http.Transport
	http   *http.Client // bounded by Options.Timeout
	stream *http.Client // no overall timeout: audit log streams
}

// New returns a client of the coordinator at baseURL (https://host:port,
// optionally with a path prefix). It makes no request.
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	// TLS is the channel the attestation vouches for; plain http would
	// leave nothing to vouch for.
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: base URL %q: want https://host[:port][/prefix]", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	switch {
	case opts.Root != nil:
		if err := checkRootShape(opts.Root); err != nil {
			return nil, fmt.Errorf("client: pinned root: %w", err)
		}
	case opts.Registry == nil:
		return nil, errors.New("client: Options.Registry is nil and no Root is pinned")
	case opts.Policy == nil && !opts.InsecureSimulation:
		return nil, errors.New("client: Options.Policy is nil: a policy is required unless InsecureSimulation is set")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	c := &Client{base: u, opts: opts, verifyLock: make(chan struct{}, 1)}
	c.bootstrap = &http.Client{
		Timeout:       opts.Timeout,
		CheckRedirect: noRedirects,
		Transport: c.transport(&tls.Config{
			MinVersion: tls.VersionTLS12,
			// The server is not trusted yet: Verify checks the peer
			// certificates of this very connection (resp.TLS) against
			// the root the evidence binds, before anything is sent
			// that matters. No client certificate is offered here.
			InsecureSkipVerify: true,
		}),
	}
	if opts.Root != nil {
		c.state.Store(c.pinned(opts.Root, opts.Certificate))
	}
	return c, nil
}

func noRedirects(*http.Request, []*http.Request) error {
	return errors.New("client: the coordinator answered with a redirect; redirects are not followed")
}

func (c *Client) transport(cfg *tls.Config) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: c.opts.Timeout}).DialContext,
		TLSClientConfig:       cfg,
		TLSHandshakeTimeout:   c.opts.Timeout,
		ResponseHeaderTimeout: c.opts.Timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
}

// pinned returns the HTTP clients that trust only server certificates
// issued directly by root and present cert (if non-nil).
func (c *Client) pinned(root *x509.Certificate, cert *tls.Certificate) *verified {
	tr := c.transport(&tls.Config{
		MinVersion: tls.VersionTLS12,
		// The standard verification would also want the host name in the
		// certificate. The identity here is the root: verifyServer checks
		// the chain, on every connection, resumed ones included.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := checkServer(cs.PeerCertificates, root, c.now()); err != nil {
				return refuse("tls certificate", err)
			}
			return nil
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			// Present the certificate whatever CAs the server names:
			// user certificates are identified by their key, not by an
			// issuer the coordinator knows.
			if cert != nil {
				return cert, nil
			}
			return &tls.Certificate{}, nil
		},
	})
	return &verified{
		root:   root,
		cert:   cert,
		tr:     tr,
		http:   &http.Client{Transport: tr, Timeout: c.opts.Timeout, CheckRedirect: noRedirects},
		stream: &http.Client{Transport: tr, CheckRedirect: noRedirects},
	}
}

// current returns the verified state, moved to new connections first if
// Options.GetCertificate returns another certificate than they present.
// One transport per certificate: a connection's client certificate is
// fixed at its handshake, so a pool shared across certificates would keep
// presenting the superseded one.
func (c *Client) current() (*verified, error) {
	v := c.state.Load()
	if c.opts.GetCertificate == nil {
		return v, nil
	}
	cert, err := c.opts.GetCertificate()
	if err != nil {
		return nil, fmt.Errorf("client: client certificate: %w", err)
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, errors.New("client: client certificate: GetCertificate returned none")
	}
	if v.cert != nil && bytes.Equal(v.cert.Certificate[0], cert.Certificate[0]) {
		return v, nil
	}
	next := c.pinned(v.root, cert)
	if !c.state.CompareAndSwap(v, next) {
		// Another request moved first: use its state.
		next.tr.CloseIdleConnections()
		return c.state.Load(), nil
	}
	v.tr.CloseIdleConnections()
	return next, nil
}

func (c *Client) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

// Root returns the coordinator's root certificate once Verify succeeded
// (or the pinned root), else nil. Pin it to skip attestation later.
func (c *Client) Root() *x509.Certificate {
	if v := c.state.Load(); v != nil {
		return v.root
	}
	return nil
}

// Simulation reports whether the coordinator runs in SIMULATION: its
// evidence was sim.v1, or one of its responses said so. Callers must then
// warn that nothing is protected.
func (c *Client) Simulation() bool { return c.simulation.Load() }

// Verify establishes the coordinator's identity, once: it fetches the
// coordinator's evidence for a fresh nonce, verifies it (Options.Registry),
// refuses simulation unless InsecureSimulation, appraises the claims
// (Options.Policy), checks that the report data binds the nonce and the
// root certificate's key, and that the server certificate of the same TLS
// connection was issued by that root. From then on every request trusts
// only that root. Refusals are *RefusalError (errors.Is ErrRefused);
// transport failures and non-2xx answers (*APIError) are returned as such.
func (c *Client) Verify(ctx context.Context) error {
	if c.state.Load() != nil {
		return nil
	}
	select {
	case c.verifyLock <- struct{}{}:
		defer func() { <-c.verifyLock }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if c.state.Load() != nil {
		return nil
	}
	root, err := c.attest(ctx)
	if err != nil {
		return err
	}
	c.state.Store(c.pinned(root, c.opts.Certificate))
	c.bootstrap.CloseIdleConnections()
	return nil
}

func (c *Client) attest(ctx context.Context) (*x509.Certificate, error) {
	nonce := make([]byte, attest.NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("client: nonce: %w", err)
	}
	u := c.url(api.PathAttestation)
	u.RawQuery = url.Values{api.NonceQueryParam: {hex.EncodeToString(nonce)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	resp, err := c.bootstrap.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: attestation: %w", err)
	}
	defer resp.Body.Close()
	body, err := c.readResponse(resp, maxResponseBody)
	if err != nil {
		return nil, err
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil, refuse("tls certificate", fmt.Errorf("%w: no TLS server certificate", ErrCertificate))
	}
	ar, root, err := parseAttestation(body)
	if err != nil {
		return nil, refuse("response", err)
	}
	now := c.now()
	claims, err := c.opts.Registry.Verify(ctx, attest.Evidence{Format: ar.Evidence.Format, Payload: ar.Evidence.Data},
		attest.Options{Now: now, Collateral: c.opts.Collateral})
	if err != nil {
		if errors.Is(err, collateral.ErrUnavailable) {
			// No verdict: the vendor could not be reached.
			return nil, fmt.Errorf("client: coordinator evidence not judged: %w", err)
		}
		return nil, refuse("evidence", err)
	}
	// The binding first: evidence for another nonce or another root is a
	// replay or a relay, whatever its claims.
	if err := attest.CheckBinding(claims, nonce, root.RawSubjectPublicKeyInfo, nil); err != nil {
		return nil, refuse("binding", err)
	}
	sim := claims.TEE == attest.TEESim
	if sim && !c.opts.InsecureSimulation {
		return nil, refuse("simulation", ErrSimulation)
	}
	switch {
	case c.opts.Policy != nil:
		res := appraise.Appraise(claims, c.opts.Policy, now)
		if !res.Accepted() {
			return nil, &RefusalError{Check: "appraisal", Reasons: res.Reasons,
				Err: fmt.Errorf("%w %q: %s", ErrPolicy, c.opts.Policy.Name, res.Status)}
		}
	case !sim:
		// InsecureSimulation without a policy admits simulation only:
		// genuine hardware running unknown code is not the coordinator.
		return nil, refuse("appraisal", fmt.Errorf("%w: no policy for %s evidence", ErrPolicy, claims.TEE))
	}
	if err := checkRootShape(root); err != nil {
		return nil, refuse("root certificate", err)
	}
	// The same connection's server certificate: the endpoint that sent
	// the evidence holds a key the attested root certified.
	if err := checkServer(resp.TLS.PeerCertificates, root, now); err != nil {
		return nil, refuse("tls certificate", err)
	}
	if sim {
		c.simulation.Store(true)
	}
	return root, nil
}

// parseAttestation decodes an attestation response and its root
// certificate. The bytes are untrusted: the evidence proves nothing until
// verified.
func parseAttestation(body []byte) (*api.AttestationResponse, *x509.Certificate, error) {
	var ar api.AttestationResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ar); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrResponse, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: trailing data", ErrResponse)
	}
	if ar.Evidence.Format == "" || len(ar.Evidence.Data) == 0 {
		return nil, nil, fmt.Errorf("%w: no evidence", ErrResponse)
	}
	root, err := x509.ParseCertificate(ar.RootCertificate)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: root certificate: %w", ErrResponse, err)
	}
	return &ar, root, nil
}

// checkRootShape checks that root can be a root CA at all.
func checkRootShape(root *x509.Certificate) error {
	if !root.BasicConstraintsValid || !root.IsCA {
		return fmt.Errorf("%w: the root certificate is not a CA", ErrCertificate)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		return fmt.Errorf("%w: the root certificate is not self-signed: %w", ErrCertificate, err)
	}
	return nil
}

// checkServer accepts a TLS server certificate only if root issued it
// directly, for server authentication, and both are valid at now.
//
// Directly: the root also certifies the per-manifest intermediates, and
// those issue workload certificates and x509 secrets whose DNS names the
// manifest's authors choose. Any of those, presented as a server
// certificate, would impersonate the coordinator to every user if
// intermediates were allowed; the coordinator's own server certificate is
// the only leaf the root signs itself.
func checkServer(certs []*x509.Certificate, root *x509.Certificate, now time.Time) error {
	if len(certs) == 0 {
		return fmt.Errorf("%w: no certificate", ErrCertificate)
	}
	leaf := certs[0]
	if leaf.IsCA {
		return fmt.Errorf("%w: the server certificate is a CA", ErrCertificate)
	}
	if now.Before(root.NotBefore) || now.After(root.NotAfter) {
		return fmt.Errorf("%w: the root certificate is not valid at %s", ErrCertificate, now.UTC().Format(time.RFC3339))
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	// No Intermediates: the only chain Verify can build is leaf → root.
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:       pool,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	return nil
}

// url joins the base URL and an escaped path (names escaped by the
// callers, one segment each).
func (c *Client) url(escapedPath string) *url.URL {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + escapedPath
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		panic("client: bad escaped path " + u.RawPath) // programmer error: every path is built here
	}
	u.Path = p
	return &u
}

// readResponse reads a response of at most limit bytes, records the
// simulation header, and turns a non-2xx status into an *APIError.
func (c *Client) readResponse(resp *http.Response, limit int64) ([]byte, error) {
	c.noteSimulation(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, decodeAPIError(resp.StatusCode, b)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("client: read response: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("client: response larger than %d bytes", limit)
	}
	return b, nil
}

func (c *Client) noteSimulation(resp *http.Response) {
	if strings.EqualFold(resp.Header.Get(api.HeaderSimulation), "true") {
		c.simulation.Store(true)
	}
}

// send verifies the coordinator if needed and sends one request; in, if
// non-nil, is sent as JSON. The caller closes the body.
func (c *Client) send(ctx context.Context, stream bool, method, path string, query url.Values, in any) (*http.Response, error) {
	if err := c.Verify(ctx); err != nil {
		return nil, err
	}
	v, err := c.current()
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("client: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.url(path)
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := v.http
	if stream {
		hc = v.stream
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	return resp, nil
}

// call sends a request and decodes a JSON response into out (if non-nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	b, err := c.raw(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("client: %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// raw sends a request and returns the response body.
func (c *Client) raw(ctx context.Context, method, path string, query url.Values, in any) ([]byte, error) {
	resp, err := c.send(ctx, false, method, path, query, in)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return c.readResponse(resp, maxResponseBody)
}
