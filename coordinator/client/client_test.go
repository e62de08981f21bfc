package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
	"github.com/cofre-cc/cofre/coordinator/api"
)

func TestVerifyAccepts(t *testing.T) {
	f := newFake(t)
	m := sha256.Sum256([]byte("coordinator"))
	tests := []struct {
		name string
		opts func(o *Options)
	}{
		{"simulation without a policy", func(o *Options) {}},
		{"simulation with a policy", func(o *Options) { o.Policy = simPolicy(m[:]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := f.options()
			tt.opts(&opts)
			if opts.Policy != nil {
				if err := opts.Policy.Validate(); err != nil {
					t.Fatal(err)
				}
			}
			c := f.client(t, opts)
			if c.Root() != nil {
				t.Fatal("Root() set before Verify")
			}
			if err := c.Verify(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !c.Root().Equal(f.root.cert) {
				t.Error("Root() is not the attested root")
			}
			if !c.Simulation() {
				t.Error("Simulation() false for sim evidence")
			}
		})
	}
}

func TestVerifyRefusals(t *testing.T) {
	m := sha256.Sum256([]byte("coordinator"))
	other := sha256.Sum256([]byte("other code"))
	tests := []struct {
		name      string
		setup     func(t *testing.T, f *fake)
		opts      func(f *fake, o *Options)
		wantCheck string
		want      error
	}{
		{
			name:      "evidence bound to another root",
			setup:     func(t *testing.T, f *fake) { f.set(func(f *fake) { f.bindRoot = newCA(t, "other", nil).cert }) },
			wantCheck: "binding", want: attest.ErrBinding,
		},
		{
			name:      "replayed evidence (another nonce)",
			setup:     func(t *testing.T, f *fake) { f.set(func(f *fake) { f.fixedNonce = make([]byte, attest.NonceSize) }) },
			wantCheck: "binding", want: attest.ErrBinding,
		},
		{
			name:      "simulation without InsecureSimulation",
			opts:      func(f *fake, o *Options) { o.InsecureSimulation = false; o.Policy = simPolicy(m[:]) },
			wantCheck: "simulation", want: ErrSimulation,
		},
		{
			name:      "policy mismatch",
			opts:      func(f *fake, o *Options) { o.Policy = simPolicy(other[:]) },
			wantCheck: "appraisal", want: ErrPolicy,
		},
		{
			name: "policy without allow_simulation",
			opts: func(f *fake, o *Options) {
				o.Policy = simPolicy(m[:])
				o.Policy.AllowSimulation = false
			},
			wantCheck: "appraisal", want: ErrPolicy,
		},
		{
			name: "sim platform not trusted",
			opts: func(f *fake, o *Options) {
				r, err := sim.NewRoot(epoch, time.Hour*24)
				if err != nil {
					panic(err)
				}
				pool := x509.NewCertPool()
				pool.AddCert(r.Cert)
				o.Registry = attest.NewRegistry(sim.NewVerifier(pool))
			},
			wantCheck: "evidence", want: attest.ErrCertificate,
		},
		{
			name: "TLS certificate from another root",
			setup: func(t *testing.T, f *fake) {
				f.set(func(f *fake) { f.cert = serverCert(t, newCA(t, "evil", nil), nil, epoch.Add(24*time.Hour)) })
			},
			wantCheck: "tls certificate", want: ErrCertificate,
		},
		{
			name: "TLS certificate under an intermediate of the root",
			setup: func(t *testing.T, f *fake) {
				inter := newCA(t, "cofre m v1", f.root)
				f.set(func(f *fake) { f.cert = serverCert(t, inter, []*x509.Certificate{inter.cert}, epoch.Add(24*time.Hour)) })
			},
			wantCheck: "tls certificate", want: ErrCertificate,
		},
		{
			name: "TLS certificate expired",
			setup: func(t *testing.T, f *fake) {
				f.set(func(f *fake) { f.cert = serverCert(t, f.root, nil, epoch.Add(time.Minute)) })
			},
			wantCheck: "tls certificate", want: ErrCertificate,
		},
		{
			name: "garbage response",
			setup: func(t *testing.T, f *fake) {
				f.set(func(f *fake) {
					f.attestation = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"evidence":`) }
				})
			},
			wantCheck: "response", want: ErrResponse,
		},
		{
			name: "root certificate does not parse",
			setup: func(t *testing.T, f *fake) {
				f.set(func(f *fake) {
					f.attestation = func(w http.ResponseWriter, r *http.Request) {
						writeJSON(w, 200, api.AttestationResponse{Evidence: api.Evidence{Format: "sim.v1", Data: []byte("x")}, RootCertificate: []byte{0x30, 0}})
					}
				})
			},
			wantCheck: "response", want: ErrResponse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			opts := f.options()
			if tt.opts != nil {
				tt.opts(f, &opts)
			}
			c := f.client(t, opts)
			err := c.Verify(context.Background())
			var re *RefusalError
			if !errors.Is(err, ErrRefused) || !errors.Is(err, tt.want) || !errors.As(err, &re) || re.Check != tt.wantCheck {
				t.Fatalf("Verify() = %v; want a %q refusal wrapping %v", err, tt.wantCheck, tt.want)
			}
			if c.Root() != nil {
				t.Error("Root() set after a refusal")
			}
			// Nothing else is sent to an unverified coordinator.
			f.set(func(f *fake) {
				f.handler = func(w http.ResponseWriter, r *http.Request) { t.Errorf("request %s reached the server", r.URL.Path) }
			})
			if _, err := c.Status(context.Background()); !errors.Is(err, ErrRefused) {
				t.Errorf("Status() after a refusal = %v, want ErrRefused", err)
			}
		})
	}
}

func TestVerifyPolicyReasons(t *testing.T) {
	f := newFake(t)
	other := sha256.Sum256([]byte("other code"))
	opts := f.options()
	opts.Policy = simPolicy(other[:])
	err := f.client(t, opts).Verify(context.Background())
	var re *RefusalError
	if !errors.As(err, &re) || len(re.Reasons) == 0 {
		t.Fatalf("Verify() = %v, want appraisal reasons", err)
	}
	if !strings.Contains(err.Error(), "measurement") {
		t.Errorf("error %q does not name the measurement", err)
	}
}

// hwVerifier pretends to verify SEV-SNP evidence whose payload is the report
// data: hardware evidence, for the rules that treat it apart from sim.
type hwVerifier struct{}

func (hwVerifier) Format() string { return attest.FormatSEVSNP }
func (hwVerifier) Verify(_ context.Context, ev attest.Evidence, _ attest.Options) (*attest.Claims, error) {
	return &attest.Claims{Format: attest.FormatSEVSNP, TEE: attest.TEESEVSNP, Measurement: []byte{1}, ReportData: ev.Payload, TCBStatus: attest.TCBUpToDate}, nil
}

func TestHardwareEvidenceNeedsAPolicy(t *testing.T) {
	f := newFake(t)
	f.set(func(f *fake) {
		f.attestation = func(w http.ResponseWriter, r *http.Request) {
			nonce, _ := hexDecode(r.URL.Query().Get(api.NonceQueryParam))
			rd, _ := attest.ReportData(nonce, f.root.cert.RawSubjectPublicKeyInfo, nil)
			writeJSON(w, 200, api.AttestationResponse{Evidence: api.Evidence{Format: attest.FormatSEVSNP, Data: rd[:]}, RootCertificate: f.root.cert.Raw})
		}
	})
	opts := Options{Registry: attest.NewRegistry(hwVerifier{}), InsecureSimulation: true, Now: at}
	err := f.client(t, opts).Verify(context.Background())
	if !errors.Is(err, ErrPolicy) || !errors.Is(err, ErrRefused) {
		t.Fatalf("hardware evidence without a policy: %v, want ErrPolicy", err)
	}
	// With a policy that lists it, the same evidence is accepted and the
	// client does not claim simulation.
	opts.InsecureSimulation = false
	opts.Policy = &appraisePolicyHW
	c := f.client(t, opts)
	if err := c.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.Simulation() {
		t.Error("Simulation() true for hardware evidence")
	}
}

func TestAttestationUnavailableIsNotARefusal(t *testing.T) {
	f := newFake(t)
	f.set(func(f *fake) {
		f.attestation = func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, api.Error{Code: api.CodeInternal, Message: "starting"})
		}
	})
	err := f.client(t, f.options()).Verify(context.Background())
	var ae *APIError
	if errors.Is(err, ErrRefused) || !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		t.Fatalf("Verify() = %v, want a 503 *APIError", err)
	}
	// Unreachable: a closed server.
	f.srv.Close()
	err = f.client(t, f.options()).Verify(context.Background())
	if err == nil || errors.Is(err, ErrRefused) || errors.As(err, &ae) {
		t.Fatalf("Verify() on a closed server = %v, want a transport error", err)
	}
}

func TestPinnedAfterVerify(t *testing.T) {
	f := newFake(t)
	user := userCert(t)
	var sawCert sync.Map
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) {
			if len(r.TLS.PeerCertificates) > 0 {
				sawCert.Store(r.URL.Path, r.TLS.PeerCertificates[0].Raw)
			}
			writeJSON(w, 200, api.Status{TrustDomain: "cofre.test"})
		}
	})
	opts := f.options()
	opts.Certificate = &user
	c := f.client(t, opts)
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.TrustDomain != "cofre.test" || f.attestations.Load() != 1 {
		t.Fatalf("status %+v after %d attestations", st, f.attestations.Load())
	}
	if b, ok := sawCert.Load(api.PathStatus); !ok || !bytes.Equal(b.([]byte), user.Leaf.Raw) {
		t.Error("the client certificate was not presented to the verified coordinator")
	}
	// A second call does not attest again.
	if _, err := c.Status(context.Background()); err != nil || f.attestations.Load() != 1 {
		t.Fatalf("second Status: %v, %d attestations", err, f.attestations.Load())
	}
	// The server's certificate changes to one the root did not issue: the
	// verified client refuses the new connection.
	f.set(func(f *fake) { f.cert = serverCert(t, newCA(t, "evil", nil), nil, epoch.Add(24*time.Hour)) })
	f.srv.CloseClientConnections()
	if _, err := c.Status(context.Background()); !errors.Is(err, ErrCertificate) || !errors.Is(err, ErrRefused) {
		t.Fatalf("Status() with a foreign certificate = %v, want ErrCertificate and ErrRefused", err)
	}
}

// TestGetCertificate: the certificate GetCertificate returns is presented,
// a changed one on new connections (the old pool would present the
// superseded one), and its error fails the request.
func TestGetCertificate(t *testing.T) {
	f := newFake(t)
	first, second := userCert(t), userCert(t)
	var mu sync.Mutex
	var saw [][]byte
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if len(r.TLS.PeerCertificates) > 0 {
				saw = append(saw, r.TLS.PeerCertificates[0].Raw)
			} else {
				saw = append(saw, nil)
			}
			mu.Unlock()
			writeJSON(w, 200, api.Status{TrustDomain: "cofre.test"})
		}
	})
	current := &first
	var getErr error
	opts := f.options()
	opts.Certificate = &second // GetCertificate wins
	opts.GetCertificate = func() (*tls.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		return current, getErr
	}
	c := f.client(t, opts)
	status := func() {
		t.Helper()
		if _, err := c.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	last := func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return saw[len(saw)-1]
	}
	status()
	status()
	if !bytes.Equal(last(), first.Leaf.Raw) {
		t.Fatal("the certificate GetCertificate returned was not presented")
	}
	mu.Lock()
	current = &second
	mu.Unlock()
	status()
	if !bytes.Equal(last(), second.Leaf.Raw) {
		t.Fatal("after the certificate changed, the old one was presented")
	}
	// Errors and empty answers fail the request, and say so.
	mu.Lock()
	getErr = errors.New("half-written key file")
	mu.Unlock()
	if _, err := c.Status(context.Background()); err == nil || !strings.Contains(err.Error(), "half-written key file") {
		t.Fatalf("Status with a failing GetCertificate: %v", err)
	}
	mu.Lock()
	getErr, current = nil, &tls.Certificate{}
	mu.Unlock()
	if _, err := c.Status(context.Background()); err == nil || !strings.Contains(err.Error(), "returned none") {
		t.Fatalf("Status with an empty certificate: %v", err)
	}
	// Without GetCertificate, Certificate still works.
	opts.GetCertificate, opts.Certificate = nil, &first
	c = f.client(t, opts)
	status()
	if !bytes.Equal(last(), first.Leaf.Raw) {
		t.Fatal("Certificate was not presented")
	}
}

func TestBootstrapSendsNoClientCertificate(t *testing.T) {
	f := newFake(t)
	user := userCert(t)
	var presented bool
	f.set(func(f *fake) {
		f.attestation = func(w http.ResponseWriter, r *http.Request) {
			presented = len(r.TLS.PeerCertificates) > 0
			f.serveAttestation(w, r)
		}
	})
	opts := f.options()
	opts.Certificate = &user
	if err := f.client(t, opts).Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	if presented {
		t.Error("the client certificate was presented to an unverified server")
	}
}

func TestPinnedRoot(t *testing.T) {
	f := newFake(t)
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, api.Status{TrustDomain: "pinned"}) }
	})
	c := f.client(t, Options{Root: f.root.cert, Now: at})
	if st, err := c.Status(context.Background()); err != nil || st.TrustDomain != "pinned" {
		t.Fatalf("Status() = %+v, %v", st, err)
	}
	if n := f.attestations.Load(); n != 0 {
		t.Errorf("%d attestations with a pinned root", n)
	}
	if c.Simulation() {
		t.Error("Simulation() true without the header")
	}
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(api.HeaderSimulation, "true")
			writeJSON(w, 200, api.Status{})
		}
	})
	if _, err := c.Status(context.Background()); err != nil || !c.Simulation() {
		t.Errorf("Status() = %v; Simulation() = %v, want true after the header", err, c.Simulation())
	}
	// Another coordinator's root pinned: refused.
	c = f.client(t, Options{Root: newCA(t, "other", nil).cert, Now: at})
	var re *RefusalError
	if _, err := c.Status(context.Background()); !errors.Is(err, ErrCertificate) || !errors.As(err, &re) {
		t.Fatalf("Status() under another pinned root = %v, want a RefusalError wrapping ErrCertificate", err)
	}
}

func TestConcurrentFirstCallsAttestOnce(t *testing.T) {
	f := newFake(t)
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, api.Status{}) }
	})
	c := f.client(t, f.options())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.Status(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.attestations.Load(); n != 1 {
		t.Errorf("%d attestations, want 1", n)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	f := newFake(t)
	notCA := serverCert(t, f.root, nil, epoch.Add(time.Hour)).Leaf
	tests := []struct {
		name string
		url  string
		opts Options
	}{
		{"http", "http://127.0.0.1:1", f.options()},
		{"no host", "https://", f.options()},
		{"query", "https://h/?a=b", f.options()},
		{"user info", "https://u:p@h/", f.options()},
		{"no registry", "https://h", Options{InsecureSimulation: true}},
		{"no policy", "https://h", Options{Registry: f.registry()}},
		{"pinned root not a CA", "https://h", Options{Root: notCA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.url, tt.opts); err == nil {
				t.Fatal("New accepted")
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	f := newFake(t)
	type seen struct {
		method, path, query string
		body                []byte
	}
	var got seen
	var reply any
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got = seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, b}
			if s, ok := reply.(string); ok {
				w.Header().Set("Content-Type", api.ContentTypeAuditLines)
				io.WriteString(w, s)
				return
			}
			writeJSON(w, 200, reply)
		}
	})
	c := f.client(t, f.options())
	ctx := context.Background()
	tests := []struct {
		name         string
		reply        any
		call         func() (any, error)
		method, path string
		query        string
		body         any // JSON sent, or nil
		want         any // decoded result
	}{
		{"status", api.Status{TrustDomain: "td"}, func() (any, error) { return c.Status(ctx) },
			"GET", "/v1/status", "", nil, &api.Status{TrustDomain: "td"}},
		{"challenge", api.Challenge{Nonce: []byte{1}}, func() (any, error) { return c.Challenge(ctx) },
			"POST", "/v1/activate/challenge", "", nil, &api.Challenge{Nonce: []byte{1}}},
		{"activate", api.ActivateResponse{Instance: "i"}, func() (any, error) {
			return c.Activate(ctx, &api.ActivateRequest{Manifest: "m", Service: "s"})
		}, "POST", "/v1/activate", "", api.ActivateRequest{Manifest: "m", Service: "s"}, &api.ActivateResponse{Instance: "i"}},
		{"renew", api.RenewResponse{Certificate: []byte{2}}, func() (any, error) { return c.Renew(ctx, []byte{3}) },
			"POST", "/v1/renew", "", api.RenewRequest{CSR: []byte{3}}, &api.RenewResponse{Certificate: []byte{2}}},
		{"wrap", api.KMSResponse{Wrapped: "w", KeyVersion: 1}, func() (any, error) { return c.Wrap(ctx, "k", []byte{4}) },
			"POST", "/v1/kms/wrap", "", api.KMSRequest{Key: "k", Plaintext: []byte{4}}, &api.KMSResponse{Wrapped: "w", KeyVersion: 1}},
		{"unwrap", api.KMSResponse{Plaintext: []byte{4}}, func() (any, error) { return c.Unwrap(ctx, "k", "w") },
			"POST", "/v1/kms/unwrap", "", api.KMSRequest{Key: "k", Wrapped: "w"}, &api.KMSResponse{Plaintext: []byte{4}}},
		{"generate", api.KMSResponse{Wrapped: "w"}, func() (any, error) { return c.GenerateDataKey(ctx, "k", 16) },
			"POST", "/v1/kms/generate-data-key", "", api.KMSRequest{Key: "k", Size: 16}, &api.KMSResponse{Wrapped: "w"}},
		{"set manifest", api.ManifestInfo{Name: "m", Version: 1}, func() (any, error) {
			return c.SetManifest(ctx, "m", []byte("name: m"), [][]byte{[]byte("{}")})
		}, "PUT", "/v1/manifests/m", "", api.ManifestUpload{Document: []byte("name: m"), Signatures: [][]byte{[]byte("{}")}}, &api.ManifestInfo{Name: "m", Version: 1}},
		{"manifest", api.ManifestResponse{Info: api.ManifestInfo{Name: "m"}}, func() (any, error) { return c.Manifest(ctx, "m") },
			"GET", "/v1/manifests/m", "", nil, &api.ManifestResponse{Info: api.ManifestInfo{Name: "m"}}},
		{"manifest name escaped", api.ManifestResponse{}, func() (any, error) { return c.Manifest(ctx, "../a/b") },
			"GET", "/v1/manifests/..%2Fa%2Fb", "", nil, &api.ManifestResponse{}},
		{"manifest log", []api.ManifestInfo{{Version: 1}, {Version: 2}}, func() (any, error) { return c.ManifestLog(ctx, "m") },
			"GET", "/v1/manifests/m/log", "", nil, []api.ManifestInfo{{Version: 1}, {Version: 2}}},
		{"set secret", nil, func() (any, error) { return nil, c.SetSecret(ctx, "m", "db", []byte("pw")) },
			"PUT", "/v1/manifests/m/secrets/db", "", api.SecretUpload{Value: []byte("pw")}, nil},
		{"secret", api.SecretResponse{Kind: "ascii", Value: []byte("pw")}, func() (any, error) { return c.Secret(ctx, "m", "db") },
			"GET", "/v1/manifests/m/secrets/db", "", nil, &api.SecretResponse{Kind: "ascii", Value: []byte("pw")}},
		{"audit head", api.SignedAuditHead{Head: api.AuditHead{Seq: 3}}, func() (any, error) { return c.AuditHead(ctx) },
			"GET", "/v1/audit/head", "", nil, &api.SignedAuditHead{Head: api.AuditHead{Seq: 3}}},
		{"audit log", "{\"seq\":7}\n", func() (any, error) {
			rc, err := c.AuditLog(ctx, 7)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			return string(b), err
		}, "GET", "/v1/audit", "from=7", nil, "{\"seq\":7}\n"},
		{"recovery status", api.RecoveryStatus{Manifests: []api.RecoveryManifest{{Name: "m"}}}, func() (any, error) { return c.RecoveryStatus(ctx) },
			"GET", "/v1/recovery", "", nil, &api.RecoveryStatus{Manifests: []api.RecoveryManifest{{Name: "m"}}}},
		{"recovery record", map[string]int{"v": 1}, func() (any, error) {
			b, err := c.RecoveryRecord(ctx, "m")
			return string(bytes.TrimSpace(b)), err
		}, "GET", "/v1/recovery/m", "", nil, `{"v":1}`},
		{"submit share", api.RecoveryResult{Remaining: 1}, func() (any, error) {
			return c.SubmitShare(ctx, "m", &api.RecoveryShare{Holder: "h", Share: []byte{5}})
		}, "POST", "/v1/recovery/m", "", api.RecoveryShare{Holder: "h", Share: []byte{5}}, &api.RecoveryResult{Remaining: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply = tt.reply
			res, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if got.method != tt.method || got.path != tt.path || got.query != tt.query {
				t.Errorf("request %s %s?%s, want %s %s?%s", got.method, got.path, got.query, tt.method, tt.path, tt.query)
			}
			wantBody := []byte{}
			if tt.body != nil {
				wantBody, _ = json.Marshal(tt.body)
			}
			if !bytes.Equal(bytes.TrimSpace(got.body), wantBody) {
				t.Errorf("body %s, want %s", got.body, wantBody)
			}
			if tt.want != nil && !jsonEqual(res, tt.want) {
				t.Errorf("result %+v, want %+v", res, tt.want)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestAPIErrors(t *testing.T) {
	f := newFake(t)
	var status int
	var body string
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	})
	c := f.client(t, f.options())
	tests := []struct {
		name        string
		status      int
		body        string
		wantCode    string
		wantMessage string
		wantReasons int
	}{
		{"forbidden", 403, `{"code":"forbidden","message":"user alice has no role writing secret db"}`, api.CodeForbidden, "user alice has no role writing secret db", 0},
		{"refused with reasons", 403, `{"code":"refused","message":"activation refused","reasons":[{"check":"appraisal","field":"measurement","expected":"aa","actual":"bb"}]}`, api.CodeRefused, "activation refused", 1},
		{"conflict", 409, `{"code":"conflict","message":"stale predecessor"}`, api.CodeConflict, "stale predecessor", 0},
		{"not JSON, escapes stripped", 502, "bad gateway\x1b[31m\x07", "", "bad gateway[31m", 0},
		{"JSON without a code", 500, `{"message":"x"}`, "", `{"message":"x"}`, 0},
		{"empty", 404, ``, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body = tt.status, tt.body
			_, err := c.Status(context.Background())
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("Status() = %v, want *APIError", err)
			}
			if ae.Status != tt.status || ae.Code != tt.wantCode || ae.Message != tt.wantMessage || len(ae.Reasons) != tt.wantReasons {
				t.Fatalf("APIError = %+v, want %d %q %q with %d reasons", ae, tt.status, tt.wantCode, tt.wantMessage, tt.wantReasons)
			}
			if errors.Is(err, ErrRefused) {
				t.Error("an API error is not a refusal of the coordinator")
			}
		})
	}
}

func TestBoundedResponses(t *testing.T) {
	f := newFake(t)
	f.set(func(f *fake) {
		f.handler = func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == api.PathAuditHead {
				http.Redirect(w, r, "https://example.invalid/", http.StatusFound)
				return
			}
			w.Write(bytes.Repeat([]byte(" "), maxResponseBody+1))
		}
	})
	c := f.client(t, f.options())
	if _, err := c.Status(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized response: %v", err)
	}
	if _, err := c.AuditHead(context.Background()); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("redirect: %v", err)
	}
}

func hexDecode(s string) ([]byte, error) {
	var b attest.Hex
	err := b.UnmarshalText([]byte(s))
	return b, err
}

// appraisePolicyHW admits hwVerifier's claims.
var appraisePolicyHW = appraise.Policy{
	Name:       "coordinator-hw",
	References: []appraise.Reference{{TEE: attest.TEESEVSNP, Measurements: []attest.Hex{{1}}}},
}
