package sealed_test

import (
	"fmt"

	"github.com/cofre-cc/cofre/sealed"
)

func Example() {
	// Service: a key whose public JWK goes into the service's token.
	priv, err := sealed.GenerateKey(sealed.P256)
	if err != nil {
		panic(err)
	}
	jwk := priv.PublicJWK()

	// Client: the key from the verified token, a body bound to the endpoint.
	pub, err := sealed.ParsePublicJWK(jwk)
	if err != nil {
		panic(err)
	}
	const context = "POST /v2/models/chest/infer"
	body, opener, err := sealed.SealRequest(pub, context, []byte(`{"inputs":[]}`))
	if err != nil {
		panic(err)
	}

	// Service: open with the context of the endpoint it was received on.
	req, sealer, err := sealed.OpenRequest(priv, context, body)
	if err != nil {
		panic(err)
	}
	resp, err := sealer.Seal([]byte(fmt.Sprintf("got %d bytes", len(req))))
	if err != nil {
		panic(err)
	}

	// Client: only this request's opener opens the response.
	answer, err := opener.Open(resp)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(answer))
	// Output: got 13 bytes
}
