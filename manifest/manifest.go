package manifest

import (
	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
)

// Manifest is a policy document: what may run, on which TEEs, with which
// secrets and configuration, and who may change it. Field names are the
// document's keys; Parse decodes them strictly.
type Manifest struct {
	// Name identifies the manifest in the coordinator, in SPIFFE IDs
	// (spiffe://<trust-domain>/<name>/<service>/<instance>) and in imports.
	// Lowercase letters, digits and '-', at most 63 characters.
	Name string `json:"name"`
	// Version counts updates: 1 for the first manifest of a name, and each
	// update exactly one more than its predecessor.
	Version uint64 `json:"version"`
	// Predecessor is the hex SHA-256 (Hash) of the manifest this one
	// replaces. Empty for version 1; required otherwise, so that an update
	// written against a stale manifest (a lost update) is refused.
	Predecessor string `json:"predecessor,omitempty"`
	// Owners may sign updates. Keys are owner names.
	Owners map[string]Owner `json:"owners"`
	// UpdateThreshold is how many distinct owners must sign a manifest
	// (the first one, and every update, signed by the predecessor's owners).
	// 1 ≤ UpdateThreshold ≤ len(Owners).
	UpdateThreshold int `json:"update_threshold"`

	Packages map[string]Package `json:"packages"`
	Services map[string]Service `json:"services"`
	Secrets  map[string]Secret  `json:"secrets,omitempty"`
	Users    map[string]User    `json:"users,omitempty"`
	Roles    map[string]Role    `json:"roles,omitempty"`
	Recovery *Recovery          `json:"recovery,omitempty"`

	Attestation Attestation `json:"attestation,omitempty"`
}

// Owner is a manifest owner: a public key (PEM "PUBLIC KEY": ECDSA P-256/
// P-384 or Ed25519) that signs manifests with `cofre manifest sign`.
type Owner struct {
	PublicKey string `json:"public_key"`
}

// Package is what a service's TEE must prove: reference values, one or more
// per TEE type, as in appraise.Reference. Evidence is acceptable if it
// satisfies any reference of its TEE.
type Package struct {
	References []appraise.Reference `json:"references"`
}

// Service is one kind of workload.
type Service struct {
	// Package names the entry of Packages the service's evidence is
	// appraised against.
	Package string `json:"package"`
	// Command is the argv the launcher executes (argv[0] is the program).
	// Elements are templates: secrets, the workload's certificate, and host
	// parameters ({{ host "port" }}) where HostParams declares them.
	Command []string `json:"command,omitempty"`
	// HostParams declares the values the (untrusted) host may supply at
	// activation, each with the pattern its value must match in full.
	HostParams map[string]HostParam `json:"host_params,omitempty"`
	// Env is rendered (templates) and set for the workload.
	Env map[string]string `json:"env,omitempty"`
	// Files maps absolute paths inside the workload to templates of their
	// content. The launcher writes them to memory-backed storage.
	Files map[string]string `json:"files,omitempty"`
	// Volumes are encrypted volumes the launcher mounts, keyed by name.
	Volumes map[string]Volume `json:"volumes,omitempty"`
	// MaxInstances caps concurrently valid instance certificates. 0 means
	// no cap.
	MaxInstances int `json:"max_instances,omitempty"`
	// WorkloadDigests, if set, lists the acceptable workload digests (hex
	// SHA-256 computed by the launcher over the executable and the fixed
	// arguments). Empty: any digest, still bound into the evidence.
	WorkloadDigests []attest.Hex `json:"workload_digests,omitempty"`
	// KMSGrants names the master keys (secrets of kind parquet-master-key
	// or symmetric) this service may use through the KMS API.
	KMSGrants []string `json:"kms_grants,omitempty"`
}

// HostParam is a value the host may supply at activation.
type HostParam struct {
	// Pattern is a regular expression (RE2) the whole value must match.
	Pattern string `json:"pattern"`
}

// Volume is an encrypted volume (sealfs).
type Volume struct {
	// Path is where the launcher mounts the volume.
	Path string `json:"path"`
	// Key names a symmetric secret of 32 bytes.
	Key string `json:"key"`
	// Scratch disables rollback protection (root hash tracking) for
	// volumes whose content need not survive a restart.
	Scratch bool `json:"scratch,omitempty"`
}

