package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/manifest"
)

// maxManifestFile bounds a manifest the CLI reads: the coordinator accepts
// at most api.MaxRequestBody per upload, document and signatures together.
const maxManifestFile = api.MaxRequestBody

// maxSignatureFile bounds a signature file (a few hundred bytes in
// practice).
const maxSignatureFile = 16 << 10

func newManifestCmd() *cobra.Command {
	return newGroup("manifest", "Sign, check, upload and inspect manifests (policies)",
		newManifestSignCmd(), newManifestVerifyCmd(),
		newManifestSetCmd("set", "Upload the first version of a manifest"),
		newManifestSetCmd("update", "Upload an update of a manifest, signed by its predecessor's owners"),
		newManifestGetCmd(), newManifestLogCmd())
}

// loadManifest reads, parses and validates a manifest file, and renders
// every template with placeholders (a bad template is refused before
// anyone signs or uploads it). Errors list every problem with its line.
func loadManifest(stdin io.Reader, path string) (*manifest.Manifest, []byte, error) {
	doc, err := readInput(stdin, path, maxManifestFile)
	if err != nil {
		return nil, nil, usagef("read manifest: %v", err)
	}
	name := path
	if path == "-" {
		name = "stdin"
	}
	m, err := manifest.Parse(name, doc)
	if err != nil {
		return nil, nil, err
	}
	if err := m.DryRun(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, doc, nil
}

// --- sign ---

type manifestSignFlags struct {
	key, owner, out string
}

func newManifestSignCmd() *cobra.Command {
	var f manifestSignFlags
	cmd := &cobra.Command{
		Use:   "sign --key OWNER_KEY.pem --owner NAME [-o FILE] MANIFEST",
		Short: "Sign a manifest as one of its owners",
		Long: `Sign checks MANIFEST (syntax, every cross-reference, a template dry run) and
signs the SHA-256 of its exact bytes with the owner's private key (PEM,
PKCS #8 or SEC 1: ECDSA P-256, P-384 or Ed25519; not encrypted). It writes
a signature file, MANIFEST.NAME.sig by default, to hand to whoever uploads
the manifest ("cofre manifest set" or "update").

A first manifest (version 1) is signed by its own owners: the key must be
that of --owner in the manifest. An update is signed by the owners of the
version it replaces, which this command cannot see.

Any change to the file, even whitespace, voids the signature.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runManifestSign(cmd.InOrStdin(), cmd.OutOrStdout(), f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "the owner's private key (PEM) (required)")
	fl.StringVar(&f.owner, "owner", "", "the owner's name, as the manifest's owners list it (required)")
	fl.StringVarP(&f.out, "output", "o", "", "signature file to write (default MANIFEST.OWNER.sig; - for stdout)")
	return cmd
}

func runManifestSign(stdin io.Reader, stdout io.Writer, f manifestSignFlags, path string) error {
	if f.key == "" || f.owner == "" {
		return usagef("--key and --owner are required")
	}
	m, doc, err := loadManifest(stdin, path)
	if err != nil {
		return usageError{err}
	}
	keyPEM, err := readFile(f.key, maxPEMFile)
	if err != nil {
		return usagef("--key: %v", err)
	}
	key, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return usagef("--key %s: %v", f.key, err)
	}
	if m.Version == 1 {
		// Catch the wrong key file now rather than at upload.
		o, ok := m.Owners[f.owner]
		if !ok {
			return usagef("--owner %q is not an owner of manifest %q (owners: %s)", f.owner, m.Name, strings.Join(sortedKeys(m.Owners), ", "))
		}
		if !samePublicKey(o.PublicKey, key.Public()) {
			return usagef("--key is not the key of owner %q in the manifest", f.owner)
		}
	}
	sig, err := manifest.Sign(doc, key)
	if err != nil {
		return usageError{err}
	}
	hash := manifest.Hash(doc)
	out, err := manifest.MarshalSignature(manifest.Signature{Owner: f.owner, Signature: sig}, hash)
	if err != nil {
		return usageError{err}
	}
	dest := f.out
	if dest == "" {
		if path == "-" {
			return usagef("-o is required when the manifest comes from stdin")
		}
		dest = path + "." + f.owner + ".sig"
	}
	if dest == "-" {
		_, err := stdout.Write(out)
		return err
	}
	if err := os.WriteFile(dest, out, 0o644); err != nil {
		return usagef("write signature: %v", err)
	}
	fmt.Fprintf(stdout, "signed manifest %q version %d (sha256 %x) as %q: %s\n", m.Name, m.Version, hash, f.owner, dest)
	return nil
}

// parsePrivateKeyPEM decodes an owner's signing key. Errors never quote
// the key.
func parsePrivateKeyPEM(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
		return nil, errors.New("encrypted keys are not supported; decrypt it first (openssl pkey)")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q, want PRIVATE KEY or EC PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, errors.New("the key does not parse")
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%T is not a signing key", key)
	}
	return s, nil
}

// samePublicKey reports whether the owner's PEM public key is pub.
func samePublicKey(ownerPEM string, pub crypto.PublicKey) bool {
	block, _ := pem.Decode([]byte(ownerPEM))
	if block == nil {
		return false
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	return err == nil && string(der) == string(block.Bytes)
}

// --- verify ---

type manifestVerifyFlags struct {
	predecessor string
}

func newManifestVerifyCmd() *cobra.Command {
	var f manifestVerifyFlags
	cmd := &cobra.Command{
		Use:   "verify [--predecessor FILE] MANIFEST [SIG...]",
		Short: "Check a manifest and its signatures offline",
		Long: `Verify checks MANIFEST as the coordinator will: syntax (unknown fields,
duplicate keys and the like are errors, each with its line), every
cross-reference, and a dry run of every template. It prints the manifest's
SHA-256, the value owners sign.

With signature files, it checks them: a first manifest (version 1) against
its own owners and threshold; an update against the owners and threshold of
its predecessor, given with --predecessor (which must be the version it
replaces: name, version and predecessor hash are checked too).

Exit status: 0 valid (and, with signatures, enough of them), 1 refused
(reasons on stderr), 2 usage error or unreadable input.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runManifestVerify(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, args[0], args[1:])
		},
	}
	cmd.Flags().StringVar(&f.predecessor, "predecessor", "", "the manifest an update replaces (to check its signatures)")
	return cmd
}

