package coordinator

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/coordinator/api"
)

// Handler returns the coordinator's HTTP API (docs/api/coordinator.yaml).
// It expects TLS with client certificates requested (TLSConfig).
func (c *Coordinator) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, name string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, c.metrics.instrument(name, func(w http.ResponseWriter, r *http.Request) {
			if c.simulation {
				w.Header().Set(api.HeaderSimulation, "true")
			}
			// Answers may carry keys, certificates and secrets: no cache
			// keeps them (the JWKS sets its own policy).
			w.Header().Set("Cache-Control", "no-store")
			r.Body = http.MaxBytesReader(w, r.Body, api.MaxRequestBody)
			if err := h(w, r.WithContext(withRemote(r.Context(), remoteHost(r)))); err != nil {
				c.writeError(w, err)
			}
		}))
	}
	route("GET /healthz", "healthz", func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	})
	route("GET /readyz", "readyz", c.handleReady)
	mux.Handle("GET /metrics", c.metrics.handler())
	route("GET "+api.PathAttestation, "attestation", c.handleAttestation)
	route("GET "+api.PathStatus, "status", c.handleStatus)
	route("POST "+api.PathChallenge, "challenge", func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, c.Challenge())
		return nil
	})
	route("POST "+api.PathActivate, "activate", func(w http.ResponseWriter, r *http.Request) error {
		var req api.ActivateRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		return reply(w)(c.Activate(r.Context(), &req))
	})
	route("POST "+api.PathRenew, "renew", func(w http.ResponseWriter, r *http.Request) error {
		var req api.RenewRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		return reply(w)(c.Renew(r.Context(), &req, peerChain(r)))
	})
	for path, op := range map[string]string{api.PathKMSWrap: OpWrap, api.PathKMSUnwrap: OpUnwrap, api.PathKMSGenerate: OpGenerate} {
		route("POST "+path, "kms_"+op, func(w http.ResponseWriter, r *http.Request) error {
			var req api.KMSRequest
			if err := decode(r, &req); err != nil {
				return err
			}
			return reply(w)(c.KMS(r.Context(), op, &req, peerChain(r)))
		})
	}
	route("PUT "+api.PathManifests+"{name}", "manifest_put", func(w http.ResponseWriter, r *http.Request) error {
		var up api.ManifestUpload
		if err := decode(r, &up); err != nil {
			return err
		}
		return reply(w)(c.SetManifest(r.Context(), r.PathValue("name"), &up))
	})
	route("GET "+api.PathManifests+"{name}", "manifest_get", func(w http.ResponseWriter, r *http.Request) error {
		return reply(w)(c.Manifest(r.Context(), r.PathValue("name"), peerCert(r)))
	})
	route("GET "+api.PathManifests+"{name}/log", "manifest_log", func(w http.ResponseWriter, r *http.Request) error {
		return reply(w)(c.ManifestLog(r.PathValue("name")))
	})
	route("PUT "+api.PathManifests+"{name}/secrets/{secret}", "secret_put", func(w http.ResponseWriter, r *http.Request) error {
		var up api.SecretUpload
		if err := decode(r, &up); err != nil {
			return err
		}
		defer clear(up.Value)
		if err := c.SetSecret(r.Context(), r.PathValue("name"), r.PathValue("secret"), up.Value, peerCert(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	route("GET "+api.PathManifests+"{name}/secrets/{secret}", "secret_get", func(w http.ResponseWriter, r *http.Request) error {
		return reply(w)(c.Secret(r.Context(), r.PathValue("name"), r.PathValue("secret"), peerCert(r)))
	})
	route("GET "+api.PathAudit, "audit", c.handleAudit)
	route("GET "+api.PathAuditHead, "audit_head", func(w http.ResponseWriter, _ *http.Request) error {
		return reply(w)(c.SignedAuditHead())
	})
	route("GET "+api.PathRecovery, "recovery_status", func(w http.ResponseWriter, _ *http.Request) error {
		return reply(w)(c.RecoveryStatus())
	})
	route("GET "+api.PathRecovery+"/{name}", "recovery_record", func(w http.ResponseWriter, r *http.Request) error {
		raw, err := c.RecoveryRecord(r.PathValue("name"))
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		_, err = w.Write(raw)
		return err
	})
	route("POST "+api.PathRecovery+"/{name}", "recovery_share", func(w http.ResponseWriter, r *http.Request) error {
		var s api.RecoveryShare
		if err := decode(r, &s); err != nil {
			return err
		}
		defer clear(s.Share)
		return reply(w)(c.SubmitShare(r.Context(), r.PathValue("name"), &s))
	})
	route("POST "+api.PathWorkloadToken, "workload_token", func(w http.ResponseWriter, r *http.Request) error {
		var req api.WorkloadTokenRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		return reply(w)(c.WorkloadToken(r.Context(), &req, peerChain(r)))
	})
	route("GET "+api.PathVolumes+"{volume}/root", "volume_root_get", func(w http.ResponseWriter, r *http.Request) error {
		return reply(w)(c.VolumeRoot(r.Context(), r.PathValue("volume"), peerChain(r)))
	})
	route("PUT "+api.PathVolumes+"{volume}/root", "volume_root_put", func(w http.ResponseWriter, r *http.Request) error {
		var vr api.VolumeRoot
		if err := decode(r, &vr); err != nil {
			return err
		}
		if err := c.SetVolumeRoot(r.Context(), r.PathValue("volume"), &vr, peerChain(r)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	route("GET "+api.PathJWKS, "jwks", func(w http.ResponseWriter, _ *http.Request) error {
		b, err := c.tokenKeys.JWKS(c.now())
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, err = w.Write(b)
		return err
	})
	route("GET "+api.PathOpenIDMetadata, "openid", func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                c.cfg.Issuer,
			"jwks_uri":                              c.cfg.Issuer + api.PathJWKS,
			"id_token_signing_alg_values_supported": []string{"ES256"},
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
		})
		return nil
	})
	return mux
}

func (c *Coordinator) handleReady(w http.ResponseWriter, _ *http.Request) error {
	if err := c.auditErr(); err != nil {
		c.log.Error("not ready: audit log", "err", err)
		return &Error{Status: http.StatusServiceUnavailable, Code: api.CodeInternal, Message: "the audit log cannot be written: nothing is granted until it can"}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// Attestation returns the coordinator's evidence bound to nonce and the
// root certificate's public key.
func (c *Coordinator) Attestation(ctx context.Context, nonce []byte) (*api.AttestationResponse, error) {
	rd, err := attest.ReportData(nonce, c.rootSPKI, nil)
	if err != nil {
		return nil, badRequest("nonce: %s", err)
	}
	ev, err := c.cfg.Producer.Produce(ctx, rd)
	if err != nil {
		c.log.Error("produce evidence", "err", err)
		return nil, errInternal
	}
	return &api.AttestationResponse{
		Evidence:        api.Evidence{Format: ev.Format, Data: ev.Payload},
		RootCertificate: c.root.Certificate().Raw,
		TrustDomain:     c.cfg.TrustDomain,
		Simulation:      c.simulation,
	}, nil
}

func (c *Coordinator) handleAttestation(w http.ResponseWriter, r *http.Request) error {
	nonce, err := hex.DecodeString(r.URL.Query().Get(api.NonceQueryParam))
	if err != nil || len(nonce) != attest.NonceSize {
		return badRequest("nonce: want %d bytes as hex", attest.NonceSize)
	}
	return reply(w)(c.Attestation(r.Context(), nonce))
}

// Status describes the coordinator.
func (c *Coordinator) Status() (*api.Status, error) {
	sum := c.RootSHA256()
	st := &api.Status{TrustDomain: c.cfg.TrustDomain, Simulation: c.simulation, Sealer: c.cfg.Sealer.Name(),
		RootSHA256: hex.EncodeToString(sum[:]), Manifests: []api.ManifestSummary{}, AuditHead: c.auditHead()}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for name := range c.locked {
		st.Manifests = append(st.Manifests, api.ManifestSummary{Name: name, Locked: true})
	}
	for _, l := range c.manifests {
		st.Manifests = append(st.Manifests, api.ManifestSummary{Name: l.m.Name, Version: l.m.Version, SHA256: l.info.SHA256})
	}
	sortSummaries(st.Manifests)
	return st, nil
}

func (c *Coordinator) handleStatus(w http.ResponseWriter, _ *http.Request) error {
	return reply(w)(c.Status())
}

func (c *Coordinator) handleAudit(w http.ResponseWriter, r *http.Request) error {
	from := uint64(0)
	if s := r.URL.Query().Get(api.AuditFromQueryParam); s != "" {
		var err error
		if from, err = strconv.ParseUint(s, 10, 64); err != nil {
			return badRequest("from: %s", err)
		}
	}
	var buf bytes.Buffer
	if err := c.AuditLines(r.Context(), from, peerCert(r), &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", api.ContentTypeAuditLines)
	_, err := w.Write(buf.Bytes())
	return err
}

// reply writes v as JSON, or returns err.
func reply(w http.ResponseWriter) func(any, error) error {
	return func(v any, err error) error {
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors, so a misspelled field never silently changes a request.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeTooLarge, Message: fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
		}
		return badRequest("body: %s", clip(err.Error()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("body: trailing data after the JSON value")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (c *Coordinator) writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		c.log.Error("request failed", "err", err)
		e = errInternal
	}
	writeJSON(w, e.Status, api.Error{Code: e.Code, Message: e.Message, Reasons: e.Reasons})
}

func peerChain(r *http.Request) []*x509.Certificate {
	if r.TLS == nil {
		return nil
	}
	return r.TLS.PeerCertificates
}

func peerCert(r *http.Request) *x509.Certificate {
	if ch := peerChain(r); len(ch) > 0 {
		return ch[0]
	}
	return nil
}

func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// TLSConfig returns the server's TLS configuration: TLS 1.3, the server
// certificate under the coordinator's root, and client certificates
// requested but verified by the handlers (workload certificates against
// the PKI, user certificates against the manifests' user lists; neither
// fits one CA pool).
func (c *Coordinator) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.serverCert},
		ClientAuth:   tls.RequestClientCert,
	}
}

// Serve serves the API on ln until ctx ends, then shuts down gracefully.
func (c *Coordinator) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           c.Handler(),
		TLSConfig:         c.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