// SecretKind says how a secret is made.
type SecretKind string

// Secret kinds.
const (
	KindSymmetric        SecretKind = "symmetric"          // Size random bytes
	KindASCII            SecretKind = "ascii"              // Size characters from Alphabet
	KindPrivateKey       SecretKind = "private-key"        // KeyType
	KindX509             SecretKind = "x509"               // leaf certificate and key, issued by Issuer
	KindX509CA           SecretKind = "x509-ca"            // CA certificate and key
	KindParquetMasterKey SecretKind = "parquet-master-key" // AES key held by the KMS, never released
	KindExplicit         SecretKind = "explicit"           // Value given in the manifest
	KindUploaded         SecretKind = "uploaded"           // set later by a user with a role
)

// Secret declares one secret of the manifest.
type Secret struct {
	Kind SecretKind `json:"kind"`
	// Size: bytes for symmetric (default 32) and parquet-master-key (16, 24
	// or 32, default 32); characters for ascii (default 32).
	Size int `json:"size,omitempty"`
	// Alphabet for ascii secrets. Default: letters and digits.
	Alphabet string `json:"alphabet,omitempty"`
	// KeyType for private-key, x509 and x509-ca: rsa-2048, rsa-3072,
	// rsa-4096, ecdsa-p256 (default), ecdsa-p384, ed25519.
	KeyType string `json:"key_type,omitempty"`
	// Issuer names the x509-ca secret that signs an x509 secret. Empty:
	// the coordinator's workload CA (the certificate chains to the
	// coordinator's root).
	Issuer string `json:"issuer,omitempty"`
	// CommonName, DNSNames and IPAddresses of an x509 or x509-ca secret.
	CommonName  string   `json:"common_name,omitempty"`
	DNSNames    []string `json:"dns_names,omitempty"`
	IPAddresses []string `json:"ip_addresses,omitempty"`
	// Validity of an x509 or x509-ca certificate, as a Go duration
	// ("8760h"). Default 8760h (x509), 87600h (x509-ca).
	Validity string `json:"validity,omitempty"`
	// Value of an explicit secret (text as written).
	Value string `json:"value,omitempty"`
	// Shared secrets have one value for every instance of every service.
	// Per-instance secrets (Shared false) are generated anew for each
	// activation. Default true; explicit, uploaded, imported and
	// parquet-master-key secrets are always shared.
	Shared *bool `json:"shared,omitempty"`
	// Import takes the value from another manifest's exported secret.
	Import *Import `json:"import,omitempty"`
	// ExportTo lists the manifests that may import this secret.
	ExportTo []string `json:"export_to,omitempty"`
}

// Import names a secret exported by another manifest.
type Import struct {
	Manifest string `json:"manifest"`
	Secret   string `json:"secret"`
}

// User is a person or tool that manages the manifest's uploaded secrets
// and reads its state, authenticated by a TLS client certificate.
type User struct {
	// Certificate is the user's client certificate (PEM). Users are
	// identified by its public key.
	Certificate string `json:"certificate"`
	// Roles names entries of Roles.
	Roles []string `json:"roles"`
}

// Role grants actions on resources.
type Role struct {
	// Resource is "secrets" (uploaded secrets: Names are secret names),
	// "manifest" (Names ignored) or "audit".
	Resource string `json:"resource"`
	// Names restricts the resources; empty means all of the kind.
	Names []string `json:"names,omitempty"`
	// Actions: "read", "write".
	Actions []string `json:"actions"`
}

// Recovery lets Threshold of the holders of Keys restore the manifest's
// secrets when the coordinator's sealing key is lost.
type Recovery struct {
	// Keys are recovery public keys (PEM "PUBLIC KEY", P-256, P-384 or
	// X25519) by holder name.
	Keys      map[string]string `json:"keys"`
	Threshold int               `json:"threshold"`
}

// Attestation holds manifest-wide appraisal settings.
type Attestation struct {
	// AllowSimulation admits sim evidence (no confidentiality; rated
	// warning at best). Default false.
	AllowSimulation bool `json:"allow_simulation,omitempty"`
	// Tolerations excuse named deviations until their expiry date.
	Tolerations []appraise.Toleration `json:"tolerations,omitempty"`
}
