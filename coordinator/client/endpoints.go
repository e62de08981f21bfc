package client

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/token"
)

// Status returns the coordinator's status (GET /v1/status).
func (c *Client) Status(ctx context.Context) (*api.Status, error) {
	var out api.Status
	return &out, c.call(ctx, http.MethodGet, api.PathStatus, nil, nil, &out)
}

// Challenge returns an activation nonce (POST /v1/activate/challenge).
func (c *Client) Challenge(ctx context.Context) (*api.Challenge, error) {
	var out api.Challenge
	return &out, c.call(ctx, http.MethodPost, api.PathChallenge, nil, nil, &out)
}

// Activate asks to admit one instance of a service (POST /v1/activate).
// A refusal is an *APIError with Code api.CodeRefused and its Reasons.
func (c *Client) Activate(ctx context.Context, req *api.ActivateRequest) (*api.ActivateResponse, error) {
	var out api.ActivateResponse
	return &out, c.call(ctx, http.MethodPost, api.PathActivate, nil, req, &out)
}

// Renew asks for a new certificate for the instance that the
// client certificate names (POST /v1/renew); csr is a PKCS #10 request
// (DER).
func (c *Client) Renew(ctx context.Context, csr []byte) (*api.RenewResponse, error) {
	var out api.RenewResponse
	return &out, c.call(ctx, http.MethodPost, api.PathRenew, nil, &api.RenewRequest{CSR: csr}, &out)
}

// WorkloadToken asks for a further token for the instance that the
// client certificate names (POST /v1/workload/token): the appraisal of its
// activation, bound (cnf jwk) to pub, a public key the instance made for
// another use than TLS, such as the X25519 or P-256 *ecdh.PublicKey that
// relying parties HPKE-encrypt to. runtime (optional) are claims the
// instance reports about itself, e.g. model name → SHA-256; the token
// carries them as self-reported (cofre.runtime). nonce (optional, 8 to 64
// bytes) is a relying party's challenge, for the token's eat_nonce.
//
// pub must be a public key of a type and size token.ConfirmationForKey
// allows; the request carries its public JWK only. The token is returned as
// the coordinator sent it: relying parties verify it (token.Verify against
// the coordinator's JWKS).
func (c *Client) WorkloadToken(ctx context.Context, pub crypto.PublicKey, runtime map[string]string, nonce []byte) (string, error) {
	cf, err := token.ConfirmationForKey(pub)
	if err != nil {
		return "", fmt.Errorf("client: workload token: %w", err)
	}
	var out api.WorkloadTokenResponse
	if err := c.call(ctx, http.MethodPost, api.PathWorkloadToken, nil, &api.WorkloadTokenRequest{PublicKey: cf.JWK, Runtime: runtime, Nonce: nonce}, &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", errors.New("client: workload token: the coordinator answered without a token")
	}
	return out.Token, nil
}

// Wrap wraps plaintext (at most 4096 bytes) under the master key named key
// (POST /v1/kms/wrap).
func (c *Client) Wrap(ctx context.Context, key string, plaintext []byte) (*api.KMSResponse, error) {
	var out api.KMSResponse
	return &out, c.call(ctx, http.MethodPost, api.PathKMSWrap, nil, &api.KMSRequest{Key: key, Plaintext: plaintext}, &out)
}

// Unwrap unwraps what Wrap returned (POST /v1/kms/unwrap).
func (c *Client) Unwrap(ctx context.Context, key, wrapped string) (*api.KMSResponse, error) {
	var out api.KMSResponse
	return &out, c.call(ctx, http.MethodPost, api.PathKMSUnwrap, nil, &api.KMSRequest{Key: key, Wrapped: wrapped}, &out)
}

// GenerateDataKey returns a fresh data key of size bytes (16, 24 or 32; 0
// means 32), in plaintext and wrapped under key
// (POST /v1/kms/generate-data-key).
func (c *Client) GenerateDataKey(ctx context.Context, key string, size int) (*api.KMSResponse, error) {
	var out api.KMSResponse
	return &out, c.call(ctx, http.MethodPost, api.PathKMSGenerate, nil, &api.KMSRequest{Key: key, Size: size}, &out)
}

// SetManifest uploads the first version of manifest name, or an update
// (the coordinator decides by the document's version), with the owners'
// signature files (PUT /v1/manifests/{name}). The coordinator checks that
// name is the document's name.
func (c *Client) SetManifest(ctx context.Context, name string, doc []byte, sigs [][]byte) (*api.ManifestInfo, error) {
	var out api.ManifestInfo
	return &out, c.call(ctx, http.MethodPut, manifestPath(name), nil, &api.ManifestUpload{Document: doc, Signatures: sigs}, &out)
}

