package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/health/cache"
	"github.com/cofre-cc/cofre/health/careapi"
	"github.com/cofre-cc/cofre/health/front"
	"github.com/cofre-cc/cofre/infer/client"
	"github.com/cofre-cc/cofre/infer/models/chest"
	"github.com/cofre-cc/cofre/token"
)

type healthUpFlags struct {
	state    string
	listen   string
	portal   string
	password string
	redis    string
	onnx     string
}

func newHealthUpCmd() *cobra.Command {
	var f healthUpFlags
	cmd := &cobra.Command{
		Use:   "up [--listen 127.0.0.1:8080] [--portal health/portal/dist]",
		Short: "Start the whole healthcare platform on this machine (SIMULATION TEE) and serve the portal",
		Long: `Starts, on loopback: a development coordinator (SIMULATION) and the node
agent; a policy (signed by a generated owner) for the diagnostics service and
the care API; Redis with TLS 1.3, client certificates and an ACL user, its
certificate and password fetched from the coordinator by an operator account;
the diagnostics service (cofre infer serve, the demo chest model) and the care
API (cofre health care-api), each attested by cofre run; and the portal, whose
URL and staff sign-ins it prints. Ctrl-C stops everything.

Nothing here is confidential: the TEE is simulated, and says so everywhere.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runHealthUp(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.state, "state", "", "state directory (default: a temporary one, removed at exit)")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "where the portal is served (loopback)")
	fl.StringVar(&f.portal, "portal", "health/portal/dist", "the built portal (make portal)")
	fl.StringVar(&f.password, "password", "", "the demo staff password (default: random, printed)")
	fl.StringVar(&f.redis, "redis-server", "redis-server", "the redis-server program (Debian's is built with TLS)")
	fl.StringVar(&f.onnx, "onnxruntime", os.Getenv("COFRE_ONNXRUNTIME_LIB"), "the ONNX Runtime library (make onnxruntime; env COFRE_ONNXRUNTIME_LIB)")
	return cmd
}

// stack runs the platform's processes and stops them.
type stack struct {
	dir   string
	self  string
	out   io.Writer
	procs []*exec.Cmd
}

func (s *stack) start(name string, env []string, prog string, args ...string) (*exec.Cmd, string, error) {
	logPath := filepath.Join(s.dir, "logs", name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	go func() { cmd.Wait(); lf.Close() }()
	s.procs = append(s.procs, cmd)
	return cmd, logPath, nil
}

// waitFor waits until the log matches re (returning the first group) or
// the process exits.
func (s *stack) waitFor(name string, cmd *exec.Cmd, logPath string, re *regexp.Regexp, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		if m := re.FindSubmatch(b); m != nil {
			if len(m) > 1 {
				return string(m[1]), nil
			}
			return "", nil
		}
		if cmd.ProcessState != nil {
			return "", fmt.Errorf("%s exited:\n%s", name, tailOf(b))
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(logPath)
	return "", fmt.Errorf("%s not ready after %s:\n%s", name, timeout, tailOf(b))
}

func tailOf(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func (s *stack) stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range s.procs {
		for p.ProcessState == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if p.ProcessState == nil {
			syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		}
	}
}

// cofre runs this binary to completion and returns its stdout.
func (s *stack) cofre(env []string, args ...string) (string, error) {
	cmd := exec.Command(s.self, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("cofre %s: %v\n%s", args[0], err, errb.String())
	}
	return out.String(), nil
}

func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// writeKey writes a fresh P-256 key (PKCS #8 PEM) and its public half.
func writeKey(dir, name string) (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err := os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return k, os.WriteFile(filepath.Join(dir, name+".pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}

func runHealthUp(ctx context.Context, stdout, stderr io.Writer, f *healthUpFlags) error {
	if host, _, err := net.SplitHostPort(f.listen); err != nil || !localHost(host) {
		return usagef("--listen %q: want a loopback host:port (the portal is served over plain HTTP)", f.listen)
	}
	if _, err := os.Stat(filepath.Join(f.portal, "index.html")); err != nil {
		return usagef("--portal: %v (build it: make portal)", err)
	}
	portal, err := filepath.Abs(f.portal)
	if err != nil {
		return err
	}
	if f.onnx == "" {
		return usagef("--onnxruntime (or COFRE_ONNXRUNTIME_LIB) is required: make onnxruntime")
	}
	onnx, err := filepath.Abs(f.onnx)
	if err != nil {
		return err
	}
	redisBin, err := exec.LookPath(f.redis)
	if err != nil {
		return usagef("--redis-server: %v (apt-get install redis-server)", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir := f.state
	if dir == "" {
		if dir, err = os.MkdirTemp("", "cofre-health-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	for _, d := range []string{"logs", "keys", "models/chest", "shm", "audit"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	// Policy files go to memory where there is some.
	shm := filepath.Join(dir, "shm")
	if m, err := os.MkdirTemp("/dev/shm", "cofre-health-"); err == nil {
		shm = m
		defer os.RemoveAll(m)
	}
	s := &stack{dir: dir, self: self, out: stdout}
	defer s.stop()
	say := func(format string, args ...any) { fmt.Fprintf(stdout, "== "+format+"\n", args...) }

	// 1. People: the policy's owner, an operator who provisions Redis.
	keys := filepath.Join(dir, "keys")
	if _, err := writeKey(keys, "owner"); err != nil {
		return err
	}
	opsKey, err := writeKey(keys, "ops")
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ops"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	opsDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &opsKey.PublicKey, opsKey)
	if err != nil {
		return err
	}
	opsPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: opsDER})
	os.WriteFile(filepath.Join(keys, "ops.pem"), opsPEM, 0o644)

	// 2. The coordinator and the node agent.
	say("coordinator and node agent (SIMULATION TEE)")
	coordCmd, coordLog, err := s.start("coordinator", nil, self, "coordinator", "--dev", "--listen", "127.0.0.1:0", "--state", filepath.Join(dir, "coord"),
		"--log-level", "warn", "--admit-owner", filepath.Join(keys, "owner.pub"))
	if err != nil {
		return err
	}
	coordURL, err := s.waitFor("coordinator", coordCmd, coordLog, regexp.MustCompile(`cofre coordinator: listening on (https://\S+)`), 60*time.Second)
	if err != nil {
		return err
	}
	simRoot := filepath.Join(dir, "coord", "sim", "root-cert.pem")
	sock := filepath.Join(dir, "agent.sock")
	agentCmd, agentLog, err := s.start("agent", nil, self, "agent", "--listen", "unix://"+sock, "--sim-platform", filepath.Join(dir, "coord", "sim", "platform.pem"))
	if err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if agentCmd.ProcessState != nil {
			b, _ := os.ReadFile(agentLog)
			return fmt.Errorf("agent exited:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	coordEnv := []string{"COFRE_COORDINATOR=" + coordURL, "COFRE_INSECURE_SIMULATION=true"}

	// 3. The policy.
	digestOut, err := s.cofre(nil, "run", "--print-digest", "--", self)
	if err != nil {
		return err
	}
	digest := strings.TrimSpace(digestOut)
	ports := map[string]int{}
	for _, n := range []string{"redis", "diagnostics", "careapi"} {
		if ports[n], err = freeLoopbackPort(); err != nil {
			return err
		}
	}
	models := filepath.Join(dir, "models")
	if err := os.WriteFile(filepath.Join(models, "chest", "model.onnx"), chest.Model, 0o644); err != nil {
		return err
	}
	password := f.password
	if password == "" {
		b := make([]byte, 9)
		rand.Read(b)
		password = fmt.Sprintf("%x", b)
	}
	var accounts []careapi.Account
	for _, a := range []struct {
		user string
		role careapi.Role
	}{{"clinician", careapi.RoleClinician}, {"admin", careapi.RoleAdmin}} {
		h, err := careapi.HashPassword(password)
		if err != nil {
			return err
		}
		accounts = append(accounts, careapi.Account{Username: a.user, Role: a.role, PasswordHash: h})
	}
	accountsJSON, err := json.Marshal(accounts)
	if err != nil {
		return err
	}
	doc := healthManifest(manifestParams{
		ownerPub: readString(filepath.Join(keys, "owner.pub")), opsCert: string(opsPEM), digest: digest, self: self,
		models: models, onnx: onnx, ports: ports, accounts: string(accountsJSON), audit: filepath.Join(dir, "audit"),
	})
	mf := filepath.Join(dir, "health.yaml")
	if err := os.WriteFile(mf, []byte(doc), 0o644); err != nil {
		return err
	}
	sig := filepath.Join(dir, "health.sig")
	if _, err := s.cofre(nil, "manifest", "sign", "--key", filepath.Join(keys, "owner.key"), "--owner", "owner", "-o", sig, mf); err != nil {
		return err
	}
	if _, err := s.cofre(coordEnv, "manifest", "set", "--sim-root", simRoot, mf, sig); err != nil {
		return err
	}
	say("policy set: the cofre binary (sha256 %s) may run the diagnostics service and the care API", digest)

	// 4. Redis: the operator fetches its certificate and password.
	say("Redis on 127.0.0.1:%d (TLS 1.3 only, client certificates, ACL, no persistence)", ports["redis"])
	opsEnv := append([]string{"COFRE_CERT=" + filepath.Join(keys, "ops.pem"), "COFRE_KEY=" + filepath.Join(keys, "ops.key")}, coordEnv...)
	secret := func(name string) (*api.SecretResponse, error) {
		out, err := s.cofre(opsEnv, "secret", "get", "--sim-root", simRoot, "--json", "health", name, "-o", "-")
		if err != nil {
			return nil, err
		}
		var r api.SecretResponse
		return &r, json.Unmarshal([]byte(out), &r)
	}
	rs, err := secret("redis_server")
	if err != nil {
		return err
	}
	rca, err := secret("redis_ca")
	if err != nil {
		return err
	}
	rpw, err := secret("redis_password")
	if err != nil {
		return err
	}
	// The Redis host's own administrator (untrusted: the point is that it
	// sees no patient data): a user with every command, and a client
	// certificate from the Redis CA, described in redis-ops.json for
	// inspection tools (and the tests that scan Redis).
	opsRedisPassword, err := writeRedisOps(dir, ports["redis"], rca)
	if err != nil {
		return err
	}
	rdir := filepath.Join(shm, "redis")
	os.MkdirAll(rdir, 0o700)
	os.WriteFile(filepath.Join(rdir, "server.pem"), []byte(rs.Certificate+rs.Chain), 0o600)
	os.WriteFile(filepath.Join(rdir, "server.key"), []byte(rs.PrivateKey), 0o600)
	os.WriteFile(filepath.Join(rdir, "ca.pem"), []byte(rca.Certificate), 0o600)
	conf := fmt.Sprintf(`bind 127.0.0.1
port 0
tls-port %d
tls-cert-file %s
tls-key-file %s
tls-ca-cert-file %s
tls-auth-clients yes
tls-protocols "TLSv1.3"
protected-mode yes
save ""
appendonly no
dir %s
user default off resetkeys resetchannels -@all
user careapi on >%s %s
user ops on >%s +@all ~* &*
`, ports["redis"], filepath.Join(rdir, "server.pem"), filepath.Join(rdir, "server.key"), filepath.Join(rdir, "ca.pem"), rdir, string(rpw.Value), cache.ACLRules, opsRedisPassword)
	if err := os.WriteFile(filepath.Join(rdir, "redis.conf"), []byte(conf), 0o600); err != nil {
		return err
	}
	redisCmd, redisLog, err := s.start("redis", nil, redisBin, filepath.Join(rdir, "redis.conf"))
	if err != nil {
		return err
	}
	if _, err := s.waitFor("redis", redisCmd, redisLog, regexp.MustCompile(`Ready to accept connections`), 30*time.Second); err != nil {
		return err
	}

	// 5. The attested services.
	run := func(svc string) (*exec.Cmd, string, error) {
		env := append([]string{
			"COFRE_RUN_SIM_ROOT=" + simRoot, "COFRE_RUN_MANIFEST=health", "COFRE_RUN_SERVICE=" + svc,
			"COFRE_RUN_AGENT=unix://" + sock, "COFRE_RUN_FILES_ROOT=" + filepath.Join(shm, svc),
			"COFRE_RUN_TOKEN_FILE=" + filepath.Join(shm, svc+".token"),
		}, coordEnv...)
		return s.start(svc, env, self, "run", "--supervise", "--", self)
	}
	say("diagnostics service (cofre infer serve, attested) on https://127.0.0.1:%d", ports["diagnostics"])
	dc, dl, err := run("diagnostics")
	if err != nil {
		return err
	}
	if _, err := s.waitFor("diagnostics", dc, dl, regexp.MustCompile(`cofre infer: serving`), 90*time.Second); err != nil {
		return err
	}
	say("care API (cofre health careapi, attested) on https://127.0.0.1:%d", ports["careapi"])
	cc, cl, err := run("careapi")
	if err != nil {
		return err
	}
	if _, err := s.waitFor("careapi", cc, cl, regexp.MustCompile(`cofre health careapi: serving`), 90*time.Second); err != nil {
		return err
	}

	// 6. The portal's origin: verifies the care API like any caller, then
	// proxies ciphertext to it.
	var cf coordFlags
	cf.url, cf.insecureSimulation, cf.trust.simRoots = coordURL, true, []string{simRoot}
	cf.cert, cf.key = filepath.Join(keys, "ops.pem"), filepath.Join(keys, "ops.key")
	cc2, err := cf.connect(ctx, stderr)
	if err != nil {
		return err
	}
	jwks, issuer, err := cc2.TokenVerifier(ctx)
	if err != nil {
		return err
	}
	careURL := fmt.Sprintf("https://127.0.0.1:%d", ports["careapi"])
	opts, err := cf.options()
	if err != nil {
		return err
	}
	careClient, err := client.New(client.Options{URL: careURL, Certificate: opts.Certificate, Token: func() string { return "" }, AttestationPath: "/api/attestation",
		Service: token.Options{JWKS: jwks, Issuer: issuer, ExpectedMeasurements: mustMeasurements(digest), AllowSimulation: true}})
	if err != nil {
		return err
	}
	if _, err := careClient.Attest(ctx); err != nil {
		return fmt.Errorf("the care API's attestation: %w", err)
	}
	u, _ := url.Parse(careURL)
	portalConfig, _ := json.Marshal(map[string]any{
		"careApi": "", "jwksUrl": "/jwks.json", "issuer": issuer, "measurements": []string{digest},
		"allowSimulation": true, "algorithms": []string{"ES256"}, "service": "careapi",
	})
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	h, err := front.Handler(front.Config{Static: portal, PortalConfig: portalConfig, CareAPI: u, CareAPIClient: careClient.HTTPClient(),
		JWKS:  func(ctx context.Context) ([]byte, error) { return fetchJWKS(ctx, jwks) },
		Hosts: []string{"localhost:" + port, "127.0.0.1:" + port}})
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Fprintf(stdout, `
cofre health is up — SIMULATION: nothing here is confidential.

  portal:    http://localhost:%s/
  sign in:   clinician / %s   (or admin / %s)
  logs:      %s
  audit logs: %s (one per care API instance)

Ctrl-C stops everything.
`, port, password, password, filepath.Join(dir, "logs"), filepath.Join(dir, "audit"))
	<-ctx.Done()
	say("stopping")
	return nil
}

func readString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func mustMeasurements(hexes ...string) []attest.Hex {
	m, _ := parseMeasurements("measurement", hexes)
	return m
}

// fetchJWKS reads the coordinator's key set over the verified connection.
func fetchJWKS(ctx context.Context, j *token.RemoteJWKS) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := j.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// writeRedisOps mints the Redis administrator's client certificate under
// the Redis CA and writes redis-ops.json (0600) describing the account.
func writeRedisOps(dir string, port int, ca *api.SecretResponse) (string, error) {
	caBlock, _ := pem.Decode([]byte(ca.Certificate))
	keyBlock, _ := pem.Decode([]byte(ca.PrivateKey))
	if caBlock == nil || keyBlock == nil {
		return "", errors.New("redis_ca: no certificate or key")
	}
	caCert, err := x509.ParseCertificate(caBlock.Bytes)
	if err != nil {
		return "", err
	}
	caKey, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		return "", err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "redis-ops"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(k)
	pw := make([]byte, 16)
	rand.Read(pw)
	password := fmt.Sprintf("%x", pw)
	b, _ := json.MarshalIndent(map[string]string{
		"addr": fmt.Sprintf("127.0.0.1:%d", port), "username": "ops", "password": password, "ca": ca.Certificate,
		"cert": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		"key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}, "", "  ")
	return password, os.WriteFile(filepath.Join(dir, "redis-ops.json"), b, 0o600)
}
