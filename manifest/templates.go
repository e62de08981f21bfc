package manifest

import (
	"errors"
	"fmt"
	"strings"
	"text/template/parse"
)

// Templates use text/template's syntax but not its engine. A template is
// parsed with text/template/parse knowing only three functions, and then
// only two kinds of node are accepted: text, and an action that calls one
// of those functions with string constants:
//
//	{{ secret "name" }}  {{ secret "name" "part-or-encoding" }}
//	{{ workload "part" }}
//	{{ host "param" }}     (command only)
//
// No builtins (call, printf, index, html…), no pipelines, variables,
// fields, conditionals, loops or sub-templates: a manifest's configuration
// is data, and Render interprets the parsed nodes itself, so nothing in a
// template can run code, read state or depend on map order.

// Template functions.
const (
	fnSecret   = "secret"
	fnWorkload = "workload"
	fnHost     = "host"
)

// Secret parts and encodings, the second argument of secret.
const (
	partCertPEM   = "cert-pem"   // the certificate (PEM)
	partCertDER   = "cert-der"   // the certificate (DER)
	partKeyPEM    = "key-pem"    // the private key (PKCS #8, PEM)
	partKeyDER    = "key-der"    // the private key (PKCS #8, DER)
	partChainPEM  = "chain-pem"  // the certificate, then its issuers (PEM)
	partPublicPEM = "public-pem" // the public key (PKIX, PEM)
	partCAPEM     = "ca-pem"     // workload only: the roots to trust (PEM)
	partSPIFFEID  = "spiffe-id"  // workload only: the SPIFFE ID
	encRaw        = "raw"
	encHex        = "hex"
	encBase64     = "base64"
	encPEM        = "pem" // alias: cert-pem for certificates, key-pem for keys
	encDER        = "der" // alias: cert-der for certificates, key-der for keys
)

var workloadParts = []string{partCertPEM, partKeyPEM, partChainPEM, partCAPEM, partSPIFFEID}

// tmplPart is one parsed piece of a template: literal text, or a call.
type tmplPart struct {
	text string
	fn   string
	args []string
}

// parseFuncs declares the functions to the parser. The values are never
// called: the parser only checks that the names exist.
var parseFuncs = map[string]any{
	fnSecret:   func(...string) string { return "" },
	fnWorkload: func(string) string { return "" },
	fnHost:     func(string) string { return "" },
}

const tmplName = "t"

// parseTemplate parses text into parts, refusing everything but text and
// calls of secret, workload and host with constant string arguments.
func parseTemplate(text string) ([]tmplPart, error) {
	if !strings.Contains(text, "{{") {
		return []tmplPart{{text: text}}, nil // the common case: a literal
	}
	trees, err := parse.Parse(tmplName, text, "", "", parseFuncs)
	if err != nil {
		return nil, errors.New("line " + strings.TrimPrefix(err.Error(), "template: "+tmplName+":"))
	}
	for name := range trees {
		if name != tmplName {
			return nil, errors.New("define, block and template are not allowed")
		}
	}
	tree := trees[tmplName]
	if tree == nil || tree.Root == nil {
		return nil, nil
	}
	var parts []tmplPart
	for _, n := range tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			parts = append(parts, tmplPart{text: string(n.Text)})
		case *parse.ActionNode:
			part, err := parseAction(n)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", lineOf(tree, n), clip(n.String()), err)
			}
			parts = append(parts, part)
		default:
			return nil, fmt.Errorf("line %d: %s: only {{ secret … }}, {{ workload … }} and {{ host … }} are allowed", lineOf(tree, n), clip(n.String()))
		}
	}
	return parts, nil
}

