package delta

import (
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// uriScheme matches a URI scheme (RFC 3986 section 3.1). A relative
// reference cannot have a colon in its first segment, so a match means the
// log holds an absolute URI.
var uriScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// decodeLogPath turns a path from an add or remove action into a clean,
// slash-separated path relative to the table directory dir (absolute,
// cleaned, symlinks not resolved, so URIs must spell the directory as it was
// given to Open). The protocol stores paths as URIs: relative ones are
// percent-encoded, absolute ones are accepted only as file URIs (or
// absolute paths) that point inside the table, because a log that names
// /etc/shadow or another tenant's table must not make us read it.
func decodeLogPath(raw, dir string) (string, error) {
	if raw == "" {
		return "", &PathError{Path: raw, Reason: "empty"}
	}
	if len(raw) > 3*maxPathLength {
		return "", &PathError{Path: raw[:64] + "...", Reason: "too long"}
	}
	var p string
	switch {
	case uriScheme.MatchString(raw):
		u, err := url.Parse(raw)
		if err != nil {
			return "", &PathError{Path: raw, Reason: "not a URI"}
		}
		if u.Scheme != "file" {
			return "", &PathError{Path: raw, Reason: "scheme " + u.Scheme + " not supported (local tables only)"}
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", &PathError{Path: raw, Reason: "file URI names a remote host"}
		}
		if u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" {
			return "", &PathError{Path: raw, Reason: "file URI is not a plain absolute path"}
		}
		rel, err := insideTable(u.Path, dir)
		if err != nil {
			return "", &PathError{Path: raw, Reason: err.Error()}
		}
		p = rel
	case strings.HasPrefix(raw, "/"):
		abs, err := url.PathUnescape(raw)
		if err != nil {
			return "", &PathError{Path: raw, Reason: "bad percent-encoding"}
		}
		rel, err := insideTable(abs, dir)
		if err != nil {
			return "", &PathError{Path: raw, Reason: err.Error()}
		}
		p = rel
	default:
		dec, err := url.PathUnescape(raw)
		if err != nil {
			return "", &PathError{Path: raw, Reason: "bad percent-encoding"}
		}
		p = dec
	}
	if reason := checkRelPath(p); reason != "" {
		return "", &PathError{Path: raw, Reason: reason}
	}
	return path.Clean(p), nil
}

type pathReason string

func (r pathReason) Error() string { return string(r) }

// insideTable returns abs relative to dir, refusing anything outside it.
func insideTable(abs, dir string) (string, error) {
	if !strings.HasPrefix(abs, "/") {
		return "", pathReason("not an absolute path")
	}
	clean := path.Clean(abs)
	prefix := filepath.ToSlash(dir)
	if prefix != "/" {
		prefix += "/"
	}
	if !strings.HasPrefix(clean, prefix) {
		return "", pathReason("absolute path outside the table directory " + dir)
	}
	return strings.TrimPrefix(clean, prefix), nil
}

// checkRelPath returns why p is not an acceptable relative data file path,
// or "". os.Root already stops escapes when opening; refusing them here
// too makes a hostile log fail at replay, with the log line named.
func checkRelPath(p string) string {
	switch {
	case p == "":
		return "empty"
	case len(p) > maxPathLength:
		return "too long"
	case strings.ContainsRune(p, 0):
		return "contains NUL"
	case strings.HasPrefix(p, "/"):
		return "absolute"
	}
	c := path.Clean(p)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "escapes the table directory"
	}
	if !filepath.IsLocal(filepath.FromSlash(c)) {
		return "not a local path"
	}
	return ""
}

// encodeLogPath percent-encodes a relative slash path for an add action:
// every byte but unreserved characters (RFC 3986), '/' and '=' (common in
// Hive-style partition directories). ':' is encoded so that no path can
// read as a URI scheme.
func encodeLogPath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/', c == '=':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
