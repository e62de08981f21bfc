package auditlog_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/internal/auditlog"
)

// Activation is a caller's entry type: it embeds auditlog.Header first.
type Activation struct {
	auditlog.Header
	Event   string `json:"event"`
	Service string `json:"service"`
	Granted bool   `json:"granted"`
}

func Example() {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	var file bytes.Buffer // an *os.File in production: see Open
	log, err := auditlog.New(&file, auditlog.Options{Signer: key})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var head auditlog.Head
	for _, svc := range []string{"api", "db"} {
		if head, err = log.Append(now, &Activation{Event: "activate", Service: svc, Granted: true}); err != nil {
			panic(err)
		}
	}
	// Keep head (or a SignedHead) out of the log holder's reach; later:
	sum, err := auditlog.Verify(&file, auditlog.VerifyOptions{
		PublicKeys:        []crypto.PublicKey{key.Public()},
		RequireSignatures: true,
		Head:              &head,
	})
	fmt.Println(sum.Lines, sum.Signed, err)
	// Output: 2 2 <nil>
}
