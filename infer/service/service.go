// Package service assembles cofre's confidential inference service: ONNX
// models (infer/runtime) behind the Open Inference Protocol v2
// (infer/oip), callers admitted by attestation tokens, request bodies
// optionally HPKE-sealed to the service (sealed).
//
// The trust chain, for a caller:
//
//   - GET /v1/attestation gives two tokens the coordinator issued this
//     instance: "tls_token", bound (cnf) to the key of the TLS certificate
//     the service presents, and "token", bound to its HPKE key and carrying
//     the SHA-256 of every model it loaded (cofre.runtime, "model:NAME").
//     A caller verifies both (issuer, measurement, status), checks that
//     the TLS connection it is on ends at the first key, and seals to the
//     second (infer/client does all this).
//   - The service admits a caller on /v2/models/… only with
//     "Authorization: Attestation <token>" bound to the TLS client
//     certificate the caller presents, verified with the coordinator's keys
//     under the caller policy (accepted measurements, simulation) —
//     token.RequireAttestation: 401 for a bad token, 403 for a policy
//     refusal, with reasons.
//
// What it does not do: rate-limit callers, authorize per model (every
// admitted caller may call every model), or keep tokens fresh by itself
// (Config's token functions do: see Refresher).
package service

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cofre-cc/cofre/infer/oip"
	"github.com/cofre-cc/cofre/infer/runtime"
	"github.com/cofre-cc/cofre/sealed"
	"github.com/cofre-cc/cofre/token"
)

// PathAttestation serves the service's tokens.
const PathAttestation = "/v1/attestation"

// RuntimeClaimPrefix names a model's hash in the service token's
// cofre.runtime claims: "model:" + name → hex SHA-256 of the model file.
const RuntimeClaimPrefix = "model:"

// Attestation is the body of GET /v1/attestation.
type Attestation struct {
	// Token is bound to the service's HPKE key and names its models.
	Token string `json:"token"`
	// TLSToken is bound to the service's TLS certificate key.
	TLSToken string `json:"tls_token"`
}

// Config configures a service.
type Config struct {
	Models *runtime.Repository
	// Key opens sealed requests; its public JWK is what Token binds.
	Key *sealed.PrivateKey
	// RequireSealed refuses plaintext inference bodies.
	RequireSealed bool
	// Token and TLSToken return the service's current tokens.
	Token, TLSToken func() string
	// Callers is the caller policy: the coordinator's keys and issuer,
	// the accepted measurements, whether simulated callers pass.
	Callers token.Options
	Logger  *slog.Logger
	Version string
}

// RuntimeClaims returns the cofre.runtime claims naming every model of a
// repository by its hash, for the service token.
func RuntimeClaims(models *runtime.Repository) map[string]string {
	out := map[string]string{}
	for _, m := range models.Models() {
		sum := m.SHA256()
		out[RuntimeClaimPrefix+m.Name()] = hex.EncodeToString(sum[:])
	}
	return out
}

// Handler returns the service's HTTP handler. The server must request TLS
// client certificates (tls.RequireAnyClientCert): tokens are bound to them.
func Handler(cfg Config) (http.Handler, error) {
	if cfg.Models == nil || cfg.Key == nil || cfg.Token == nil || cfg.TLSToken == nil {
		return nil, errors.New("service: Models, Key, Token and TLSToken are required")
	}
	if len(cfg.Callers.ExpectedMeasurements) == 0 {
		// Any attested workload of the coordinator could call otherwise:
		// the caller policy must name who may.
		return nil, errors.New("service: the caller policy names no measurement")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backend, err := newBackend(cfg.Models)
	if err != nil {
		return nil, err
	}
	api, err := oip.Handler(backend, oip.Options{Key: cfg.Key, RequireSealed: cfg.RequireSealed, Logger: log, ServerName: "cofre-infer", ServerVersion: cfg.Version})
	if err != nil {
		return nil, err
	}
	guard := token.RequireAttestation(cfg.Callers)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathAttestation, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(Attestation{Token: cfg.Token(), TLSToken: cfg.TLSToken()})
	})
	// Probes need no token: they say nothing about models or data.
	mux.Handle("GET /v2/health/", api)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !backend.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("/v2/", guard(callerLog(log, api)))
	mux.Handle("GET /v2", guard(api))
	return mux, nil
}