func parseAction(n *parse.ActionNode) (tmplPart, error) {
	pipe := n.Pipe
	if len(pipe.Decl) > 0 || len(pipe.Cmds) != 1 {
		return tmplPart{}, errors.New("variables and pipelines are not allowed")
	}
	args := pipe.Cmds[0].Args
	id, ok := args[0].(*parse.IdentifierNode)
	if !ok {
		return tmplPart{}, errors.New("only {{ secret … }}, {{ workload … }} and {{ host … }} are allowed")
	}
	part := tmplPart{fn: id.Ident}
	for _, a := range args[1:] {
		s, ok := a.(*parse.StringNode)
		if !ok {
			return tmplPart{}, errors.New("arguments must be quoted strings")
		}
		part.args = append(part.args, s.Text)
	}
	want := map[string][2]int{fnSecret: {1, 2}, fnWorkload: {1, 1}, fnHost: {1, 1}}[part.fn]
	if len(part.args) < want[0] || len(part.args) > want[1] {
		if want[0] == want[1] {
			return tmplPart{}, fmt.Errorf("%s takes %d argument, got %d", part.fn, want[0], len(part.args))
		}
		return tmplPart{}, fmt.Errorf("%s takes %d or %d arguments, got %d", part.fn, want[0], want[1], len(part.args))
	}
	return part, nil
}

func lineOf(tree *parse.Tree, n parse.Node) int {
	loc, _ := tree.ErrorContext(n)
	// loc is "t:LINE:COL"
	var line, col int
	fmt.Sscanf(strings.TrimPrefix(loc, tmplName+":"), "%d:%d", &line, &col)
	return line
}

// clip shortens a document value quoted in an error, so that a hostile
// document cannot make errors (and the logs they land in) huge.
func clip(s string) string { return clipN(s, 40) }

func clipN(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// secretPart resolves the second argument of secret (or its absence) for a
// secret of kind k to the part or encoding to render.
//
// Defaults: raw for ascii, explicit and uploaded secrets (text as given);
// base64 for symmetric ones (random bytes are not text, and a raw NUL
// cannot travel in an environment variable); cert-pem for certificates;
// key-pem for private keys.
func secretPart(k SecretKind, arg string) (string, error) {
	var def string
	var allowed []string
	switch k {
	case KindASCII, KindExplicit, KindUploaded:
		def, allowed = encRaw, []string{encRaw, encHex, encBase64}
	case KindSymmetric:
		def, allowed = encBase64, []string{encRaw, encHex, encBase64}
	case KindPrivateKey:
		def, allowed = partKeyPEM, []string{partKeyPEM, partKeyDER, partPublicPEM}
		arg = alias(arg, partKeyPEM, partKeyDER)
	case KindX509, KindX509CA:
		def, allowed = partCertPEM, []string{partCertPEM, partCertDER, partKeyPEM, partKeyDER, partChainPEM, partPublicPEM}
		arg = alias(arg, partCertPEM, partCertDER)
	case KindParquetMasterKey:
		return "", errors.New("a parquet-master-key never leaves the KMS and cannot appear in a template")
	default:
		return "", fmt.Errorf("secret kind %q has no value", k)
	}
	if arg == "" {
		return def, nil
	}
	for _, a := range allowed {
		if a == arg {
			return a, nil
		}
	}
	return "", fmt.Errorf("%q is not a part or encoding of kind %s (%s)", arg, k, strings.Join(allowed, ", "))
}

// alias maps the encodings pem and der to the main part of a key or
// certificate.
func alias(arg, pemPart, derPart string) string {
	switch arg {
	case encPEM:
		return pemPart
	case encDER:
		return derPart
	}
	return arg
}

// IsWorkloadKeyFile reports whether a file template is exactly
// {{ workload "key-pem" }} (surrounding whitespace aside). Only such a
// file may hold the workload's private key: the launcher makes that key
// and never sends it, so the coordinator renders every other part of the
// configuration and leaves these files for the launcher to write.
func IsWorkloadKeyFile(text string) bool {
	parts, err := parseTemplate(text)
	if err != nil {
		return false
	}
	calls := 0
	for _, p := range parts {
		switch {
		case p.fn == "" && strings.TrimSpace(p.text) == "":
		case p.fn == fnWorkload && len(p.args) == 1 && p.args[0] == partKeyPEM:
			calls++
		default:
			return false
		}
	}
	return calls == 1
}
