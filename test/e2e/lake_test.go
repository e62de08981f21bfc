//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lakeStack is a coordinator (dev, SIMULATION) and a node agent, with cofre
// itself as the measured workload binary: the services of a data-lake
// manifest run cofre datagen, cofre query or cofre spark submit under
// cofre run.
type lakeStack struct {
	*runStack
	digest string // of the cofre binary
}

func newLakeStack(t *testing.T) *lakeStack {
	t.Helper()
	s := &runStack{t: t, bin: os.Getenv("COFRE_BIN"), state: t.TempDir()}
	s.fleet = newFleet(t, s.state)
	s.coord = startCoordinator(t, s.state)
	s.fleet.loadPlatform()
	s.agent = startAgent(t, filepath.Join(s.state, "sim", "platform.pem"))
	shm, err := os.MkdirTemp("/dev/shm", "cofre-e2e-")
	if err != nil {
		t.Fatalf("/dev/shm is needed (memory-backed files): %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	s.shm = shm
	return &lakeStack{runStack: s, digest: strings.TrimSpace(s.cofre(0, nil, "run", "--print-digest", "--", s.bin))}
}

// lakeService is one service of the manifest: cofre with args, the KMS
// grants, extra environment and volumes (name → path, scratch).
type lakeService struct {
	name, grants string
	args         []string
	env          map[string]string
	volumes      map[string]string
	files        map[string]string // path → template, besides the certificate
}

func (l *lakeStack) setManifest(name string, services []lakeService, secrets string) {
	t := l.t
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nversion: 1\nowners:\n", name)
	for i, k := range l.fleet.owners {
		fmt.Fprintf(&b, "  o%d:\n    public_key: |\n%s\n", i, indentLines(pemOf("PUBLIC KEY", mustPKIX(t, &k.PublicKey)), 6))
	}
	fmt.Fprintf(&b, "update_threshold: 2\npackages:\n  cofre:\n    references:\n      - tee: sim\n        measurements: [%s]\nservices:\n", l.digest)
	for _, s := range services {
		q := make([]string, len(s.args))
		for i, a := range s.args {
			q[i] = fmt.Sprintf("%q", a)
		}
		fmt.Fprintf(&b, `  %s:
    package: cofre
    command: [%q, %s]
    workload_digests: [%s]
    env:
      COFRE_CERT: /etc/cofre/workload.pem
      COFRE_KEY: /etc/cofre/workload.key
`, s.name, l.bin, strings.Join(q, ", "), l.digest)
		for k, v := range s.env {
			fmt.Fprintf(&b, "      %s: %q\n", k, v)
		}
		b.WriteString("    files:\n      /etc/cofre/workload.pem: '{{ workload \"chain-pem\" }}'\n      /etc/cofre/workload.key: '{{ workload \"key-pem\" }}'\n")
		for p, tmpl := range s.files {
			fmt.Fprintf(&b, "      %s: '%s'\n", p, tmpl)
		}
		if len(s.volumes) > 0 {
			b.WriteString("    volumes:\n")
			for v, p := range s.volumes {
				fmt.Fprintf(&b, "      %s:\n        path: %s\n        key: volume_key\n        scratch: true\n", v, p)
			}
		}
		fmt.Fprintf(&b, "    kms_grants: [%s]\n", s.grants)
	}
	fmt.Fprintf(&b, "secrets:\n  volume_key: {kind: symmetric, shared: false}\n%sattestation:\n  allow_simulation: true\n", secrets)
	doc := []byte(b.String())
	admin := l.fleet.client(l.coord.url, &l.fleet.user)
	if _, err := admin.SetManifest(context.Background(), name, doc, l.fleet.sign(t, doc)); err != nil {
		t.Fatalf("manifest: %v\n%s", err, doc)
	}
}

// run starts service svc of manifest under cofre run (supervised, so its
// volumes are mounted) and checks the exit code.
func (l *lakeStack) run(want int, manifest, svc string) string {
	l.t.Helper()
	return l.cofre(want, l.runEnvFor(manifest, svc, svc), "run", "--supervise", "--", l.bin)
}

// tokenFile is where cofre run writes an instance's workload token.
func (l *lakeStack) tokenFile(instance string) string {
	return filepath.Join(l.shm, instance+".token")
}

// runEnvFor is cofre run's environment for one instance of a service:
// instance names its memory-backed files and its volumes' backing store.
func (l *lakeStack) runEnvFor(manifest, svc, instance string) []string {
	return []string{
		"COFRE_COORDINATOR=" + l.coord.url,
		"COFRE_INSECURE_SIMULATION=true",
		"COFRE_RUN_SIM_ROOT=" + filepath.Join(l.state, "sim", "root-cert.pem"),
		"COFRE_RUN_MANIFEST=" + manifest,
		"COFRE_RUN_SERVICE=" + svc,
		"COFRE_RUN_AGENT=" + l.agent.addr,
		"COFRE_RUN_FILES_ROOT=" + filepath.Join(l.shm, instance),
		"COFRE_RUN_TOKEN_FILE=" + l.tokenFile(instance),
		"COFRE_RUN_VOLUME_DIR=spark-local=" + filepath.Join(l.state, "volumes", instance),
	}
}
