package coordinator

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/coordinator/api"
)

func TestVolumeRoots(t *testing.T) {
	e := newTestEnv(t)
	e.mustUpload(e.manifestDoc(doc{}), 0, 1)
	r, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Config.Volumes["data"]; len(v.Key) != 32 || v.Path != "/data" || v.Scratch {
		t.Fatalf("volume config %+v", v)
	}
	chain := workloadChain(t, r)
	vr, err := e.c.VolumeRoot(t.Context(), "data", chain)
	if err != nil || vr.Root != "" {
		t.Fatalf("first root: %+v %v, want none", vr, err)
	}
	root := strings.Repeat("ab", 32)
	if err := e.c.SetVolumeRoot(t.Context(), "data", &api.VolumeRoot{Root: root}, chain); err != nil {
		t.Fatal(err)
	}
	// Compare and swap: a writer with a stale view is refused.
	if err := e.c.SetVolumeRoot(t.Context(), "data", &api.VolumeRoot{Root: strings.Repeat("cd", 32)}, chain); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale previous: %v, want conflict", err)
	}
	// Another instance of the service sees it (a restarted workload).
	r2, err := e.activate(e.activation())
	if err != nil {
		t.Fatal(err)
	}
	if vr, err := e.c.VolumeRoot(t.Context(), "data", workloadChain(t, r2)); err != nil || vr.Root != root || vr.Instance != r.Instance {
		t.Fatalf("root seen by the next instance: %+v %v", vr, err)
	}
	worker := e.activation()
	worker.service = "worker"
	rw, err := e.activate(worker)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		volume string
		root   string
		chain  any
		want   error
	}{
		"another service's volume":  {"data", root, workloadChain(t, rw), ErrForbidden},
		"scratch volume":            {"tmp", root, chain, ErrConflict},
		"not a root":                {"data", "abc", chain, ErrBadRequest},
		"another instance's marker": {"data", "dirty:someone-else", chain, ErrBadRequest},
		"no certificate":            {"data", root, nil, ErrUnauthorized},
	} {
		ch, _ := tc.chain.([]*x509.Certificate)
		if err := e.c.SetVolumeRoot(t.Context(), tc.volume, &api.VolumeRoot{Root: tc.root}, ch); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
