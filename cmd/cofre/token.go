package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/veraison/ear"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/token"
)

// maxTokenInput bounds what the CLI reads as a token or JWKS file; the
// token package applies its own, tighter limits.
const maxTokenInput = 1 << 20

func newTokenCmd() *cobra.Command {
	return newGroup("token", "Verify and inspect attestation tokens (EAR JWTs)", newTokenVerifyCmd(), newTokenShowCmd())
}

type tokenVerifyFlags struct {
	jwks            string
	caCert          string
	issuer          string
	audience        string
	measurements    []string
	nonce           string
	require         string
	allowSimulation bool
	algs            []string
	at              string
	confirmCert     string
	json            bool
}

func newTokenVerifyCmd() *cobra.Command {
	var f tokenVerifyFlags
	cmd := &cobra.Command{
		Use:   "verify --jwks URL|FILE [flags] TOKEN",
		Short: "Verify an attestation token with the issuer's public keys",
		Long: `Verify checks an attestation token as a relying party does: the signature
with a key from the issuer's JWKS (algorithm from the allowlist, never "none"
or HMAC), the validity times at --at (30 s leeway), and then the issuer,
audience, nonce, status, measurement, simulation and confirmation key as
the flags ask. Draft tokens are always refused; simulated TEEs unless
--allow-simulation.

--jwks is an https URL (http only on a loopback IP address) or a JWKS file.
With an https --jwks and no --issuer, the issuer is pinned to the URL
without its final /certs (attestd publishes its keys at <issuer>/certs),
or to the URL's origin when it does not end in /certs: keys fetched from a
host only vouch for that host's tokens. With a JWKS file and no --issuer,
iss is not compared.
TOKEN is the token itself, a file holding it, or - for stdin.

Exit status: 0 valid, 1 refused (reasons on stderr), 2 usage error or
unreadable input, 3 the JWKS could not be fetched.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTokenVerify(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.jwks, "jwks", "", "the issuer's JWKS: https URL or file (required)")
	fl.StringVar(&f.caCert, "cacert", "", "PEM file of CA certificates to trust for an https --jwks (default: the system roots)")
	fl.StringVar(&f.issuer, "issuer", "", "expected issuer (iss); default: from an https --jwks URL (see above), else not compared")
	fl.StringVar(&f.audience, "audience", "", "this relying party's name; tokens for other audiences are refused")
	fl.StringArrayVar(&f.measurements, "measurement", nil, "acceptable cpu0 measurement (hex); repeatable")
	fl.StringVar(&f.nonce, "nonce", "", "expected eat_nonce (base64url or hex)")
	fl.StringVar(&f.require, "require", "warning", "lowest acceptable status: affirming or warning")
	fl.BoolVar(&f.allowSimulation, "allow-simulation", false, "accept tokens for the simulated TEE (no confidentiality)")
	fl.StringSliceVar(&f.algs, "alg", nil, "allowed algorithms (default ES256,ES384,EdDSA)")
	fl.StringVar(&f.at, "at", "", "verify as of this time (RFC 3339; default now)")
	fl.StringVar(&f.confirmCert, "confirm-cert", "", "PEM certificate the presenter holds: the token's cnf must name it")
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}

func runTokenVerify(ctx context.Context, stdout, stderr io.Writer, f tokenVerifyFlags, arg string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	tok, err := readToken(arg)
	if err != nil {
		return err
	}
	opts, err := tokenOptions(f)
	if err != nil {
		return err
	}
	claims, verr := token.Verify(ctx, tok, opts)
	switch {
	case verr == nil:
	case errors.Is(verr, token.ErrOptions):
		return usageError{verr}
	case token.Class(verr) == token.ErrUnavailable:
		return verr // exit 3
	default:
		return tokenRefused(stdout, stderr, f.json, verr)
	}
	u, err := token.ParseUnverified(tok) // for the header and payload; verified above
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Valid   bool            `json:"valid"`
			Header  json.RawMessage `json:"header"`
			Payload json.RawMessage `json:"payload"`
		}{true, u.Header, u.Payload})
	}
	fmt.Fprintf(stdout, "VALID: attestation token (%s, key %s)%s\n", u.Algorithm, u.KeyID, simulationNote(claims))
	printTokenSummary(stdout, claims)
	return nil
}

func tokenOptions(f tokenVerifyFlags) (token.Options, error) {
	o := token.Options{Issuer: f.issuer, Audience: f.audience, AllowSimulation: f.allowSimulation}
	if f.jwks == "" {
		return o, usagef("--jwks is required")
	}
	if o.Issuer == "" {
		o.Issuer = issuerOfJWKS(f.jwks)
	}
	var err error
	if strings.Contains(f.jwks, "://") {
		client := &http.Client{Timeout: 30 * time.Second}
		if f.caCert != "" {
			b, err := os.ReadFile(f.caCert)
			if err != nil {
				return o, usagef("--cacert: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(b) {
				return o, usagef("--cacert %s: no PEM certificates", f.caCert)
			}
			client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		}
		o.JWKS = &token.RemoteJWKS{URL: f.jwks, Client: client}
	} else {
		b, err := readInput(os.Stdin, f.jwks, maxTokenInput)
		if err != nil {
			return o, usagef("--jwks: %v", err)
		}
		if o.JWKS, err = token.StaticJWKS(b); err != nil {
			return o, usagef("--jwks %s: %v", f.jwks, err)
		}
	}
	for _, m := range f.measurements {
		h, err := hex.DecodeString(strings.TrimPrefix(m, "0x"))
		if err != nil || len(h) == 0 {
			return o, usagef("--measurement %q: not hex", m)
		}
		o.ExpectedMeasurements = append(o.ExpectedMeasurements, attest.Hex(h))
	}
	if f.nonce != "" {
		if o.Nonce, err = decodeNonce(f.nonce); err != nil {
			return o, usagef("--nonce: %v", err)
		}
	}
	switch f.require {
	case "affirming":
		o.RequireStatus = ear.TrustTierAffirming
	case "warning":
		o.RequireStatus = ear.TrustTierWarning
	default:
		return o, usagef("--require %q: want affirming or warning", f.require)
	}
	for _, s := range f.algs {
		a, err := token.ParseAlgorithm(s)
		if err != nil {
			return o, usagef("--alg: %v", err)
		}
		o.AllowedAlgorithms = append(o.AllowedAlgorithms, a)
	}
	if f.at != "" {
		if o.Now, err = time.Parse(time.RFC3339, f.at); err != nil {
			return o, usagef("--at: %v", err)
		}
	}
	if f.confirmCert != "" {
		b, err := os.ReadFile(f.confirmCert)
		if err != nil {
			return o, usagef("--confirm-cert: %v", err)
		}
		if blk, _ := pem.Decode(b); blk != nil {
			b = blk.Bytes
		}
		if o.ConfirmationCertificate, err = x509.ParseCertificate(b); err != nil {
			return o, usagef("--confirm-cert %s: %v", f.confirmCert, err)
		}
	}
	return o, nil
}

// decodeNonce accepts the nonce as the token writes it (base64url) or as
// hex, which is how challenges are often logged.
func decodeNonce(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(s)%2 == 0 {
		return b, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, errors.New("neither hex nor base64url")
	}
	return b, nil
}

// readToken reads TOKEN: "-" is stdin, an existing file is read, anything
// else is the token itself.
func readToken(arg string) (string, error) {
	b := []byte(arg)
	if st, err := os.Stat(arg); arg == "-" || (err == nil && st.Mode().IsRegular()) {
		if b, err = readInput(os.Stdin, arg, maxTokenInput); err != nil {
			return "", usagef("read token: %v", err)
		}
	}
	if len(b) > maxTokenInput {
		return "", usagef("read token: larger than %d bytes", maxTokenInput)
	}
	tok := strings.TrimSpace(string(b))
	tok = strings.TrimSpace(strings.TrimPrefix(tok, token.AuthScheme+" ")) // pasted from a header
	if tok == "" {
		return "", usagef("read token: empty")
	}
	return tok, nil
}

type tokenReason struct {
	Check    string `json:"check"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Class    string `json:"class"`
}

func tokenRefused(stdout, stderr io.Writer, asJSON bool, err error) error {
	var rs []tokenReason
	for _, r := range token.Refusals(err) {
		tr := tokenReason{Check: r.Check, Expected: r.Expected, Actual: r.Actual}
		if c := token.Class(r); c != nil {
			tr.Class = c.Error()
		}
		if tr.Expected == "" && tr.Actual == "" {
			tr.Actual = strings.TrimPrefix(r.Error(), "token: "+r.Check+": ")
		}
		rs = append(rs, tr)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Valid   bool          `json:"valid"`
			Reasons []tokenReason `json:"reasons"`
		}{false, rs}); err != nil {
			return err
		}
	}
	fmt.Fprintln(stderr, "REFUSED: the token is not valid")
	for _, r := range rs {
		line := "  - " + r.Check
		if r.Expected != "" {
			line += fmt.Sprintf(": expected %s, got %s", r.Expected, nonEmpty(r.Actual))
		} else if r.Actual != "" {
			line += ": " + r.Actual
		}
		fmt.Fprintf(stderr, "%s [%s]\n", line, r.Class)
	}
	return refusedError{}
}

