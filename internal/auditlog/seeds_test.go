package auditlog

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the committed fuzz seed corpora")

// TestWriteSeeds regenerates testdata/fuzz/{FuzzVerify,FuzzSignedHead}
// with -update-seeds; otherwise it checks that the corpora exist.
func TestWriteSeeds(t *testing.T) {
	unsigned, _ := buildLog(t, nil, 3)
	edSigned, _ := buildLog(t, ed25519Key(), 3)
	pSigned, pHead := buildLog(t, p256Key(), 3)
	lines := bytes.SplitAfter(pSigned, []byte("\n"))
	sh, err := SignHead(p256Key(), pHead, t0)
	if err != nil {
		t.Fatal(err)
	}
	shJSON, _ := json.Marshal(sh)
	seeds := map[string]map[string][]byte{
		"FuzzVerify": {
			"empty":          nil,
			"unsigned":       unsigned,
			"ed25519-signed": edSigned,
			"p256-signed":    pSigned,
			"torn-line":      append(bytes.Clone(unsigned), `{"seq":4,`...),
			"swapped":        bytes.Join([][]byte{lines[1], lines[0], lines[2]}, nil),
			"sig-stripped":   append(bytes.Clone(lines[0][:bytes.LastIndex(lines[0], []byte(`,"sig":`))]), "}\n"...),
			"crlf":           bytes.ReplaceAll(unsigned, []byte("\n"), []byte("\r\n")),
		},
		"FuzzSignedHead": {
			"p256":    shJSON,
			"null":    []byte("null"),
			"unknown": []byte(`{"seq":1,"x":2}`),
		},
	}
	for target, files := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, b := range files {
			p := filepath.Join(dir, name)
			if !*updateSeeds {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("seed missing (run go test -run TestWriteSeeds -update-seeds): %v", err)
				}
				continue
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
