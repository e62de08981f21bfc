// Package client calls a cofre inference service as an attested caller:
// it verifies the service's tokens before sending anything, pins the TLS
// connection to the attested certificate key, seals request bodies to the
// attested HPKE key (the response is sealed back), and authenticates
// itself with its own token, bound to its TLS client certificate.
//
// What it does not do: fetch or refresh the caller's own token (Options.
// Token returns it: the coordinator issued it at activation), retry, or
// check which models the service runs beyond what the caller asks
// (Attested.Models gives their hashes to compare).
package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cofre-cc/cofre/infer/oip"
	"github.com/cofre-cc/cofre/infer/service"
	"github.com/cofre-cc/cofre/sealed"
	"github.com/cofre-cc/cofre/token"
)

// maxResponse bounds what the client reads from the service.
const maxResponse = 64 << 20

// ErrRefused wraps every refusal of the service's attestation: the client
// sends no data to a service it has not verified.
var ErrRefused = errors.New("client: the inference service's attestation was refused")

// Options configure a Client.
type Options struct {
	// URL is the service's base URL (https://host:port).
	URL string
	// Certificate is the caller's TLS client certificate (its workload
	// certificate); Token returns the caller's token, bound to it.
	Certificate *tls.Certificate
	// GetCertificate, if set, returns the client certificate instead of
	// Certificate, asked before each request: a supervised workload's
	// certificate is renewed while it runs. When the certificate changes,
	// later requests go over new connections that present it. An error
	// fails the request, wrapping it.
	GetCertificate func() (*tls.Certificate, error)
	Token          func() string
	// Service is the policy the service's tokens must meet: the
	// coordinator's keys and issuer, the accepted measurements,
	// simulation. Confirmation fields must be unset.
	Service token.Options
	// Plaintext sends bodies unsealed (over the attested TLS connection
	// only). Default: sealed.
	Plaintext bool
	// Timeout bounds each request (default 60 s).
	Timeout time.Duration
	// AttestationPath is where the service serves its tokens (default
	// service.PathAttestation); the care API serves them at
	// /api/attestation.
	AttestationPath string
}

// Attested is what the client verified about the service.
type Attested struct {
	// Claims of the HPKE-bound token (measurement, TEE, simulation…).
	Claims *token.Claims
	// Models maps each model the service loaded to its SHA-256 (hex),
	// from the token's runtime claims.
	Models map[string]string
	key    *sealed.PublicKey
	tlsKey crypto.PublicKey
}

// Client calls one inference service. It is safe for concurrent use.
type Client struct {
	opts Options
	http *http.Client

	mu       sync.Mutex
	attested *Attested
	pinned   crypto.PublicKey // the attested TLS key, once verified
}

// New returns a client; nothing is sent until Attest or Infer.
func New(opts Options) (*Client, error) {
	if !strings.HasPrefix(opts.URL, "https://") {
		return nil, fmt.Errorf("client: service URL %q: want https://", opts.URL)
	}
	if (opts.Certificate == nil && opts.GetCertificate == nil) || opts.Token == nil {
		return nil, errors.New("client: a client certificate and a token are required")
	}
	if opts.Service.ConfirmationKey != nil || opts.Service.ConfirmationCertificate != nil || len(opts.Service.ExpectedMeasurements) == 0 {
		return nil, errors.New("client: the service policy must name measurements and no confirmation key")
	}
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	if opts.AttestationPath == "" {
		opts.AttestationPath = service.PathAttestation
	}
	c := &Client{opts: opts}
	get := opts.GetCertificate
	if get == nil {
		get = func() (*tls.Certificate, error) { return opts.Certificate, nil }
	}
	c.http = &http.Client{
		Timeout:       opts.Timeout,
		Transport:     &rotatingTransport{get: get, make: c.transport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("client: redirects are not followed") },
	}
	return c, nil
}

// transport returns a transport whose connections present cert.
func (c *Client) transport(cert *tls.Certificate) *http.Transport {
	return &http.Transport{
		ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{
			MinVersion:   tls.VersionTLS13,
			Certificates: []tls.Certificate{*cert},
			// The service's identity is its attested key, not a CA's
			// say-so: the first connection is checked against the
			// service's TLS token (Attest), later ones against the key
			// it attested.
			InsecureSkipVerify: true,
			VerifyConnection:   c.verifyConnection,
		},
	}
}

