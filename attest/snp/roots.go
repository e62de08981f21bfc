package snp

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"sync"

	"github.com/google/go-sev-guest/kds"
	"github.com/google/go-sev-guest/verify/trust"
)

// Root is the trust anchor of one AMD product line.
type Root struct {
	// ARK is AMD's self-signed root key certificate for the product line.
	// Every accepted chain ends here. Required.
	ARK *x509.Certificate
	// ASK is the ARK-signed intermediate that signs VCEKs. It is used when
	// neither the evidence's certificate table nor the collateral source
	// supplies one. Nil means VCEK chains need an ASK from one of those.
	ASK *x509.Certificate
	// ASVK is the ARK-signed intermediate that signs VLEKs, used when the
	// certificate table does not carry one. Nil means the same for VLEK
	// chains.
	ASVK *x509.Certificate
}

// DefaultRoots returns AMD's ARK, ASK and ASVK for Milan, Genoa and Turin as
// go-sev-guest embeds them in its verify/trust package (fetched from
// https://kdsintf.amd.com/vcek/v1/{product}/cert_chain and
// https://kdsintf.amd.com/vlek/v1/{product}/cert_chain). The map is the
// caller's; the certificates are shared and must not be modified.
func DefaultRoots() map[string]Root {
	parsed, err := defaultRoots()
	if err != nil {
		// The bundles are compiled in; failing to parse them is a
		// build defect, not an input error.
		panic("snp: embedded AMD roots: " + err.Error())
	}
	out := make(map[string]Root, len(parsed))
	for k, r := range parsed {
		out[k] = r
	}
	return out
}

var defaultRoots = sync.OnceValues(func() (map[string]Root, error) {
	bundles := map[string][2][]byte{
		"Milan": {trust.AskArkMilanVcekBytes, trust.AskArkMilanVlekBytes},
		"Genoa": {trust.AskArkGenoaVcekBytes, trust.AskArkGenoaVlekBytes},
		"Turin": {trust.AskArkTurinVcekBytes, trust.AskArkTurinVlekBytes},
	}
	out := make(map[string]Root, len(bundles))
	for product, b := range bundles {
		ask, ark, err := parseASKARK(b[0])
		if err != nil {
			return nil, fmt.Errorf("%s VCEK bundle: %w", product, err)
		}
		asvk, ark2, err := parseASKARK(b[1])
		if err != nil {
			return nil, fmt.Errorf("%s VLEK bundle: %w", product, err)
		}
		if !ark.Equal(ark2) {
			return nil, fmt.Errorf("%s: the VCEK and VLEK bundles carry different ARKs", product)
		}
		out[product] = Root{ARK: ark, ASK: ask, ASVK: asvk}
	}
	return out, nil
})

// parseASKARK parses the PEM bundle AMD's KDS serves at
// /{vcek,vlek}/v1/{product}/cert_chain: the ASK (or ASVK), then the ARK.
// Surrounding white space is ignored (go-sev-guest's Turin VLEK bundle ends
// in a blank line, which kds.ParseProductCertChain alone refuses).
func parseASKARK(pem []byte) (ask, ark *x509.Certificate, err error) {
	askDER, arkDER, err := kds.ParseProductCertChain(bytes.TrimSpace(pem))
	if err != nil {
		return nil, nil, err
	}
	if ask, err = x509.ParseCertificate(askDER); err != nil {
		return nil, nil, fmt.Errorf("ASK: %w", err)
	}
	if ark, err = x509.ParseCertificate(arkDER); err != nil {
		return nil, nil, fmt.Errorf("ARK: %w", err)
	}
	return ask, ark, nil
}
