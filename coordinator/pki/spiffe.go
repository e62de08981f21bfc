package pki

import (
	"net/url"
	"strings"
)

// SPIFFEID is a workload identity:
// spiffe://<TrustDomain>/<Manifest>/<Service>/<Instance>.
type SPIFFEID struct {
	TrustDomain string
	Manifest    string
	Service     string
	Instance    string
}

const spiffeScheme = "spiffe://"

// String returns the ID's URI form. It does not validate the ID.
func (id SPIFFEID) String() string {
	return spiffeScheme + id.TrustDomain + "/" + id.Manifest + "/" + id.Service + "/" + id.Instance
}

// URL returns the ID as a URL, the form crypto/x509 puts in a URI SAN.
func (id SPIFFEID) URL() *url.URL {
	return &url.URL{Scheme: "spiffe", Host: id.TrustDomain, Path: "/" + id.Manifest + "/" + id.Service + "/" + id.Instance}
}

// ParseSPIFFEID parses a SPIFFE ID of exactly three path segments
// (manifest, service, instance). The syntax is the SPIFFE specification's
// (SPIFFE-ID.md, section 2), with no leniency: lowercase scheme, a trust
// domain of [a-z0-9._-] with no port, user info or empty label, path
// segments of [A-Za-z0-9._-] that are neither empty, "." nor "..", no
// percent-encoding, query or fragment, at most 2048 bytes. So an ID has one
// spelling, and String returns exactly the parsed string.
func ParseSPIFFEID(s string) (SPIFFEID, error) {
	fail := func(reason string) (SPIFFEID, error) {
		return SPIFFEID{}, &SPIFFEIDError{ID: clip(s), Reason: reason}
	}
	if len(s) > maxSPIFFEIDLength {
		return fail("longer than 2048 bytes")
	}
	rest, ok := strings.CutPrefix(s, spiffeScheme)
	if !ok {
		return fail(`scheme is not "spiffe://"`)
	}
	td, path, ok := strings.Cut(rest, "/")
	if !ok {
		return fail("no path")
	}
	if reason := checkTrustDomain(td); reason != "" {
		return fail(reason)
	}
	segs := strings.Split(path, "/")
	if len(segs) != 3 {
		return fail("path must have three segments: manifest, service, instance")
	}
	for _, seg := range segs {
		if reason := checkSegment(seg); reason != "" {
			return fail(reason)
		}
	}
	return SPIFFEID{TrustDomain: td, Manifest: segs[0], Service: segs[1], Instance: segs[2]}, nil
}

// validate checks an ID built from parts; it is ParseSPIFFEID's check.
func (id SPIFFEID) validate() error {
	got, err := ParseSPIFFEID(id.String())
	if err != nil {
		return err
	}
	if got != id {
		// A part held a '/': the string splits differently.
		return &SPIFFEIDError{ID: clip(id.String()), Reason: "a part contains '/'"}
	}
	return nil
}

// checkTrustDomain returns why td is not a trust domain name, or "". Beyond
// the SPIFFE character set it refuses empty labels (a leading, trailing or
// double dot): crypto/x509 matches the trust domain against URI name
// constraints as a DNS name, and such names do not match anything.
func checkTrustDomain(td string) string {
	switch {
	case td == "":
		return "empty trust domain"
	case len(td) > maxTrustDomainLength:
		return "trust domain longer than 255 bytes"
	case td[0] == '.' || td[len(td)-1] == '.' || strings.Contains(td, ".."):
		return "trust domain has an empty label"
	}
	for i := 0; i < len(td); i++ {
		c := td[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return "trust domain character not in [a-z0-9._-]"
		}
	}
	return ""
}

// checkSegment returns why seg is not a SPIFFE path segment, or "".
func checkSegment(seg string) string {
	switch seg {
	case "":
		return "empty path segment"
	case ".", "..":
		return `path segment "." or ".."`
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return "path segment character not in [A-Za-z0-9._-]"
		}
	}
	return ""
}

// parseURISAN turns a URI SAN as crypto/x509 parsed it back into the
// string the issuer wrote, refusing any URL part a SPIFFE ID cannot have
// (which String would drop or re-encode silently).
func parseURISAN(u *url.URL) (string, string) {
	if u.Scheme != "spiffe" || u.Opaque != "" || u.User != nil || u.RawPath != "" ||
		u.ForceQuery || u.RawQuery != "" || u.Fragment != "" || u.RawFragment != "" || u.OmitHost {
		return "", "URI SAN has parts a SPIFFE ID cannot have"
	}
	return u.String(), ""
}
