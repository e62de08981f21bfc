package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// Client asks a node agent for evidence, over its unix socket or TCP. Set
// exactly one of Socket and BaseURL; the zero values of the other fields
// select their defaults. A Client is safe for concurrent use once made and
// must not be copied after first use.
//
// The client never uses an HTTP proxy (the agent is on the same node, and
// a pod's HTTP_PROXY must not see its evidence requests) and does not
// verify the evidence it returns: the relying party does.
type Client struct {
	// Socket is the path of the agent's unix socket, such as
	// /run/cofre/agent.sock.
	Socket string
	// BaseURL is the agent's http://host:port, when it listens on TCP.
	BaseURL string
	// Timeout bounds each request. Default 10 s.
	Timeout time.Duration

	once sync.Once
	hc   *http.Client
	base string // scheme, host and path prefix of every request URL
	err  error  // of the configuration, reported by every call
}

// NewClient returns a client of the agent at addr: unix:///path/to.sock
// (or an absolute socket path) or http://host:port.
func NewClient(addr string) (*Client, error) {
	switch {
	case strings.HasPrefix(addr, "unix://"):
		p := strings.TrimPrefix(addr, "unix://")
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("agent: address %q: want unix:///absolute/path", addr)
		}
		return &Client{Socket: p}, nil
	case filepath.IsAbs(addr):
		return &Client{Socket: addr}, nil
	case strings.HasPrefix(addr, "http://"):
		return &Client{BaseURL: addr}, nil
	}
	return nil, fmt.Errorf("agent: address %q: want unix:///path or http://host:port", addr)
}

func (c *Client) setup() error {
	c.once.Do(func() {
		var d net.Dialer
		tr := &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		}
		switch {
		case c.Socket != "" && c.BaseURL != "":
			c.err = errors.New("agent: client has both Socket and BaseURL")
			return
		case c.Socket != "":
			socket := c.Socket
			tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "unix", socket)
			}
			// The host names nothing on a unix socket; "agent" makes the
			// Host header and error messages readable.
			c.base = "http://agent"
		case c.BaseURL != "":
			u, err := url.Parse(c.BaseURL)
			if err != nil {
				c.err = fmt.Errorf("agent: base URL: %w", err)
				return
			}
			// The agent serves plain HTTP only: it has no certificate a
			// launcher could check, and evidence needs no secrecy.
			if u.Scheme != "http" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				c.err = fmt.Errorf("agent: base URL %q: want http://host:port[/prefix]", c.BaseURL)
				return
			}
			tr.DialContext = d.DialContext
			c.base = "http://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/")
		default:
			c.err = errors.New("agent: client has neither Socket nor BaseURL")
			return
		}
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = defaultClientTimeout
		}
		c.hc = &http.Client{
			Transport: tr,
			Timeout:   timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return errors.New("agent: redirects are not followed")
			},
		}
	})
	return c.err
}

// Platform asks the agent to describe its platform.
func (c *Client) Platform(ctx context.Context) (*PlatformInfo, error) {
	body, err := c.do(ctx, http.MethodGet, PathPlatform, nil)
	if err != nil {
		return nil, err
	}
	return decodePlatformInfo(body)
}

// Evidence asks the agent for sim.v1 evidence reporting w and binding
// reportData. A workload the agent would refuse is refused here
// (ErrInvalidWorkload) without a request.
func (c *Client) Evidence(ctx context.Context, w Workload, reportData [attest.ReportDataSize]byte) (attest.Evidence, error) {
	if err := w.validate(); err != nil {
		return attest.Evidence{}, fmt.Errorf("%w: %w", ErrInvalidWorkload, err)
	}
	req, err := json.Marshal(evidenceRequest{ReportData: reportData[:], Measurement: w.Measurement,
		Signer: w.Signer, ProductID: w.ProductID, SVN: w.SVN})
	if err != nil {
		return attest.Evidence{}, fmt.Errorf("agent: %w", err)
	}
	body, err := c.do(ctx, http.MethodPost, PathEvidence, req)
	if err != nil {
		return attest.Evidence{}, err
	}
	return decodeEvidenceResponse(body)
}

// Producer returns an attest.Producer of sim.v1 evidence for the workload
// whose digest is measurement (32 bytes; copied), produced by the agent.
func (c *Client) Producer(measurement []byte) attest.Producer {
	return &producer{c: c, w: Workload{Measurement: bytes.Clone(measurement)}}
}

type producer struct {
	c *Client
	w Workload
}

var _ attest.Producer = (*producer)(nil)

func (p *producer) Format() string { return attest.FormatSim }

func (p *producer) Produce(ctx context.Context, reportData [attest.ReportDataSize]byte) (attest.Evidence, error) {
	return p.c.Evidence(ctx, p.w, reportData)
}

// do makes one request and returns the body of a 200 answer, or an
// *APIError.
func (c *Client) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	if err := c.setup(); err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, decodeAPIError(resp.StatusCode, b)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, fmt.Errorf("agent: %s %s: %w", method, path, err)
	}
	if len(b) > maxResponseBody {
		return nil, fmt.Errorf("%w: %s answer larger than %d bytes", ErrMalformedResponse, path, maxResponseBody)
	}
	return b, nil
}
