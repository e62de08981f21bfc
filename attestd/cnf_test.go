package attestd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cofre-cc/cofre/token"
)

// Public parameters of a P-256 key and of an RSA-2048 key, and private
// parameters that must never reach a token.
const (
	cnfECX  = `"x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"`
	cnfRSAN = `"n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"`
)

// TestConfirmationRefusesNonPublicMembers: the reviewer's inputs, each of
// which used to put private or unknown material into the published cnf.
func TestConfirmationRefusesNonPublicMembers(t *testing.T) {
	for name, rd := range map[string]string{
		"EC with D":             `{"kty":"EC","crv":"P-256",` + cnfECX + `,"D":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"}`,
		"EC with secret":        `{"kty":"EC","crv":"P-256",` + cnfECX + `,"secret":"hunter2"}`,
		"EC with d null":        `{"kty":"EC","crv":"P-256",` + cnfECX + `,"d":null}`,
		"EC with d empty":       `{"kty":"EC","crv":"P-256",` + cnfECX + `,"d":""}`,
		"RSA with p, without d": `{"kty":"RSA",` + cnfRSAN + `,"p":"2rnSOV4hKSN8sS4CgcQHFbs08XboFDqKum3sc4h3GRxrTmQdl1ZK9uw"}`,
		"oct":                   `{"kty":"oct","k":"c2VjcmV0c2VjcmV0"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := confirmation([]byte(rd))
			if !errors.Is(err, token.ErrConfirmationKey) {
				t.Fatalf("confirmation: %v (cnf %+v), want token.ErrConfirmationKey", err, c)
			}
		})
	}
	// Duplicate members are ambiguous (which kty?): refused as malformed.
	for name, rd := range map[string]string{
		"kty twice":        `{"kty":"EC","crv":"P-256",` + cnfECX + `,"kty":"oct"}`,
		"oct, then EC kty": `{"kty":"oct","k":"c2VjcmV0c2VjcmV0","kty":"EC","crv":"P-256",` + cnfECX + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			if c, err := confirmation([]byte(rd)); err == nil {
				t.Fatalf("accepted: cnf %s", c.JWK)
			}
		})
	}
}

// TestConfirmationKeyTypes: cnf keys are EC P-256/P-384, Ed25519, X25519
// or RSA of 2048 bits or more, as a JWK or as PKIX DER.
func TestConfirmationKeyTypes(t *testing.T) {
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, pub := range map[string]any{"P-521": &p521.PublicKey, "RSA-1024": &rsa1024.PublicKey} {
		t.Run(name, func(t *testing.T) {
			der, err := x509.MarshalPKIXPublicKey(pub)
			must(t, err)
			if _, err := confirmation(der); !errors.Is(err, token.ErrConfirmationKey) {
				t.Fatalf("PKIX: %v, want token.ErrConfirmationKey", err)
			}
		})
	}
	for name, rd := range map[string]string{
		"EC P-256": `{"kty":"EC","crv":"P-256",` + cnfECX + `,"kid":"w1","use":"enc"}`,
		"RSA-2048": `{"kty":"RSA",` + cnfRSAN + `}`,
		"X25519":   `{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`,
		"Ed25519":  `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := confirmation([]byte(rd))
			if err != nil || c == nil {
				t.Fatalf("confirmation: %v", err)
			}
			var m map[string]any
			must(t, json.Unmarshal(c.JWK, &m))
			for k := range m {
				switch k {
				case "kty", "crv", "x", "y", "n", "e":
				default:
					t.Errorf("cnf member %q copied from the request: %s", k, c.JWK)
				}
			}
		})
	}
}