// rotatingTransport sends each request over connections that present the
// current client certificate: one http.Transport per certificate, since a
// connection's certificate is fixed at its handshake and a shared pool
// would go on presenting a renewed (superseded, then expired) one.
// Requests in flight finish on their connections; the old transport's
// idle ones are closed.
type rotatingTransport struct {
	get  func() (*tls.Certificate, error)
	make func(*tls.Certificate) *http.Transport

	mu   sync.Mutex
	leaf []byte // the DER leaf tr presents
	tr   *http.Transport
}

func (t *rotatingTransport) current() (*http.Transport, error) {
	cert, err := t.get()
	if err != nil {
		return nil, fmt.Errorf("client: client certificate: %w", err)
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, errors.New("client: client certificate: none")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tr != nil && bytes.Equal(t.leaf, cert.Certificate[0]) {
		return t.tr, nil
	}
	if t.tr != nil {
		t.tr.CloseIdleConnections()
	}
	t.leaf, t.tr = cert.Certificate[0], t.make(cert)
	return t.tr, nil
}

func (t *rotatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr, err := t.current()
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // as RoundTrip must, even on error
		}
		return nil, err
	}
	return tr.RoundTrip(req)
}

// CloseIdleConnections closes the current transport's idle connections
// (http.Client.CloseIdleConnections calls it).
func (t *rotatingTransport) CloseIdleConnections() {
	t.mu.Lock()
	tr := t.tr
	t.mu.Unlock()
	if tr != nil {
		tr.CloseIdleConnections()
	}
}

func (c *Client) verifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("client: the service presented no certificate")
	}
	c.mu.Lock()
	pinned := c.pinned
	c.mu.Unlock()
	if pinned == nil {
		// Only Attest's own connection may be unpinned (it checks the
		// answer's certificate itself); nothing else is sent before a
		// successful attestation, nor after a failed one.
		return fmt.Errorf("%w: not attested", ErrRefused)
	}
	if eq, ok := pinned.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(cs.PeerCertificates[0].PublicKey) {
		return fmt.Errorf("%w: the TLS certificate's key is not the attested one", ErrRefused)
	}
	return nil
}

// Attest fetches and verifies the service's tokens: the TLS token must be
// bound to the certificate of the very connection it came over, the HPKE
// token must bind a usable key, and both must meet the service policy.
// Infer calls it once; call it again to re-verify (a new token, a
// restarted service).
func (c *Client) Attest(ctx context.Context) (*Attested, error) {
	// Whatever was verified before no longer holds until this succeeds.
	c.mu.Lock()
	c.pinned, c.attested = nil, nil
	c.mu.Unlock()
	c.http.CloseIdleConnections()
	// The attestation request goes over a connection of its own, checked
	// below against the TLS token it brings.
	cert, err := c.clientCertificate()
	if err != nil {
		return nil, err
	}
	tr := c.transport(cert)
	tr.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("client: the service presented no certificate")
		}
		return nil
	}
	tr.DisableKeepAlives = true
	defer tr.CloseIdleConnections()
	attestHTTP := &http.Client{Transport: tr, Timeout: c.opts.Timeout, CheckRedirect: c.http.CheckRedirect}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.opts.URL+c.opts.AttestationPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := attestHTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: attestation: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("client: attestation: status %d: %v", resp.StatusCode, err)
	}
	var a service.Attestation
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%w: attestation answer: %v", ErrRefused, err)
	}
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return nil, fmt.Errorf("%w: no TLS peer certificate", ErrRefused)
	}
	leaf := resp.TLS.PeerCertificates[0]
	o := c.opts.Service
	o.ConfirmationCertificate = leaf
	tlsClaims, err := token.Verify(ctx, a.TLSToken, o)
	if err != nil {
		return nil, fmt.Errorf("%w: tls_token: %w", ErrRefused, err)
	}
	o = c.opts.Service
	claims, err := token.Verify(ctx, a.Token, o)
	if err != nil {
		return nil, fmt.Errorf("%w: token: %w", ErrRefused, err)
	}
	// Both tokens must appraise the same workload.
	if m1, m2 := measurement(tlsClaims), measurement(claims); m1 == "" || m1 != m2 {
		return nil, fmt.Errorf("%w: the two tokens attest different workloads (%s, %s)", ErrRefused, m1, m2)
	}
	if claims.Confirmation == nil || len(claims.Confirmation.JWK) == 0 {
		return nil, fmt.Errorf("%w: token: no cnf jwk to seal to", ErrRefused)
	}
	key, err := sealed.ParsePublicJWK(claims.Confirmation.JWK)
	if err != nil {
		return nil, fmt.Errorf("%w: token: cnf: %w", ErrRefused, err)
	}
	at := &Attested{Claims: claims, Models: map[string]string{}, key: key, tlsKey: leaf.PublicKey}
	for k, v := range claims.Runtime {
		if name, ok := strings.CutPrefix(k, service.RuntimeClaimPrefix); ok {
			at.Models[name] = v
		}
	}
	c.mu.Lock()
	c.attested, c.pinned = at, leaf.PublicKey
	c.mu.Unlock()
	return at, nil
}

