package attestd

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"

	"github.com/cofre-cc/cofre/token"
)

// confirmation derives the token's cnf from the request's runtime data:
// a public JWK (JSON object) or a PKIX DER public key becomes {"jwk": …};
// other runtime data (or none) leaves the token unbound to a key.
//
// The cnf JWK is rebuilt from the public key alone (token.ParseConfirmationJWK,
// token.ConfirmationForKey), never copied from the request: the token is
// public, and a copied JWK would publish whatever else the workload put in
// it (an RSA prime without d, a member named "secret"). A JWK with any
// member outside the public ones, a private or symmetric key, or a key type
// the relying parties cannot safely encrypt to (token.ErrConfirmationKey)
// is refused outright: the workload has leaked its key either way, but the
// service must not spread it, nor bind tokens to a weak key.
func confirmation(rd []byte) (*token.Confirmation, error) {
	t := bytes.TrimSpace(rd)
	if len(t) == 0 {
		return nil, nil
	}
	if t[0] == '{' {
		var probe map[string]json.RawMessage
		if json.Unmarshal(t, &probe) != nil {
			return nil, nil // not JSON: opaque runtime data
		}
		if _, ok := probe["kty"]; !ok {
			return nil, nil // JSON, but not a JWK
		}
		c, err := token.ParseConfirmationJWK(t)
		if err != nil {
			return nil, fmt.Errorf("a JWK (it has kty) that is not an allowed public key: %w", err)
		}
		return c, nil
	}
	if pub, err := x509.ParsePKIXPublicKey(rd); err == nil {
		c, err := token.ConfirmationForKey(pub)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		return c, nil
	}
	return nil, nil
}
