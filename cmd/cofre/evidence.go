package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/appraise"
	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/cofre-cc/cofre/attest/formats"
)

// maxEvidenceFile bounds what the CLI reads: the largest real evidence (a
// TPM attestation with its event log) is well under a megabyte.
const maxEvidenceFile = 8 << 20

func newEvidenceCmd() *cobra.Command {
	return newGroup("evidence", "Verify and produce attestation evidence", newEvidenceVerifyCmd(), newEvidenceProduceCmd())
}

type verifyFlags struct {
	trust     trustFlags
	format    string
	jwks      string
	at        string
	policy    string
	json      bool
	encoding  string
	allowSim  bool
	nonce     string
	publicKey string
	digest    string
}

func newEvidenceVerifyCmd() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify [flags] FILE",
		Short: "Check that evidence is genuine, and optionally appraise it against a policy",
		Long: `Verify checks attestation evidence: signatures and certificate chains to the
vendor root, collateral signatures and validity at --at, and a TCB level the
vendor recognizes. With --policy it also appraises the claims against the
policy's reference values and tolerations.

FILE is the evidence (raw bytes, hex or base64 text, or a JSON envelope
{"format":…,"payload":…} as "cofre evidence produce" writes), or - for stdin.

Exit status: 0 accepted, 1 refused (reasons on stderr), 2 usage error or
unreadable input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvidenceVerify(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "", "evidence format: "+strings.Join(allFormats(), ", ")+" (default: from a JSON envelope)")
	fl.StringVar(&f.jwks, "jwks", "", "JWKS file with the token issuer's signing keys (azure.maa.jwt)")
	fl.StringVar(&f.at, "at", "", "verify as of this time (RFC 3339; default now)")
	fl.StringVar(&f.policy, "policy", "", "appraisal policy file (YAML or JSON)")
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	f.trust.register(fl)
	fl.BoolVar(&f.allowSim, "allow-simulation", false, "accept sim.v1 evidence without a policy (SIMULATION: no confidentiality)")
	fl.StringVar(&f.nonce, "nonce", "", "check the report-data binding: the verifier's 32-byte nonce (hex)")
	fl.StringVar(&f.publicKey, "public-key", "", "with --nonce: the bound public key (PEM or DER, PKIX)")
	fl.StringVar(&f.digest, "workload-digest", "", "with --nonce: the bound workload digest (hex)")
	fl.StringVar(&f.encoding, "input-encoding", "auto", "encoding of FILE: auto, raw, hex, base64")
	return cmd
}

func allFormats() []string {
	reg, err := formats.NewRegistry(formats.Config{})
	if err != nil {
		return nil
	}
	return reg.Formats()
}

func runEvidenceVerify(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, f verifyFlags, path string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ev, err := readEvidence(stdin, path, f.format, f.encoding)
	if err != nil {
		return err
	}
	var binding *bindingInputs
	if f.nonce != "" {
		if binding, err = parseBinding(f); err != nil {
			return err
		}
	} else if f.publicKey != "" || f.digest != "" {
		return usagef("--public-key and --workload-digest need --nonce")
	}
	opts := attest.Options{}
	if f.at != "" {
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return usagef("--at: %v", err)
		}
		opts.Now = t
	}
	var explicit []collateral.Source
	if f.jwks != "" {
		explicit = append(explicit, collateral.File{Kind: collateral.KindJWKS, Path: f.jwks})
	}
	if opts.Collateral, err = f.trust.collateral(explicit...); err != nil {
		return err
	}
	reg, err := f.trust.registry(nil)
	if err != nil {
		return err
	}
	var policy *appraise.Policy
	if f.policy != "" {
		b, err := os.ReadFile(f.policy)
		if err != nil {
			return usagef("--policy: %v", err)
		}
		if policy, err = appraise.ParsePolicy(b); err != nil {
			return usagef("--policy %s: %v", f.policy, err)
		}
	}
	if _, ok := reg.Verifier(ev.Format); !ok {
		return usagef("unknown format %q (known: %s)", ev.Format, strings.Join(reg.Formats(), ", "))
	}

	claims, verr := reg.Verify(ctx, ev, opts)
	out := verifyReport{Format: ev.Format}
	if verr != nil {
		out.Status = "contraindicated"
		out.Reasons = refusalReasons(verr)
		err := report(stdout, stderr, f.json, out, nil)
		if errors.Is(verr, collateral.ErrUnavailable) {
			// No verdict: the vendor could not be reached. Exit 3, so
			// scripts retry instead of treating the evidence as bad.
			return fmt.Errorf("collateral unavailable, evidence not judged: %w", verr)
		}
		return err
	}
	out.fill(claims)
	out.Status = "affirming"
	if len(claims.Warnings) > 0 {
		out.Status = "warning"
	}
	if binding != nil {
		out.BindingChecked = true
		if err := attest.CheckBinding(claims, binding.nonce, binding.publicKey, binding.digest); err != nil {
			out.Status = "contraindicated"
			out.Reasons = append(out.Reasons, refusalReasons(err)...)
			return report(stdout, stderr, f.json, out, claims)
		}
	}
	if policy == nil && out.Simulation && !f.allowSim {
		// Genuine simulated evidence is still not hardware evidence: say
		// so with the exit code, unless the caller opted in.
		out.Status = "contraindicated"
		out.Reasons = append(out.Reasons, reason{Field: "simulation", Expected: "hardware evidence (or --allow-simulation, or a policy with allow_simulation)", Actual: "SIMULATION"})
		return report(stdout, stderr, f.json, out, claims)
	}
	if policy != nil {
		res := appraise.Appraise(claims, policy, opts.Time())
		out.Policy = policy.Name
		out.Status = res.Status.String()
		out.Vector = &res.Vector
		for _, r := range res.Reasons {
			out.Reasons = append(out.Reasons, reason{Field: r.Field, Expected: r.Expected, Actual: r.Actual, Tier: r.Tier.String(), Toleration: r.Toleration})
		}
	}
	return report(stdout, stderr, f.json, out, claims)
}

// bindingInputs are what the relying party knows and the evidence must bind.
type bindingInputs struct {
	nonce, publicKey, digest []byte
}

func parseBinding(f verifyFlags) (*bindingInputs, error) {
	var b bindingInputs
	var err error
	if b.nonce, err = hexFlag("nonce", f.nonce); err != nil {
		return nil, err
	}
	if len(b.nonce) != attest.NonceSize {
		return nil, usagef("--nonce: %d bytes, want %d", len(b.nonce), attest.NonceSize)
	}
	if f.publicKey != "" {
		if b.publicKey, err = readPublicKeyDER(f.publicKey); err != nil {
			return nil, usagef("--public-key: %v", err)
		}
	}
	if b.digest, err = hexFlag("workload-digest", f.digest); err != nil {
		return nil, err
	}
	return &b, nil
}

// readEvidence reads FILE and decides its format and encoding.
func readEvidence(stdin io.Reader, path, format, encoding string) (attest.Evidence, error) {
	b, err := readInput(stdin, path, maxEvidenceFile)
	if err != nil {
		return attest.Evidence{}, usagef("read evidence: %v", err)
	}
	if env, ok := parseEnvelope(b); ok {
		if format != "" && format != env.Format {
			return attest.Evidence{}, usagef("--format %s, but the envelope says %s", format, env.Format)
		}
		return env, nil
	}
	if format == "" {
		return attest.Evidence{}, usagef("--format is required unless FILE is a JSON evidence envelope")
	}
	payload, err := decodeInput(b, encoding)
	if err != nil {
		return attest.Evidence{}, usageError{err}
	}
	return attest.Evidence{Format: format, Payload: payload}, nil
}

func parseEnvelope(b []byte) (attest.Evidence, bool) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		return attest.Evidence{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	var ev attest.Evidence
	if dec.Decode(&ev) != nil || ev.Format == "" || len(ev.Payload) == 0 {
		return attest.Evidence{}, false
	}
	return ev, true
}

func decodeInput(b []byte, encoding string) ([]byte, error) {
	text := strings.Join(strings.Fields(string(b)), "")
	switch encoding {
	case "raw":
		return b, nil
	case "hex":
		out, err := hex.DecodeString(text)
		if err != nil {
			return nil, fmt.Errorf("--input-encoding hex: %w", err)
		}
		return out, nil
	case "base64":
		out, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return nil, fmt.Errorf("--input-encoding base64: %w", err)
		}
		return out, nil
	case "auto":
		// Hex text is unmistakable: binary evidence is never all hex
		// digits. Everything else (binary, JWTs) is taken as is.
		if len(text) > 0 && len(text)%2 == 0 {
			if out, err := hex.DecodeString(text); err == nil {
				return out, nil
			}
		}
		return b, nil
	default:
		return nil, fmt.Errorf("--input-encoding %q: want auto, raw, hex or base64", encoding)
	}
}

// verifyReport is the --json output, and the source of the text output.
type verifyReport struct {
	Format      string            `json:"format"`
	TEE         string            `json:"tee,omitempty"`
	Measurement attest.Hex        `json:"measurement,omitempty"`
	Signer      attest.Hex        `json:"signer,omitempty"`
	ProductID   string            `json:"product_id,omitempty"`
	SVN         *uint64           `json:"svn,omitempty"`
	TCB         map[string]uint64 `json:"tcb,omitempty"`
	Debug       *bool             `json:"debug,omitempty"`
	TCBStatus   string            `json:"tcb_status,omitempty"`
	TCBDate     string            `json:"tcb_date,omitempty"`
	Advisories  []string          `json:"advisories,omitempty"`
	ReportData  attest.Hex        `json:"report_data,omitempty"`
	PlatformID  attest.Hex        `json:"platform_id,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
	Claims      map[string]any    `json:"claims,omitempty"`
	Simulation  bool              `json:"simulation,omitempty"`
	// BindingChecked says whether the report data was checked against a
	// nonce: without it, replayed evidence verifies too.
	BindingChecked bool     `json:"binding_checked"`
	Status         string   `json:"status"`
	Policy         string   `json:"policy,omitempty"`
	Vector         any      `json:"trustworthiness_vector,omitempty"`
	Reasons        []reason `json:"reasons"`
}

