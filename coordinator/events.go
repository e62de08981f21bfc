package coordinator

import (
	"context"
	"errors"
)

// Audit event kinds.
const (
	EventStart          = "start"            // the coordinator started
	EventSealingKeyLost = "sealing_key_lost" // started with a fresh global state
	EventManifestSet    = "manifest_set"     // a first manifest version
	EventManifestUpdate = "manifest_update"  // a later version
	EventManifestRead   = "manifest_read"    // a user read a manifest document
	EventActivate       = "activate"         // an activation, granted or refused
	EventRenew          = "renew"            // a workload certificate renewal
	EventSecretWrite    = "secret_write"     // a user uploaded a secret
	EventSecretRead     = "secret_read"      // a user read a secret
	EventKMS            = "kms"              // a KMS call (Op says which)
	EventVolumeRoot     = "volume_root"      // a workload reported a volume root hash
	EventRecoveryShare  = "recovery_share"   // a recovery holder submitted a share
	EventRecovered      = "recovered"        // a manifest was unlocked by recovery
	EventAuditRead      = "audit_read"       // a user read the audit log
	EventAuthzRefused   = "authorization"    // a user or workload was refused
	EventWorkloadToken  = "workload_token"   // a live instance asked for a token for another key
)

// Event is one audit log line's content. It never holds a secret, a
// token, evidence bytes or a key: hashes and names stand in for them.
type Event struct {
	Kind           string   `json:"event"`
	Granted        bool     `json:"granted"`
	Code           string   `json:"code,omitempty"`    // the api error code when refused
	Message        string   `json:"message,omitempty"` // why, when refused
	Manifest       string   `json:"manifest,omitempty"`
	Version        uint64   `json:"version,omitempty"`
	ManifestSHA256 string   `json:"manifest_sha256,omitempty"`
	Service        string   `json:"service,omitempty"`
	Instance       string   `json:"instance,omitempty"`
	SPIFFEID       string   `json:"spiffe_id,omitempty"`
	Serial         string   `json:"serial,omitempty"` // of the issued certificate, hex
	TEE            string   `json:"tee,omitempty"`
	Format         string   `json:"format,omitempty"`
	Measurement    string   `json:"measurement,omitempty"`
	WorkloadDigest string   `json:"workload_digest,omitempty"`
	Status         string   `json:"status,omitempty"` // EAR status of the appraisal
	Simulation     bool     `json:"simulation,omitempty"`
	Reasons        []string `json:"reasons,omitempty"`
	Signers        []string `json:"signers,omitempty"`
	User           string   `json:"user,omitempty"`
	Secret         string   `json:"secret,omitempty"`
	Op             string   `json:"op,omitempty"`  // KMS operation
	Key            string   `json:"key,omitempty"` // KMS master key name
	Holder         string   `json:"holder,omitempty"`
	KeySHA256      string   `json:"key_sha256,omitempty"`     // of the SPKI (DER) a workload token binds, hex
	RuntimeSHA256  string   `json:"runtime_sha256,omitempty"` // of a workload token's runtime claims as JSON, hex: the claims may be 10 KiB
	Remote         string   `json:"remote,omitempty"`
}

// fail marks ev refused by err, or granted if err is nil.
func (ev *Event) fail(err error) {
	if err == nil {
		ev.Granted = true
		return
	}
	ev.Granted = false
	var e *Error
	if errors.As(err, &e) {
		ev.Code, ev.Message = e.Code, e.Message
		for _, r := range e.Reasons {
			s := r.Check
			if r.Field != "" {
				s += " " + r.Field
			}
			if r.Expected != "" || r.Actual != "" {
				s += ": expected " + r.Expected + ", got " + r.Actual
			}
			ev.Reasons = append(ev.Reasons, clip(s))
		}
		return
	}
	ev.Code, ev.Message = "internal", "internal error"
}

type remoteKey struct{}

// withRemote records the client's address for audit events.
func withRemote(ctx context.Context, remote string) context.Context {
	return context.WithValue(ctx, remoteKey{}, remote)
}

// record appends ev to the audit log. A failed append fails the
// operation that caused it: nothing is granted without a durable record.
func (c *Coordinator) record(ctx context.Context, ev *Event) error {
	if r, ok := ctx.Value(remoteKey{}).(string); ok {
		ev.Remote = r
	}
	c.metrics.event(ev)
	if err := c.appendAudit(ev); err != nil {
		c.log.Error("audit log append failed", "event", ev.Kind, "err", err)
		return errInternal
	}
	return nil
}
