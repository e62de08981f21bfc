package manifest_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/cofre-cc/cofre/manifest"
)

func Example() {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", "\n      ")
	doc := []byte(`name: hello
version: 1
owners:
  alice:
    public_key: |
      ` + pemKey + `
update_threshold: 1
packages:
  app:
    references:
      - tee: sim
        any_code: true
services:
  web:
    package: app
    command: [/app/web, "--port={{ host \"port\" }}"]
    host_params:
      port: {pattern: "[0-9]{1,5}"}
attestation:
  allow_simulation: true
`)
	m, err := manifest.Parse("hello.yaml", doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	sig, _ := manifest.Sign(doc, key)
	err = manifest.VerifyInitial(m, manifest.Hash(doc), []manifest.Signature{{Owner: "alice", Signature: sig}})
	fmt.Println("accepted:", err == nil, "policy:", m.AppraisalPolicy("app").Name)

	_, err = manifest.Parse("hello.yaml", []byte(strings.Replace(string(doc), "package: app", "package: webb", 1)))
	fmt.Println(err)
	// Output:
	// accepted: true policy: hello/app
	// hello.yaml:18: services.web.package: unknown package "webb"
}