type reason struct {
	Check      string `json:"check,omitempty"`
	Class      string `json:"class,omitempty"`
	Field      string `json:"field,omitempty"`
	Expected   string `json:"expected,omitempty"`
	Actual     string `json:"actual,omitempty"`
	Tier       string `json:"tier,omitempty"`
	Toleration string `json:"toleration,omitempty"`
	Message    string `json:"message,omitempty"`
}

func (r reason) String() string {
	var b strings.Builder
	if r.Check != "" {
		b.WriteString(r.Check)
	}
	if r.Field != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(r.Field)
	}
	if r.Expected != "" || r.Actual != "" {
		fmt.Fprintf(&b, ": expected %s, got %s", nonEmpty(r.Expected), nonEmpty(r.Actual))
	}
	if r.Message != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(r.Message)
	}
	if r.Toleration != "" {
		fmt.Fprintf(&b, " (tolerated: %s)", r.Toleration)
	}
	if r.Class != "" {
		fmt.Fprintf(&b, " [%s]", r.Class)
	}
	return b.String()
}

func nonEmpty(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (o *verifyReport) fill(c *attest.Claims) {
	o.TEE = c.TEE.String()
	o.Measurement, o.Signer, o.ProductID = c.Measurement, c.Signer, c.ProductID
	svn, debug := c.SVN, c.Debug
	o.SVN, o.Debug = &svn, &debug
	o.TCB = c.TCB
	o.TCBStatus = c.TCBStatus.String()
	if !c.TCBDate.IsZero() {
		o.TCBDate = c.TCBDate.UTC().Format(time.RFC3339)
	}
	o.Advisories, o.ReportData, o.PlatformID = c.Advisories, c.ReportData, c.PlatformID
	o.Warnings, o.Claims = c.Warnings, c.Raw
	o.Simulation = c.TEE == attest.TEESim
}

// refusalReasons turns a verifier error into one reason per failed check.
func refusalReasons(err error) []reason {
	var out []reason
	for _, e := range attest.Failures(err) {
		if ce, ok := e.(*attest.CheckError); ok {
			out = append(out, reason{Check: ce.Check, Field: ce.Field, Expected: ce.Expected, Actual: ce.Actual, Class: className(e), Message: causeOf(ce)})
			continue
		}
		out = append(out, reason{Class: className(e), Message: e.Error()})
	}
	return out
}

// causeOf returns what a CheckError adds beyond its class, if anything.
func causeOf(ce *attest.CheckError) string {
	if ce.Err == nil || attest.Class(ce.Err) == ce.Err {
		return ""
	}
	return ce.Err.Error()
}

func className(err error) string {
	if c := attest.Class(err); c != nil {
		return c.Error()
	}
	return ""
}

func report(stdout, stderr io.Writer, asJSON bool, o verifyReport, c *attest.Claims) error {
	refused := o.Status == "contraindicated" || o.Status == "none"
	if asJSON {
		if o.Reasons == nil {
			o.Reasons = []reason{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(o); err != nil {
			return err
		}
		if refused {
			for _, r := range o.Reasons {
				fmt.Fprintln(stderr, "refused:", r)
			}
			return refusedError{}
		}
		return nil
	}
	if c == nil {
		fmt.Fprintf(stderr, "REFUSED: %s evidence is not genuine\n", o.Format)
		for _, r := range o.Reasons {
			fmt.Fprintln(stderr, "  -", r)
		}
		return refusedError{}
	}
	verdict := "ACCEPTED"
	if refused {
		verdict = "REFUSED"
	}
	w := stdout
	if refused {
		w = stderr
	}
	headline := fmt.Sprintf("%s: genuine %s evidence (tee %s)", verdict, o.Format, o.TEE)
	if o.Policy != "" {
		headline += fmt.Sprintf(", policy %q: %s", o.Policy, o.Status)
	}
	if o.Simulation {
		headline += " — SIMULATION, no confidentiality"
	}
	fmt.Fprintln(w, headline)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-12s %s\n", k, v)
		}
	}
	row("measurement", o.Measurement.String())
	row("signer", o.Signer.String())
	row("product id", o.ProductID)
	row("svn", fmt.Sprint(c.SVN))
	row("debug", fmt.Sprint(c.Debug))
	status := o.TCBStatus
	if o.TCBDate != "" {
		status += " (" + o.TCBDate + ")"
	}
	row("tcb status", status)
	if len(o.TCB) > 0 {
		var parts []string
		for _, k := range sortedKeys(o.TCB) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, o.TCB[k]))
		}
		row("tcb", strings.Join(parts, " "))
	}
	row("advisories", strings.Join(o.Advisories, ", "))
	row("report data", o.ReportData.String())
	row("platform id", o.PlatformID.String())
	if o.BindingChecked {
		row("binding", "checked: the report data binds the given nonce, key and digest")
	} else {
		row("binding", "NOT checked (pass --nonce to rule out replayed evidence)")
	}
	for _, warn := range o.Warnings {
		fmt.Fprintln(w, "  warning:", warn)
	}
	for _, r := range o.Reasons {
		if r.Tier != "" {
			fmt.Fprintf(w, "  - %s [%s]\n", r, r.Tier)
		} else {
			fmt.Fprintf(w, "  - %s\n", r)
		}
	}
	if refused {
		return refusedError{}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
