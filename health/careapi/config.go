package careapi

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/cofre-cc/cofre/health/cache"
	"github.com/cofre-cc/cofre/sealed"
)

// ErrConfig means New or ParseAccounts was given an unusable
// configuration.
var ErrConfig = errors.New("careapi: invalid config")

// Role is a staff member's role. Do NOT reorder: the zero value must stay
// Invalid.
type Role int

const (
	// RoleInvalid is the zero Role; no account has it.
	RoleInvalid Role = iota
	// RoleClinician reads and writes patient records.
	RoleClinician
	// RoleAdmin reads and writes patient records and reads the audit log.
	RoleAdmin
)

// String returns the role's policy name ("clinician", "admin").
func (r Role) String() string {
	switch r {
	case RoleClinician:
		return "clinician"
	case RoleAdmin:
		return "admin"
	}
	return "invalid"
}

// MarshalText returns the role's policy name.
func (r Role) MarshalText() ([]byte, error) {
	if r == RoleInvalid {
		return nil, fmt.Errorf("%w: invalid role", ErrConfig)
	}
	return []byte(r.String()), nil
}

// UnmarshalText parses "clinician" or "admin".
func (r *Role) UnmarshalText(b []byte) error {
	switch string(b) {
	case "clinician":
		*r = RoleClinician
	case "admin":
		*r = RoleAdmin
	default:
		return fmt.Errorf("%w: role is not clinician or admin", ErrConfig)
	}
	return nil
}

// Account is a staff account, seeded from the policy.
type Account struct {
	// Username names the account: 1 to 64 of [A-Za-z0-9._@-].
	Username string `json:"username"`
	// Role is clinician or admin.
	Role Role `json:"role"`
	// PasswordHash is an argon2id PHC string (see HashPassword), with at
	// least 19 MiB and 2 passes.
	PasswordHash string `json:"password_hash"`
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// ParseAccounts decodes the accounts file the lead renders from the
// policy,
//
//	{"accounts":[{"username":"alice","role":"clinician","password_hash":"$argon2id$v=19$..."}]}
//
// strictly (unknown members refused) and checks every account.
func ParseAccounts(b []byte) ([]Account, error) {
	var doc struct {
		Accounts []Account `json:"accounts"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		// A decode error may quote input (a password hash); say only
		// what kind of error it was.
		return nil, fmt.Errorf("%w: accounts: %s", ErrConfig, jsonErrorKind(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: accounts: trailing data", ErrConfig)
	}
	if err := checkAccounts(doc.Accounts); err != nil {
		return nil, err
	}
	return doc.Accounts, nil
}

func checkAccounts(accounts []Account) error {
	var errs []error
	if len(accounts) == 0 {
		errs = append(errs, fmt.Errorf("%w: no accounts", ErrConfig))
	}
	seen := map[string]bool{}
	for i, a := range accounts {
		if !usernameRE.MatchString(a.Username) {
			errs = append(errs, fmt.Errorf("%w: account %d: username is not 1 to 64 of [A-Za-z0-9._@-]", ErrConfig, i))
			continue
		}
		if seen[a.Username] {
			errs = append(errs, fmt.Errorf("%w: account %q: duplicate", ErrConfig, a.Username))
		}
		seen[a.Username] = true
		if a.Role != RoleClinician && a.Role != RoleAdmin {
			errs = append(errs, fmt.Errorf("%w: account %q: role is not clinician or admin", ErrConfig, a.Username))
		}
		if _, err := parseHash(a.PasswordHash); err != nil {
			errs = append(errs, fmt.Errorf("%w: account %q: %w", ErrConfig, a.Username, err))
		}
	}
	return errors.Join(errs...)
}

// Diagnosis is a model's answer for one image.
type Diagnosis struct {
	// Labels are the findings the model scores, and Probabilities their
	// scores in [0, 1], index for index (1 to MaxLabels of each).
	Labels        []string
	Probabilities []float32
	// Model names the model, and ModelSHA256 is the lowercase hex SHA-256
	// of its file, as the diagnostics service's attestation claims state.
	Model       string
	ModelSHA256 string
}

// Diagnoser runs a diagnostic model on an image. The production
// implementation calls the attested inference service (cofre infer) over
// mutual TLS after verifying its token; the care API only sees this
// interface. contentType is "image/png" or "application/dicom". Its
// errors are logged, so they must not carry image bytes or other PHI.
type Diagnoser interface {
	Diagnose(ctx context.Context, image []byte, contentType string) (Diagnosis, error)
}

// Config configures New.
type Config struct {
	// Accounts are the staff accounts (see ParseAccounts). Required.
	Accounts []Account
	// Store holds every record and session, sealed (health/cache). The
	// Server does not close it. Required.
	Store *cache.Cache
	// SealKey opens sealed requests on POST /api/sealed; its public key is
	// the one in the token HPKEToken returns. Required unless AllowPlain.
	SealKey *sealed.PrivateKey
	// AllowPlain accepts /api and /fhir requests that do not come through
	// the sealed gateway. Default false: every /api and /fhir request but
	// POST /api/sealed and GET /api/attestation must arrive sealed, so
	// patient data never crosses the network unsealed, even to a
	// TLS-terminating proxy. Set it only for development and tests.
	AllowPlain bool
	// HPKEToken returns the service's current attestation token, whose
	// claims carry SealKey's public JWK, and TLSToken the token bound to
	// its TLS certificate; GET /api/attestation serves both. Required.
	HPKEToken, TLSToken func() string
	// Diagnoser runs the diagnostic model. Required.
	Diagnoser Diagnoser
	// DiagnoseTimeout bounds one Diagnose call. Default
	// DefaultDiagnoseTimeout.
	DiagnoseTimeout time.Duration
	// AuditPath is the audit log file (JSON lines, hash-chained,
	// internal/auditlog), created 0600 if missing; an existing log must
	// verify. Required.
	AuditPath string
	// AuditSigner signs every audit line (Ed25519 or ECDSA P-256). Or
	// nil: lines are chained but unsigned.
	AuditSigner crypto.Signer
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger receives operational messages, never PHI, passwords, session
	// ids or tokens. Default: discard.
	Logger *slog.Logger
}