// callerLog logs who called (the caller's SPIFFE-free identity is its
// token's measurement), never what it sent.
func callerLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := token.ClaimsFromContext(r.Context()); ok && r.Method == http.MethodPost {
			if cpu, ok := c.Submods[token.PrimarySubmod]; ok && cpu.Claims != nil {
				log.Info("inference", "path", r.URL.Path, "caller_measurement", cpu.Claims.Measurement.String(), "caller_tee", cpu.Claims.TEE.String(), "simulation", c.Simulation())
			}
		}
		next.ServeHTTP(w, r)
	})
}

// backend adapts a runtime.Repository to oip.Backend.
type backend struct {
	models *runtime.Repository
	meta   map[string]oip.ModelMetadata
}

func newBackend(repo *runtime.Repository) (*backend, error) {
	b := &backend{models: repo, meta: map[string]oip.ModelMetadata{}}
	for _, m := range repo.Models() {
		md := oip.ModelMetadata{Name: m.Name(), Platform: "onnxruntime_onnx"}
		for _, in := range m.Inputs() {
			tm, err := tensorMeta(in)
			if err != nil {
				return nil, fmt.Errorf("service: model %s input %s: %w", m.Name(), in.Name, err)
			}
			if in.Shape == nil {
				return nil, fmt.Errorf("service: model %s input %s has no declared shape: not served", m.Name(), in.Name)
			}
			md.Inputs = append(md.Inputs, tm)
		}
		for _, out := range m.Outputs() {
			tm, err := tensorMeta(out)
			if err != nil {
				return nil, fmt.Errorf("service: model %s output %s: %w", m.Name(), out.Name, err)
			}
			md.Outputs = append(md.Outputs, tm)
		}
		b.meta[m.Name()] = md
	}
	if len(b.meta) == 0 {
		return nil, errors.New("service: the model repository is empty")
	}
	return b, nil
}

func tensorMeta(info runtime.TensorInfo) (oip.TensorMetadata, error) {
	dt, err := oip.ParseDatatype(info.Datatype.String())
	if err != nil {
		return oip.TensorMetadata{}, fmt.Errorf("datatype %s is not served over the protocol: %w", info.Datatype, err)
	}
	return oip.TensorMetadata{Name: info.Name, Datatype: dt, Shape: info.Shape}, nil
}

func (b *backend) Model(name string) (oip.ModelMetadata, bool) {
	m, ok := b.meta[name]
	return m, ok
}

func (b *backend) Ready() bool { return true }

func (b *backend) Infer(ctx context.Context, name string, inputs []oip.Tensor) ([]oip.Tensor, error) {
	m, ok := b.models.Model(name)
	if !ok {
		return nil, oip.ErrModelNotFound
	}
	in := make(map[string]runtime.Tensor, len(inputs))
	for _, t := range inputs {
		dt, err := runtime.ParseDatatype(t.Datatype.String())
		if err != nil {
			return nil, fmt.Errorf("%w: input %s: %v", oip.ErrInvalidInput, t.Name, err)
		}
		in[t.Name] = runtime.Tensor{Name: t.Name, Datatype: dt, Shape: t.Shape, Data: t.Data}
	}
	out, err := m.Infer(ctx, in)
	if errors.Is(err, runtime.ErrBadInput) {
		return nil, fmt.Errorf("%w: %v", oip.ErrInvalidInput, err)
	}
	if err != nil {
		return nil, err
	}
	var res []oip.Tensor
	for _, info := range m.Outputs() {
		t, ok := out[info.Name]
		if !ok {
			continue
		}
		dt, err := oip.ParseDatatype(t.Datatype.String())
		if err != nil {
			return nil, fmt.Errorf("service: output %s: %w", t.Name, err)
		}
		res = append(res, oip.Tensor{Name: t.Name, Datatype: dt, Shape: t.Shape, Data: t.Data})
	}
	return res, nil
}
