package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Client calls a JSON API over HTTPS with keep-alive connections, enough
// idle ones kept for conc workers that none is re-established mid-run (a
// TLS handshake per request would be measured instead of the service).
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client of the service at base (https://host:port)
// whose TLS certificate chains to roots.
func NewClient(base string, roots *x509.CertPool, conc int) *Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots},
		MaxIdleConns:        conc * 2,
		MaxIdleConnsPerHost: conc * 2,
		IdleConnTimeout:     time.Minute,
	}
	return &Client{base: base, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Call sends body (JSON, or nil) to base+path and decodes a 200 response
// into out, unless out is nil. Any other status is an error quoting the
// response body.
func (c *Client) Call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// ReadRoots returns a pool of the PEM certificates in file.
func ReadRoots(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b) {
		return nil, errors.New(file + ": no certificate")
	}
	return roots, nil
}
