package attestd

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/cofre-cc/cofre/token"
)

// confirmation derives the token's cnf from the request's runtime data:
// a public JWK (JSON object) or a PKIX DER public key becomes {"jwk": …};
// other runtime data (or none) leaves the token unbound to a key.
//
// Runtime data holding a private or symmetric key is refused outright: it
// would otherwise be published in a token that anyone can read. The
// workload has leaked its key either way, but the service must not spread
// it.
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
		k, err := jwk.ParseKey(t)
		if err != nil {
			return nil, fmt.Errorf("a JWK (it has kty) that does not parse: %w", err)
		}
		if k.KeyType().String() == "oct" {
			return nil, errors.New("a symmetric JWK: runtime data must carry a public key")
		}
		if priv, err := jwk.IsPrivateKey(k); err != nil || priv {
			return nil, errors.New("a private JWK: runtime data must carry a public key")
		}
		b, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("JWK: %w", err)
		}
		return &token.Confirmation{JWK: b}, nil
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
