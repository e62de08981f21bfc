package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/token"
)

// TokenVerifier returns what a relying party needs to verify the tokens this
// coordinator issues: its token keys (a RemoteJWKS fetched over the
// connection this client verified, so the keys come from the attested
// coordinator and nobody else) and its issuer name (from its OpenID
// metadata, over the same connection). A service on the mesh verifies its
// callers' tokens with them (token.RequireAttestation).
func (c *Client) TokenVerifier(ctx context.Context) (*token.RemoteJWKS, string, error) {
	var meta struct {
		Issuer string `json:"issuer"`
	}
	if err := c.call(ctx, http.MethodGet, api.PathOpenIDMetadata, nil, nil, &meta); err != nil {
		return nil, "", err
	}
	if meta.Issuer == "" {
		return nil, "", fmt.Errorf("client: the coordinator's metadata names no issuer")
	}
	v := c.state.Load()
	return &token.RemoteJWKS{URL: c.url(api.PathJWKS).String(), Client: v.http}, meta.Issuer, nil
}