// Manifest returns the current version of manifest name
// (GET /v1/manifests/{name}); the document only for users allowed to read
// it.
func (c *Client) Manifest(ctx context.Context, name string) (*api.ManifestResponse, error) {
	var out api.ManifestResponse
	return &out, c.call(ctx, http.MethodGet, manifestPath(name), nil, nil, &out)
}

// ManifestLog returns every version of manifest name, oldest first
// (GET /v1/manifests/{name}/log).
func (c *Client) ManifestLog(ctx context.Context, name string) ([]api.ManifestInfo, error) {
	var out []api.ManifestInfo
	return out, c.call(ctx, http.MethodGet, manifestPath(name)+"/log", nil, nil, &out)
}

// SetSecret sets the uploaded secret of a manifest
// (PUT /v1/manifests/{manifest}/secrets/{secret}); the user's certificate
// needs a role that writes it.
func (c *Client) SetSecret(ctx context.Context, manifest, secret string, value []byte) error {
	return c.call(ctx, http.MethodPut, secretPath(manifest, secret), nil, &api.SecretUpload{Value: value}, nil)
}

// Secret returns a secret of a manifest
// (GET /v1/manifests/{manifest}/secrets/{secret}).
func (c *Client) Secret(ctx context.Context, manifest, secret string) (*api.SecretResponse, error) {
	var out api.SecretResponse
	return &out, c.call(ctx, http.MethodGet, secretPath(manifest, secret), nil, nil, &out)
}

// AuditLog streams one page of the audit log, the lines from sequence
// number from on (GET /v1/audit?from=N), as JSON lines. The caller closes
// it. The coordinator bounds a page (in lines); the stream is otherwise not
// bounded: verify it with package auditlog as it is read.
func (c *Client) AuditLog(ctx context.Context, from uint64) (io.ReadCloser, error) {
	q := url.Values{api.AuditFromQueryParam: {strconv.FormatUint(from, 10)}}
	resp, err := c.send(ctx, true, http.MethodGet, api.PathAudit, q, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		_, err := c.readResponse(resp, 0)
		return nil, err
	}
	c.noteSimulation(resp)
	return resp.Body, nil
}

// AuditHead returns the audit log's head, signed by the coordinator's audit
// key (GET /v1/audit/head). Keep it elsewhere to detect truncation later.
func (c *Client) AuditHead(ctx context.Context) (*api.SignedAuditHead, error) {
	var out api.SignedAuditHead
	return &out, c.call(ctx, http.MethodGet, api.PathAuditHead, nil, nil, &out)
}

// RecoveryStatus lists the manifests that await recovery
// (GET /v1/recovery).
func (c *Client) RecoveryStatus(ctx context.Context) (*api.RecoveryStatus, error) {
	var out api.RecoveryStatus
	return &out, c.call(ctx, http.MethodGet, api.PathRecovery, nil, nil, &out)
}

// RecoveryRecord returns the recovery record of a manifest as the
// coordinator stores it (GET /v1/recovery/{manifest}): JSON for
// coordinator/seal to parse. It holds only ciphertexts for the holders.
func (c *Client) RecoveryRecord(ctx context.Context, manifest string) ([]byte, error) {
	return c.raw(ctx, http.MethodGet, recoveryPath(manifest), nil, nil)
}

// SubmitShare submits one holder's decrypted share
// (POST /v1/recovery/{manifest}).
func (c *Client) SubmitShare(ctx context.Context, manifest string, share *api.RecoveryShare) (*api.RecoveryResult, error) {
	var out api.RecoveryResult
	return &out, c.call(ctx, http.MethodPost, recoveryPath(manifest), nil, share, &out)
}

// Names are escaped into one path segment each, so a name holding "/" or
// ".." cannot address another resource.
func manifestPath(name string) string { return api.PathManifests + url.PathEscape(name) }

func secretPath(manifest, secret string) string {
	return manifestPath(manifest) + "/secrets/" + url.PathEscape(secret)
}

func recoveryPath(manifest string) string { return api.PathRecovery + "/" + url.PathEscape(manifest) }

// VolumeRoot returns the root hash last reported for a volume of the
// workload's service (empty Root: none yet). Workload certificate required.
func (c *Client) VolumeRoot(ctx context.Context, volume string) (*api.VolumeRoot, error) {
	var out api.VolumeRoot
	if err := c.call(ctx, http.MethodGet, api.PathVolumes+url.PathEscape(volume)+"/root", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetVolumeRoot replaces a volume's record, previous, with root (a hex
// root hash, or "dirty:<instance>" while mounted); the coordinator refuses
// (409) if the record is no longer previous. Workload certificate required.
func (c *Client) SetVolumeRoot(ctx context.Context, volume, previous, root string) error {
	return c.call(ctx, http.MethodPut, api.PathVolumes+url.PathEscape(volume)+"/root", nil, &api.VolumeRoot{Root: root, Previous: previous}, nil)
}
