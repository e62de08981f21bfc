package seal_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/cofre-cc/cofre/coordinator/seal"
)

// A manifest's key is split 2-of-3 among its recovery holders; two of
// them open their shares locally and the coordinator recombines them.
func ExampleNewRecoveryRecord() {
	keys := map[string]*ecdh.PrivateKey{}
	pubs := map[string]*ecdh.PublicKey{}
	for _, name := range []string{"alice", "bob", "carol"} {
		k, _ := ecdh.X25519().GenerateKey(rand.Reader)
		keys[name], pubs[name] = k, k.PublicKey()
	}
	manifestKey := make([]byte, seal.DataKeySize)
	rand.Read(manifestKey)

	rec, err := seal.NewRecoveryRecord(manifestKey, pubs, 2, "analytics")
	if err != nil {
		panic(err)
	}
	stored, _ := json.Marshal(rec) // public: kept in clear

	// Later, the sealing key is lost. Each holder, on their own machine:
	parsed, err := seal.ParseRecoveryRecord(stored)
	if err != nil {
		panic(err)
	}
	shareA, _ := parsed.OpenShare("alice", keys["alice"])
	shareC, _ := parsed.OpenShare("carol", keys["carol"])

	// The coordinator:
	got, err := parsed.Combine(map[string][]byte{"alice": shareA, "carol": shareC})
	fmt.Println(err, bytes.Equal(got, manifestKey))
	// Output: <nil> true
}
