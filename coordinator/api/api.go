// Package api holds the wire types of the coordinator's HTTP API
// (docs/api/coordinator.yaml), shared by the server (package coordinator)
// and its clients (package coordinator/client, the launcher, the CLI).
//
// Byte strings are base64 (standard, padded) in JSON, as encoding/json
// writes []byte. Certificates are DER unless a field says PEM.
package api

import (
	"encoding/json"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

// Paths. Workload endpoints after activation, the KMS and secret reads
// need a TLS client certificate: workloads present the one activation
// issued, users the one their manifest lists.
const (
	PathAttestation       = "/v1/attestation"        // GET ?nonce=<64 hex>
	PathStatus            = "/v1/status"             // GET
	PathChallenge         = "/v1/activate/challenge" // POST
	PathActivate          = "/v1/activate"           // POST
	PathRenew             = "/v1/renew"              // POST, workload mTLS
	PathKMSWrap           = "/v1/kms/wrap"           // POST, workload mTLS
	PathKMSUnwrap         = "/v1/kms/unwrap"         // POST, workload mTLS
	PathKMSGenerate       = "/v1/kms/generate-data-key"
	PathManifests         = "/v1/manifests/"     // + {name}, {name}/log, {name}/secrets/{secret}
	PathAudit             = "/v1/audit"          // GET ?from=<seq>, user mTLS with an audit role
	PathAuditHead         = "/v1/audit/head"     // GET
	PathRecovery          = "/v1/recovery"       // GET; /v1/recovery/{manifest} GET, POST
	PathJWKS              = "/v1/certs"          // workload token keys
	PathVolumes           = "/v1/volumes/"       // + {name}/root: GET, PUT; workload mTLS
	PathWorkloadToken     = "/v1/workload/token" // POST, workload mTLS
	PathOpenIDMetadata    = "/.well-known/openid-configuration"
	MaxRequestBody        = 1 << 20 // bytes; manifests and evidence fit well below
	NonceQueryParam       = "nonce"
	AuditFromQueryParam   = "from"
	HeaderSimulation      = "Cofre-Simulation" // "true" on every response of a sim coordinator
	ContentTypeAuditLines = "application/x-ndjson"
)

// AttestationResponse is the coordinator's own evidence: its report data
// binds the request nonce and the SHA-256 of the root certificate's
// SubjectPublicKeyInfo (attest.ReportData(nonce, spki, nil)), so a client
// that verifies it may then trust every TLS certificate under that root.
type AttestationResponse struct {
	Evidence Evidence `json:"evidence"`
	// RootCertificate is the coordinator's root CA certificate (DER).
	RootCertificate []byte `json:"root_certificate"`
	TrustDomain     string `json:"trust_domain"`
	// Simulation is true when the evidence is sim.v1: no confidentiality.
	Simulation bool `json:"simulation"`
}

// Evidence is one piece of attestation evidence.
type Evidence struct {
	Format string `json:"format"`
	Data   []byte `json:"data"`
}

// Status describes a coordinator.
type Status struct {
	TrustDomain string `json:"trust_domain"`
	Simulation  bool   `json:"simulation"`
	// Sealer names how the coordinator's state is sealed at rest.
	Sealer string `json:"sealer"`
	// RootSHA256 is the hex SHA-256 of the root certificate (DER).
	RootSHA256 string            `json:"root_sha256"`
	Manifests  []ManifestSummary `json:"manifests"`
	AuditHead  AuditHead         `json:"audit_head"`
}

// ManifestSummary is a manifest's current state.
type ManifestSummary struct {
	Name    string `json:"name"`
	Version uint64 `json:"version"`
	SHA256  string `json:"sha256"`
	// Locked manifests await recovery: their secrets cannot be read until
	// their recovery holders submit enough shares.
	Locked bool `json:"locked"`
}

// Challenge is an activation nonce.
type Challenge struct {
	Nonce   []byte    `json:"nonce"`
	Expires time.Time `json:"expires"`
}

// ActivateRequest asks to admit one instance of a service.
type ActivateRequest struct {
	Manifest string `json:"manifest"`
	Service  string `json:"service"`
	// Nonce is a Challenge nonce, usable once.
	Nonce    []byte   `json:"nonce"`
	Evidence Evidence `json:"evidence"`
	// Parts are further evidence (a GPU's next to its CPU's), each bound
	// to the same report data where its format allows.
	Parts []Evidence `json:"parts,omitempty"`
	// CSR is a PKCS #10 request (DER) for the workload key the evidence
	// binds: ReportData(nonce, SPKI of the CSR key, WorkloadDigest).
	CSR            []byte            `json:"csr"`
	WorkloadDigest attest.Hex        `json:"workload_digest"`
	HostParams     map[string]string `json:"host_params,omitempty"`
}

// ActivateResponse admits an instance: its identity and its configuration.
type ActivateResponse struct {
	Instance string `json:"instance"`
	SPIFFEID string `json:"spiffe_id"`
	// Certificate is the workload certificate (DER); Chain the
	// intermediates up to, not including, Root.
	Certificate []byte    `json:"certificate"`
	Chain       [][]byte  `json:"chain"`
	Root        []byte    `json:"root"`
	Expires     time.Time `json:"expires"`
	Config      Config    `json:"config"`
	// Token is an EAR JWT for the workload, bound to the certificate key
	// (cnf), verifiable with the coordinator's JWKS.
	Token string `json:"token"`
	// Status is the EAR status of the appraisal (affirming or warning).
	Status     string `json:"status"`
	Simulation bool   `json:"simulation"`
}

// Config is what the launcher sets up before exec.
type Config struct {
	Command []string          `json:"command"`
	Env     map[string]string `json:"env,omitempty"`
	Files   map[string][]byte `json:"files,omitempty"`
	// KeyFiles are paths where the launcher writes the workload's private
	// key (PEM, PKCS #8): the key never leaves the launcher.
	KeyFiles  []string          `json:"key_files,omitempty"`
	Volumes   map[string]Volume `json:"volumes,omitempty"`
	KMSGrants []string          `json:"kms_grants,omitempty"`
}

// Volume is an encrypted volume to mount.
type Volume struct {
	Path    string `json:"path"`
	Key     []byte `json:"key"`
	Scratch bool   `json:"scratch,omitempty"`
}

// VolumeRoot is the last root hash a workload reported for one of its
// service's encrypted volumes (sealfs): the next mount must find it, or
// the volume was rolled back.
type VolumeRoot struct {
	// Root is the hex root hash; empty when none was ever reported;
	// "dirty:<instance>" while an instance has the volume mounted (a
	// mount that finds it refuses: that run never reported its state).
	Root string `json:"root"`
	// Previous, when setting, is the Root the caller read: the update is
	// refused (409) if the record changed since, so two instances never
	// both take a volume from one state.
	Previous string    `json:"previous,omitempty"`
	Time     time.Time `json:"time,omitzero"`
	// Instance that reported it.
	Instance string `json:"instance,omitempty"`
}

// RenewRequest asks for a new certificate for the instance named by the
// client certificate, before it expires.
type RenewRequest struct {
	CSR []byte `json:"csr"`
}

// RenewResponse carries the renewed certificate.
type RenewResponse struct {
	Certificate []byte    `json:"certificate"`
	Chain       [][]byte  `json:"chain"`
	Expires     time.Time `json:"expires"`
	// Token is a fresh workload token for the renewed certificate: the
	// appraisal of the activation, cnf the certificate's key, expiring at
	// the earliest of the token lifetime, the certificate's expiry and the
	// instance's deadline. Absent for instances activated before
	// coordinators kept that appraisal (activate again for one).
	Token string `json:"token,omitempty"`
	// TokenExpires is the token's exp, when Token is set.
	TokenExpires time.Time `json:"token_expires,omitzero"`
}

// WorkloadTokenRequest asks for a further token for the instance named by
// the client certificate: the appraisal of its activation, bound (cnf) to
// another key the instance holds, with runtime claims it reports.
type WorkloadTokenRequest struct {
	// PublicKey is the public JWK to bind the token to, e.g. the X25519
	// or P-256 key relying parties HPKE-encrypt to. Only public members
	// (kty, crv, x, y, n, e, kid, alg, use, key_ops); ECDSA or ECDH on
	// P-256 or P-384, X25519, Ed25519, or RSA of 2048 to 8192 bits; not
	// the certificate's own key. The token carries it rebuilt from the key
	// alone (no kid, alg, use).
	PublicKey json.RawMessage `json:"public_key"`
	// Runtime are claims the instance makes about itself (name → value,
	// e.g. model name → SHA-256), copied into the token's cofre.runtime
	// claim as SELF-REPORTED: the coordinator checks their bounds (at most
	// 32 entries; names 1 to 64 bytes of printable ASCII without spaces;
	// values at most 256 bytes of printable ASCII), not their truth.
	// Optional.
	Runtime map[string]string `json:"runtime,omitempty"`
	// Nonce is a relying party's challenge for the token's eat_nonce,
	// 8 to 64 bytes. Optional.
	Nonce []byte `json:"nonce,omitempty"`
}

// WorkloadTokenResponse carries the token.
type WorkloadTokenResponse struct {
	// Token is an EAR JWT verifiable with the coordinator's JWKS.
	Token string `json:"token"`
	// Expires is the token's exp: the earliest of the token lifetime, the
	// certificate's expiry and the instance's deadline.
	Expires time.Time `json:"expires"`
}

// KMSRequest names a master key of the caller's manifest (a
// parquet-master-key or symmetric secret its service is granted).
type KMSRequest struct {
	Key string `json:"key"`
	// Plaintext to wrap (wrap only), at most 4096 bytes.
	Plaintext []byte `json:"plaintext,omitempty"`
	// Wrapped key to unwrap (unwrap only), as returned by wrap.
	Wrapped string `json:"wrapped,omitempty"`
	// Size of the data key to generate, in bytes: 16, 24 or 32
	// (generate-data-key only; default 32).
	Size int `json:"size,omitempty"`
}

// KMSResponse is the result of a KMS call.
type KMSResponse struct {
	Plaintext []byte `json:"plaintext,omitempty"`
	Wrapped   string `json:"wrapped,omitempty"`
	// KeyVersion is the version of the master key that wrapped.
	KeyVersion uint64 `json:"key_version"`
}

// ManifestUpload sets or updates a manifest. Signatures are the
// manifest.SignatureFile JSON documents `cofre manifest sign` writes.
type ManifestUpload struct {
	Document   []byte   `json:"document"`
	Signatures [][]byte `json:"signatures"`
}

// ManifestInfo describes one version of a manifest.
type ManifestInfo struct {
	Name        string    `json:"name"`
	Version     uint64    `json:"version"`
	SHA256      string    `json:"sha256"`
	Predecessor string    `json:"predecessor,omitempty"`
	Time        time.Time `json:"time"`
	Signers     []string  `json:"signers"`
}

// ManifestResponse is a manifest and, for users with the manifest read
// role, its document.
type ManifestResponse struct {
	Info     ManifestInfo `json:"info"`
	Document []byte       `json:"document,omitempty"`
}

// SecretUpload sets an uploaded secret.
type SecretUpload struct {
	Value []byte `json:"value"`
}

// SecretResponse is a secret as a user with the read role sees it.
// Parquet master keys are never returned.
type SecretResponse struct {
	Kind  string `json:"kind"`
	Value []byte `json:"value,omitempty"`
	// PEM forms, for key and certificate secrets.
	Certificate string `json:"certificate,omitempty"`
	Chain       string `json:"chain,omitempty"`
	PrivateKey  string `json:"private_key,omitempty"`
}

// AuditHead is the last line of the audit log.
type AuditHead struct {
	Seq    uint64 `json:"seq"`
	SHA256 string `json:"sha256"`
}

// SignedAuditHead is the head signed by the coordinator's audit key, so a
// copy kept elsewhere later proves what the log held (truncation).
type SignedAuditHead struct {
	Head      AuditHead `json:"head"`
	Time      time.Time `json:"time"`
	PublicKey []byte    `json:"public_key"` // PKIX DER
	Signature []byte    `json:"signature"`
}

// RecoveryStatus lists the manifests that await recovery.
type RecoveryStatus struct {
	Manifests []RecoveryManifest `json:"manifests"`
}

// RecoveryManifest is one locked manifest.
type RecoveryManifest struct {
	Name      string   `json:"name"`
	Threshold int      `json:"threshold"`
	Holders   []string `json:"holders"`
	Submitted []string `json:"submitted"`
}

// RecoveryShare is one holder's decrypted share.
type RecoveryShare struct {
	Holder string `json:"holder"`
	Share  []byte `json:"share"`
}

// RecoveryResult says how many shares are still needed.
type RecoveryResult struct {
	Remaining int  `json:"remaining"`
	Recovered bool `json:"recovered"`
}

// Error is the body of every non-2xx response.
type Error struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Reasons []Reason `json:"reasons,omitempty"`
}

// Reason explains one failed check of a refused activation.
type Reason struct {
	Check    string `json:"check"`
	Field    string `json:"field,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
}

// Error codes.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized" // no or unknown client certificate
	CodeForbidden    = "forbidden"    // authenticated, but not allowed
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict" // stale predecessor, version, existing manifest
	CodeRefused      = "refused"  // attestation, binding, policy or instance cap
	CodeLocked       = "locked"   // the manifest awaits recovery
	CodeTooLarge     = "too_large"
	CodeInternal     = "internal"
)