func simulationNote(c *token.Claims) string {
	var notes []string
	if c.Simulation() {
		notes = append(notes, "SIMULATION, no confidentiality")
	}
	if c.Draft {
		notes = append(notes, "DRAFT policy, refused by every verifier")
	}
	if len(notes) == 0 {
		return ""
	}
	return " — " + strings.Join(notes, "; ")
}

func printTokenSummary(w io.Writer, c *token.Claims) {
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-12s %s\n", k, v)
		}
	}
	row("issuer", c.Issuer)
	row("audience", strings.Join(c.Audience, ", "))
	row("status", c.Status().String())
	row("tee", c.TEE().String())
	if cpu, ok := c.Submods[token.PrimarySubmod]; ok && cpu.Claims != nil {
		row("measurement", cpu.Claims.Measurement.String())
	}
	row("issued", c.IssuedAt.UTC().Format(time.RFC3339))
	row("expires", c.Expiry.UTC().Format(time.RFC3339))
	if len(c.Nonce) > 0 {
		row("nonce", base64.RawURLEncoding.EncodeToString(c.Nonce))
	}
	row("verifier", c.VerifierID)
	if cf := c.Confirmation; cf != nil {
		if cf.X5tS256 != "" {
			row("bound to", "certificate x5t#S256 "+cf.X5tS256)
		} else {
			var compact bytes.Buffer
			if json.Compact(&compact, cf.JWK) == nil {
				row("bound to", "key "+compact.String())
			}
		}
	}
	row("profile", c.Profile.String())
	for _, n := range c.SubmodNames() {
		s := c.Submods[n]
		line := s.Status.String()
		if s.Claims != nil {
			line += fmt.Sprintf(" (%s, %s)", s.Claims.TEE, s.Claims.Format)
		}
		if s.PolicyID != "" {
			line += ", policy " + s.PolicyID
		}
		row("submod "+n, line)
		for _, r := range s.Reasons {
			fmt.Fprintf(w, "  %-12s   - %s [%s]\n", "", r, r.Tier)
		}
	}
}

func newTokenShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show TOKEN",
		Short: "Decode a token WITHOUT verifying it",
		Long: `Show decodes a token's header and payload and prints them. It checks
NOTHING: not the signature, not the keys, not the times, not the policy.
Use "cofre token verify" to rely on a token.

TOKEN is the token itself, a file holding it, or - for stdin.

Exit status: 0 decoded, 2 not a compact JWT or unreadable input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTokenShow(cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON, args[0])
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {verified: false, header, payload} as JSON")
	return cmd
}

func runTokenShow(stdout, stderr io.Writer, asJSON bool, arg string) error {
	tok, err := readToken(arg)
	if err != nil {
		return err
	}
	u, err := token.ParseUnverified(tok)
	if err != nil {
		return usageError{err}
	}
	hdr, pl := indentJSON(u.Header), indentJSON(u.Payload)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		fmt.Fprintln(stderr, "UNVERIFIED: nothing in this token has been checked")
		return enc.Encode(struct {
			Verified bool            `json:"verified"`
			Header   json.RawMessage `json:"header"`
			Payload  json.RawMessage `json:"payload"`
		}{false, hdr, pl})
	}
	fmt.Fprintln(stdout, "UNVERIFIED: the signature, keys, times and policy have NOT been checked (use \"cofre token verify\")")
	fmt.Fprintf(stdout, "header:\n%s\npayload:\n%s\n", hdr, pl)
	if u.Claims != nil {
		fmt.Fprintf(stdout, "summary (UNVERIFIED)%s:\n", simulationNote(u.Claims))
		printTokenSummary(stdout, u.Claims)
	} else {
		fmt.Fprintln(stdout, "not a cofre attestation token:")
		for _, r := range token.Refusals(u.ClaimsErr) {
			fmt.Fprintln(stdout, "  -", strings.TrimPrefix(r.Error(), "token: "))
		}
	}
	return nil
}

// indentJSON indents valid JSON; anything else becomes a JSON string.
func indentJSON(b []byte) json.RawMessage {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") == nil {
		return out.Bytes()
	}
	s, _ := json.Marshal(string(b))
	return s
}

// issuerOfJWKS is the issuer a JWKS URL implies, or "" when it implies none
// (a file, or a plain-http loopback URL used in tests): the URL without a
// final "/certs" (attestd's jwks_uri is <issuer>/certs), else the URL's
// origin.
func issuerOfJWKS(jwks string) string {
	u, err := url.Parse(jwks)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	if p, ok := strings.CutSuffix(u.Path, "/certs"); ok && u.RawQuery == "" && u.Fragment == "" {
		return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: p}).String()
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}