func runManifestVerify(stdin io.Reader, stdout, stderr io.Writer, f manifestVerifyFlags, path string, sigPaths []string) error {
	m, doc, err := loadManifest(stdin, path)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return err
		}
		fmt.Fprintf(stderr, "REFUSED: invalid manifest\n%v\n", err)
		return refusedError{}
	}
	hash := manifest.Hash(doc)
	fmt.Fprintf(stdout, "manifest %q version %d: valid\n  sha256 %x\n", m.Name, m.Version, hash)
	if len(sigPaths) == 0 {
		return nil
	}
	sigs, err := readSignatures(sigPaths, hash)
	if err != nil {
		return err
	}
	signers := m // whose owners must sign
	var rule error
	switch {
	case m.Version == 1:
		rule = manifest.VerifyInitial(m, hash, sigs)
	case f.predecessor == "":
		fmt.Fprintln(stdout, "  signatures: not checked: an update is signed by its predecessor's owners; pass --predecessor")
		return nil
	case f.predecessor == "-":
		return usagef("--predecessor: give a file, not stdin")
	default:
		prev, prevDoc, err := loadManifest(nil, f.predecessor)
		if err != nil {
			return usagef("--predecessor: %v", err)
		}
		signers = prev
		rule = manifest.VerifyUpdate(prev, manifest.Hash(prevDoc), m, hash, sigs)
	}
	valid := validSigners(signers, hash, sigs)
	fmt.Fprintf(stdout, "  signatures: %d valid of %d (%s); threshold %d\n", len(valid), len(sigs), orDash(strings.Join(valid, ", ")), signers.UpdateThreshold)
	if rule != nil {
		fmt.Fprintln(stderr, "REFUSED:")
		for _, e := range flatten(rule) {
			fmt.Fprintln(stderr, "  -", e)
		}
		return refusedError{}
	}
	return nil
}

