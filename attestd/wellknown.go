package attestd

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/cofre-cc/cofre/token"
)

// handleOpenID serves the OpenID Provider metadata (token.Metadata):
// issuer, jwks_uri, the algorithms of the published keys and the claim
// names, so that relying parties find the keys from the issuer name alone.
func (s *Server) handleOpenID(w http.ResponseWriter, _ *http.Request) {
	algs, err := s.signingAlgs()
	if err == nil {
		var m *token.Metadata
		if m, err = token.NewMetadata(s.cfg.Issuer, s.cfg.Issuer+"/certs", algs, token.ProfileEAR, token.ProfileMAA); err == nil {
			w.Header().Set("Cache-Control", "public, max-age=3600")
			writeJSON(w, http.StatusOK, m)
			return
		}
	}
	s.log.Error("openid configuration", "err", err)
	writeError(w, newError(http.StatusInternalServerError, CodeInternal, "key set unavailable"))
}

// handleCerts serves the JWKS: the current key and the rotated-out keys
// still in their overlap. Relying parties may cache it for five minutes;
// they refetch on an unknown kid.
func (s *Server) handleCerts(w http.ResponseWriter, _ *http.Request) {
	b, err := s.cfg.Keys.JWKS(s.now())
	if err != nil {
		s.log.Error("jwks", "err", err)
		writeError(w, newError(http.StatusInternalServerError, CodeInternal, "key set unavailable"))
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// signingAlgs lists the algorithms of the published keys, current first.
func (s *Server) signingAlgs() ([]token.Algorithm, error) {
	b, err := s.cfg.Keys.JWKS(s.now())
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []struct {
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	var algs []token.Algorithm
	for _, k := range set.Keys {
		if a, err := token.ParseAlgorithm(k.Alg); err == nil && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs, nil
}