func measurement(c *token.Claims) string {
	if s, ok := c.Submods[token.PrimarySubmod]; ok && s.Claims != nil {
		return s.Claims.Measurement.String()
	}
	return ""
}

// clientCertificate returns the certificate to present now.
func (c *Client) clientCertificate() (*tls.Certificate, error) {
	if c.opts.GetCertificate != nil {
		cert, err := c.opts.GetCertificate()
		if err != nil {
			return nil, fmt.Errorf("client: client certificate: %w", err)
		}
		if cert == nil {
			return nil, errors.New("client: client certificate: none")
		}
		return cert, nil
	}
	return c.opts.Certificate, nil
}

// HTTPClient returns the client's HTTP client, which presents the caller's
// certificate and, once Attest succeeded, connects only to the attested
// TLS key: for other requests to the same service.
func (c *Client) HTTPClient() *http.Client { return c.http }

// APIError is a refusal or error the service answered with.
type APIError struct {
	Status int
	Body   string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("inference service: %d: %s", e.Status, e.Body)
}

// Infer runs model on inputs and returns its outputs.
func (c *Client) Infer(ctx context.Context, model string, inputs []oip.Tensor) ([]oip.Tensor, error) {
	c.mu.Lock()
	at := c.attested
	c.mu.Unlock()
	if at == nil {
		var err error
		if at, err = c.Attest(ctx); err != nil {
			return nil, err
		}
	}
	body, err := oip.EncodeInferRequest(&oip.InferRequest{Inputs: inputs})
	if err != nil {
		return nil, err
	}
	path := "/v2/models/" + model + "/infer"
	contentType := "application/json"
	var opener *sealed.ResponseOpener
	var reader io.Reader = bytes.NewReader(body)
	length := int64(len(body))
	if !c.opts.Plaintext {
		// Sent in two parts: a large ciphertext is not copied once more.
		prefix, ct, o, err := sealed.SealRequestParts(at.key, "POST "+path, body)
		if err != nil {
			return nil, err
		}
		opener, contentType = o, sealed.MediaType
		reader, length = io.MultiReader(bytes.NewReader(prefix), bytes.NewReader(ct)), int64(len(prefix)+len(ct))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.URL+path, reader)
	if err != nil {
		return nil, err
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", token.AuthScheme+" "+c.opts.Token())
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: infer: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("client: infer: %w", err)
	}
	if opener != nil && resp.Header.Get("Content-Type") == sealed.MediaType {
		if b, err = opener.Open(b); err != nil {
			return nil, fmt.Errorf("client: infer: the sealed answer does not open: %w", err)
		}
	} else if opener != nil && resp.StatusCode == http.StatusOK {
		return nil, errors.New("client: infer: a sealed request was answered in plaintext")
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &APIError{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	out, err := oip.DecodeInferResponse(b)
	if err != nil {
		return nil, fmt.Errorf("client: infer: %w", err)
	}
	return out.Outputs, nil
}

// Attested returns what the last successful Attest verified, or nil.
func (c *Client) Attested() *Attested {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attested
}