// readSignatures parses signature files and checks that each signs hash:
// a signature over another document is the caller's mix-up (exit 2).
func readSignatures(paths []string, hash [32]byte) ([]manifest.Signature, error) {
	var sigs []manifest.Signature
	for _, p := range paths {
		b, err := readFile(p, maxSignatureFile)
		if err != nil {
			return nil, usagef("signature %s: %v", p, err)
		}
		s, h, err := manifest.ParseSignature(b)
		if err != nil {
			return nil, usagef("signature %s: %v", p, err)
		}
		if h != hash {
			return nil, usagef("signature %s (owner %q) signs another document (sha256 %x), not this manifest (%x)", p, s.Owner, h, hash)
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// validSigners lists the distinct owners of m whose signature verifies.
func validSigners(m *manifest.Manifest, hash [32]byte, sigs []manifest.Signature) []string {
	one := *m
	one.UpdateThreshold = 1
	seen := map[string]bool{}
	var out []string
	for _, s := range sigs {
		if !seen[s.Owner] && manifest.VerifySignatures(&one, hash, []manifest.Signature{s}) == nil {
			seen[s.Owner] = true
			out = append(out, s.Owner)
		}
	}
	sort.Strings(out)
	return out
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// --- set / update ---

type manifestSetFlags struct {
	coord coordFlags
}

func newManifestSetCmd(verb, short string) *cobra.Command {
	var f manifestSetFlags
	long := `Set uploads the first version (version 1) of a manifest with its owners'
signature files, after checking both locally. The coordinator must have
been verified (attestation, or --root) before anything is sent.`
	if verb == "update" {
		long = `Update uploads a new version of a manifest (version > 1, naming its
predecessor's SHA-256) with signature files of the predecessor's owners.
The coordinator refuses an update written against another version than its
current one (a lost update) and too few signatures. The coordinator must
have been verified (attestation, or --root) before anything is sent.`
	}
	cmd := &cobra.Command{
		Use:   verb + " [flags] MANIFEST SIG...",
		Short: short,
		Long:  long + "\n\nExit status: 0 done, 1 refused, 2 usage error, 3 coordinator unavailable.",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			return runManifestSet(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, verb == "update", args[0], args[1:])
		},
	}
	f.coord.register(cmd.Flags(), "key")
	return cmd
}

func runManifestSet(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, f manifestSetFlags, update bool, path string, sigPaths []string) error {
	m, doc, err := loadManifest(stdin, path)
	if err != nil {
		return usageError{err}
	}
	switch {
	case update && m.Version < 2:
		return usagef("manifest %q is version %d: an update is version 2 or more (use \"cofre manifest set\" for the first version)", m.Name, m.Version)
	case !update && m.Version != 1:
		return usagef("manifest %q is version %d: use \"cofre manifest update\" for versions after 1", m.Name, m.Version)
	}
	hash := manifest.Hash(doc)
	sigs, err := readSignatures(sigPaths, hash)
	if err != nil {
		return err
	}
	if !update {
		// The coordinator checks this too; failing here names the
		// problem before any connection is made.
		if err := manifest.VerifyInitial(m, hash, sigs); err != nil {
			return usagef("signatures: %v", err)
		}
	}
	raw := make([][]byte, 0, len(sigPaths))
	for _, p := range sigPaths {
		b, err := readFile(p, maxSignatureFile)
		if err != nil {
			return usagef("signature %s: %v", p, err)
		}
		raw = append(raw, b)
	}
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return err
	}
	info, err := c.SetManifest(ctx, m.Name, doc, raw)
	if err != nil {
		return coordError(stderr, err)
	}
	fmt.Fprintf(stdout, "manifest %q version %d accepted (sha256 %s), signed by %s\n", info.Name, info.Version, info.SHA256, orDash(strings.Join(info.Signers, ", ")))
	return nil
}

// --- get ---

type manifestGetFlags struct {
	coord coordFlags
	out   string
}

func newManifestGetCmd() *cobra.Command {
	var f manifestGetFlags
	cmd := &cobra.Command{
		Use:   "get [flags] NAME",
		Short: "Download the current version of a manifest",
		Long: `Get prints the current version of manifest NAME (its document, if your
certificate has a role that reads the manifest; otherwise only its version
and hash). With -o the document goes to FILE and the summary to stdout.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			return runManifestGet(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, args[0])
		},
	}
	f.coord.register(cmd.Flags(), "key")
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write the document to FILE")
	return cmd
}

func runManifestGet(ctx context.Context, stdout, stderr io.Writer, f manifestGetFlags, name string) error {
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return err
	}
	res, err := c.Manifest(ctx, name)
	if err != nil {
		return coordError(stderr, err)
	}
	// The coordinator says which bytes it holds; check the hash it gives,
	// so that a file written here is exactly what the owners signed.
	if len(res.Document) > 0 {
		if h := manifest.Hash(res.Document); hex.EncodeToString(h[:]) != res.Info.SHA256 {
			return fmt.Errorf("manifest %q: the document does not hash to the coordinator's sha256 %s", name, res.Info.SHA256)
		}
	}
	summary := fmt.Sprintf("manifest %q version %d sha256 %s", res.Info.Name, res.Info.Version, res.Info.SHA256)
	switch {
	case len(res.Document) == 0:
		fmt.Fprintln(stdout, summary+" (document not readable with your certificate)")
	case f.out != "" && f.out != "-":
		if err := os.WriteFile(f.out, res.Document, 0o644); err != nil {
			return usagef("-o: %v", err)
		}
		fmt.Fprintln(stdout, summary+": "+f.out)
	default:
		fmt.Fprintln(stderr, summary)
		_, err = stdout.Write(res.Document)
	}
	return err
}

// --- log ---

type manifestLogFlags struct {
	coord coordFlags
	json  bool
}

func newManifestLogCmd() *cobra.Command {
	var f manifestLogFlags
	cmd := &cobra.Command{
		Use:   "log [flags] NAME",
		Short: "List every version of a manifest",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			return runManifestLog(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, args[0])
		},
	}
	f.coord.register(cmd.Flags(), "key")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	return cmd
}

func runManifestLog(ctx context.Context, stdout, stderr io.Writer, f manifestLogFlags, name string) error {
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return err
	}
	infos, err := c.ManifestLog(ctx, name)
	if err != nil {
		return coordError(stderr, err)
	}
	return printManifestLog(stdout, infos, f.json)
}

func printManifestLog(w io.Writer, infos []api.ManifestInfo, asJSON bool) error {
	if asJSON {
		if infos == nil {
			infos = []api.ManifestInfo{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tTIME\tSHA256\tPREDECESSOR\tSIGNERS")
	for _, i := range infos {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", i.Version, i.Time.UTC().Format(time.RFC3339), short(i.SHA256), orDash(short(i.Predecessor)), orDash(strings.Join(i.Signers, ",")))
	}
	return tw.Flush()
}

// short abbreviates a hex hash for tables (the JSON output has it whole).
func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
