package coordinator

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/coordinator/pki"
	"github.com/cofre-cc/cofre/coordinator/seal"
	"github.com/cofre-cc/cofre/coordinator/store"
	"github.com/cofre-cc/cofre/internal/auditlog"
	"github.com/cofre-cc/cofre/internal/challenge"
	"github.com/cofre-cc/cofre/token"
)

// Config configures a Coordinator. Fields marked required must be set;
// the others have the defaults their comments give.
type Config struct {
	// StateDir holds the sealed store (state.db), the sealed data key
	// (datakey.sealed) and the audit log (audit.log). Required; created
	// 0700 if missing.
	StateDir string
	// Sealer seals the data key to this TEE. Required.
	Sealer seal.Sealer
	// TrustDomain names the SPIFFE trust domain of workload identities,
	// e.g. "cofre.internal". Required.
	TrustDomain string
	// Producer makes the coordinator's own evidence for
	// GET /v1/attestation. Required.
	Producer attest.Producer
	// Registry verifies workloads' evidence. Required.
	Registry *attest.Registry
	// Collateral feeds the verifiers (vendor certificates, CRLs, TCB
	// info), or nil when every admitted format needs none (sim).
	Collateral collateral.Source
	// Hosts are the DNS names and IP addresses of the TLS server
	// certificate. Default: localhost, 127.0.0.1, ::1.
	Hosts []string
	// Issuer is the iss of workload tokens: the coordinator's base URL.
	// Required.
	Issuer string
	// VerifierID is ear.verifier-id's build in workload tokens. Default
	// "cofre coordinator".
	VerifierID string
	// CertLifetime is the lifetime of workload certificates. Default 1h;
	// launchers renew before expiry.
	CertLifetime time.Duration
	// MaxInstanceLife is how long an instance may renew its certificate
	// before it must activate again with fresh evidence (so a toleration
	// or TCB status that ran out, or a revoked platform, stops it).
	// Default 24h.
	MaxInstanceLife time.Duration
	// TokenLifetime is the lifetime of workload tokens. Default 1h.
	TokenLifetime time.Duration
	// ChallengeLifetime is how long an activation nonce is valid.
	// Default 2m.
	ChallengeLifetime time.Duration
	// MaxRememberedNonces caps the used nonces kept for replay protection.
	// Default 1,000,000.
	MaxRememberedNonces int
	// Admission, if non-empty, lists the owner public keys allowed to
	// create manifests: a first version must be signed by at least one of
	// them (besides its own threshold), and a recovered manifest must name
	// one among its owners. Empty: anyone may create a manifest (a name
	// not in use), which suits development only.
	Admission []crypto.PublicKey
	// Auditors are the public keys of the coordinator's auditors: TLS
	// client certificates with these keys read the whole audit log. A
	// manifest's users with an audit role read only its lines.
	Auditors []crypto.PublicKey
	// Clock, or nil for time.Now.
	Clock func() time.Time
	// Logger, or nil to discard.
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	var missing []string
	if c.StateDir == "" {
		missing = append(missing, "StateDir")
	}
	if c.Sealer == nil {
		missing = append(missing, "Sealer")
	}
	if c.TrustDomain == "" {
		missing = append(missing, "TrustDomain")
	}
	if c.Producer == nil {
		missing = append(missing, "Producer")
	}
	if c.Registry == nil {
		missing = append(missing, "Registry")
	}
	if c.Issuer == "" {
		missing = append(missing, "Issuer")
	}
	if len(missing) > 0 {
		return fmt.Errorf("coordinator: config: missing %v", missing)
	}
	if len(c.Hosts) == 0 {
		c.Hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if c.CertLifetime <= 0 {
		c.CertLifetime = time.Hour
	}
	if c.MaxInstanceLife <= 0 {
		c.MaxInstanceLife = 24 * time.Hour
	}
	if c.TokenLifetime <= 0 {
		c.TokenLifetime = time.Hour
	}
	if c.ChallengeLifetime <= 0 {
		c.ChallengeLifetime = 2 * time.Minute
	}
	if c.MaxRememberedNonces <= 0 {
		c.MaxRememberedNonces = 1_000_000
	}
	if c.VerifierID == "" {
		c.VerifierID = "cofre coordinator"
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// File names in StateDir.
const (
	stateFile   = "state.db"
	dataKeyFile = "datakey.sealed"
	auditFile   = "audit.log"
)

// Global-namespace tables.
const (
	tableCA      = "ca"     // "root": the root CA
	tableAudit   = "audit"  // "key": the audit signing key; "head": the last head
	tableTokens  = "tokens" // "keyset": the workload token signing keys
	tableNSKeys  = "nskeys" // manifest name → its namespace key
	keyRoot      = "root"
	keyAuditKey  = "key"
	keyAuditHead = "head"
	keyKeySet    = "keyset"
	// keyInitialized marks a complete global state (in tableCA).
	keyInitialized = "initialized"
)

// Coordinator is the coordinator service. Create it with New; it is safe
// for concurrent use.
type Coordinator struct {
	cfg        Config
	log        *slog.Logger
	store      *store.Store
	audit      *auditlog.Log
	auditKey   crypto.Signer
	root       *pki.CA
	rootSPKI   []byte
	serverCert tls.Certificate
	tokenKeys  *token.KeySet
	issuer     *token.Issuer
	challenges *challenge.Challenges
	metrics    *metrics
	simulation bool

	// writeMu serializes changes of manifests and uploaded secrets, so
	// each reads the state it replaces.
	writeMu sync.Mutex

	mu        sync.RWMutex // guards manifests, locked and shares
	manifests map[string]*loaded
	locked    map[string]bool
	stopHeads chan struct{} // closed by Close: stops keepAuditHead
	headsDone chan struct{} // closed when keepAuditHead has returned

	// shares holds recovery shares received for locked manifests, by
	// manifest and holder, until the threshold is reached.
	shares map[string]map[string][]byte
}

// New opens (or creates) the coordinator's state in cfg.StateDir.
//
// If the sealing key no longer opens the data key (new hardware, a
// firmware update that changed the sealing key), New does not fail: it
// starts a fresh global state (new root CA, audit key and token keys; the
// audit log records the event) and every manifest stays locked until its
// recovery holders restore it (Recover).
func New(cfg Config) (*Coordinator, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("coordinator: state dir: %w", err)
	}
	c := &Coordinator{
		cfg:        cfg,
		log:        cfg.Logger,
		challenges: challenge.New(cfg.ChallengeLifetime, cfg.MaxRememberedNonces),
		manifests:  make(map[string]*loaded),
		locked:     make(map[string]bool),
		shares:     make(map[string]map[string][]byte),
		simulation: cfg.Producer.Format() == attest.FormatSim,
	}
	c.metrics = newMetrics(c)
	if err := c.open(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Coordinator) now() time.Time { return c.cfg.Clock() }

func (c *Coordinator) open() error {
	st, err := store.Open(filepath.Join(c.cfg.StateDir, stateFile), store.Options{})
	if err != nil {
		return fmt.Errorf("coordinator: %w", err)
	}
	c.store = st

	keyPath := filepath.Join(c.cfg.StateDir, dataKeyFile)
	dk, err := seal.OpenDataKey(keyPath, c.cfg.Sealer)
	lost := false
	switch {
	case err == nil:
		err := st.Unlock(store.Global, dk)
		if errors.Is(err, store.ErrNotFound) {
			// The data key was made but the first start stopped before
			// the global namespace: finish it.
			err = st.CreateNamespace(store.Global, dk)
		}
		if err != nil {
			return fmt.Errorf("coordinator: the data key does not open the store: %w", err)
		}
	case errors.Is(err, os.ErrNotExist):
		if dk, err = seal.CreateDataKey(keyPath, c.cfg.Sealer); err != nil {
			return fmt.Errorf("coordinator: %w", err)
		}
		if err := st.CreateNamespace(store.Global, dk); err != nil {
			return fmt.Errorf("coordinator: %w", err)
		}
	case errors.Is(err, seal.ErrSealingKeyLost):
		lost = true
		c.log.Warn("the sealing key no longer opens the data key: starting a fresh global state; manifests stay locked until recovered")
		// Keep the old sealed key: a sealing key that comes back (the old
		// hardware, a firmware rollback) could still open it.
		if err := os.Rename(keyPath, keyPath+"."+c.now().UTC().Format("20060102T150405Z")+".lost"); err != nil {
			return fmt.Errorf("coordinator: keep the old data key: %w", err)
		}
		if dk, err = seal.CreateDataKey(keyPath, c.cfg.Sealer); err != nil {
			return fmt.Errorf("coordinator: %w", err)
		}
		if err := st.ResetNamespace(store.Global, dk); err != nil {
			return fmt.Errorf("coordinator: %w", err)
		}
	default:
		return fmt.Errorf("coordinator: %w", err)
	}
	clear(dk)

	now := c.now()
	auditKey, initialized, err := c.loadOrCreateGlobals(now)
	if err != nil {
		return err
	}
	if err := c.openAudit(auditKey, lost); err != nil {
		return err
	}
	if err := c.loadManifests(); err != nil {
		return err
	}
	kind := EventStart
	if lost {
		kind = EventSealingKeyLost
	}
	if err := c.record(context.Background(), &Event{Kind: kind, Granted: true, Message: initialized}); err != nil {
		return err
	}
	if err := c.saveAuditHead(); err != nil {
		return fmt.Errorf("coordinator: audit head: %w", err)
	}
	c.stopHeads = make(chan struct{})
	c.headsDone = make(chan struct{})
	go c.keepAuditHead()
	return nil
}

// loadOrCreateGlobals reads the root CA, the audit key and the token keys
// from the global namespace, and returns the audit key. They are made,
// with a marker, in one transaction the first time (or after a lost
// sealing key); once the marker exists, a missing item is tampering and
// the coordinator refuses to start rather than mint a new root or audit
// key behind its users' backs. initialized describes what was made, if
// anything.
func (c *Coordinator) loadOrCreateGlobals(now time.Time) (auditKey crypto.Signer, initialized string, err error) {
	err = c.store.Update(func(tx *store.Tx) error {
		_, err := tx.Get(store.Global, tableCA, keyInitialized)
		switch {
		case errors.Is(err, store.ErrNotFound):
			initialized = "new global state: root CA, audit key and token keys generated"
			return c.createGlobals(tx, now)
		case err != nil:
			return err
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("coordinator: global state: %w", err)
	}
	err = c.store.View(func(tx *store.Tx) error {
		b, err := tx.Get(store.Global, tableCA, keyRoot)
		if err != nil {
			return fmt.Errorf("root CA: %w", err)
		}
		if c.root, err = pki.ParseCA(b); err != nil {
			return fmt.Errorf("root CA: %w", err)
		}
		if b, err = tx.Get(store.Global, tableAudit, keyAuditKey); err != nil {
			return fmt.Errorf("audit key: %w", err)
		}
		k, err := x509.ParsePKCS8PrivateKey(b)
		if err != nil {
			return fmt.Errorf("audit key: %w", err)
		}
		var ok bool
		if auditKey, ok = k.(crypto.Signer); !ok {
			return errors.New("audit key: not a signing key")
		}
		if b, err = tx.Get(store.Global, tableTokens, keyKeySet); err != nil {
			return fmt.Errorf("token keys: %w", err)
		}
		if c.tokenKeys, err = token.UnmarshalKeySet(b); err != nil {
			return fmt.Errorf("token keys: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("coordinator: global state (tampered, or from another version): %w", err)
	}
	c.issuer = token.NewIssuer(c.tokenKeys)
	spki, err := x509.MarshalPKIXPublicKey(c.root.Certificate().PublicKey)
	if err != nil {
		return nil, "", fmt.Errorf("coordinator: root key: %w", err)
	}
	c.rootSPKI = spki
	if c.serverCert, err = pki.ServerCertificate(c.root, c.cfg.Hosts, now); err != nil {
		return nil, "", fmt.Errorf("coordinator: server certificate: %w", err)
	}
	return auditKey, initialized, nil
}

// createGlobals makes the root CA, the audit key, the token keys, an
// empty audit head and the marker that says they exist.
func (c *Coordinator) createGlobals(tx *store.Tx, now time.Time) error {
	root, err := pki.NewRoot(c.cfg.TrustDomain, now)
	if err != nil {
		return err
	}
	rootBytes, err := root.Marshal()
	if err != nil {
		return err
	}
	ak, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	akBytes, err := x509.MarshalPKCS8PrivateKey(ak)
	if err != nil {
		return err
	}
	keys, err := token.NewKeySet(token.ES256, now)
	if err != nil {
		return err
	}
	ksBytes, err := keys.MarshalBinary()
	if err != nil {
		return err
	}
	head, err := json.Marshal(auditlog.Head{})
	if err != nil {
		return err
	}
	for _, p := range []struct {
		table, key string
		val        []byte
	}{
		{tableCA, keyRoot, rootBytes},
		{tableAudit, keyAuditKey, akBytes},
		{tableAudit, keyAuditHead, head},
		{tableTokens, keyKeySet, ksBytes},
		{tableCA, keyInitialized, []byte(now.UTC().Format(time.RFC3339))},
	} {
		if err := tx.Put(store.Global, p.table, p.key, p.val); err != nil {
			return err
		}
	}
	return nil
}

// RootCertificate returns the coordinator's root CA certificate: workload
// certificates and the TLS server certificate chain to it.
func (c *Coordinator) RootCertificate() *x509.Certificate { return c.root.Certificate() }

// RootSHA256 returns the SHA-256 of the root certificate (DER).
func (c *Coordinator) RootSHA256() [32]byte { return sha256.Sum256(c.root.Certificate().Raw) }

// Simulation reports whether the coordinator runs on the sim TEE.
func (c *Coordinator) Simulation() bool { return c.simulation }

// Close closes the store and the audit log.
func (c *Coordinator) Close() error {
	var errs []error
	if c.stopHeads != nil {
		close(c.stopHeads)
		<-c.headsDone
	}
	errs = append(errs, c.closeAudit())
	if c.store != nil {
		errs = append(errs, c.store.Close())
	}
	return errors.Join(errs...)
}
