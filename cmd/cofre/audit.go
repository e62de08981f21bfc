package main

import (
	"bytes"
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

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/client"
	"github.com/cofre-cc/cofre/internal/auditlog"
)

// maxHeadFile bounds a saved signed head (a few hundred bytes).
const maxHeadFile = 16 << 10

func newAuditCmd() *cobra.Command {
	return newGroup("audit", "Read and verify a coordinator's audit log", newAuditShowCmd(), newAuditVerifyCmd())
}

type auditShowFlags struct {
	coord coordFlags
	from  uint64
}

func newAuditShowCmd() *cobra.Command {
	var f auditShowFlags
	cmd := &cobra.Command{
		Use:   "show [flags] [--from SEQ]",
		Short: "Print the audit log (JSON lines)",
		Long: `Show prints the coordinator's audit log, one JSON object per line, from line
--from on. Your client certificate needs a role on the audit log. To check
the log, use "cofre audit verify".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			return runAuditShow(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	f.coord.register(cmd.Flags(), "key")
	cmd.Flags().Uint64Var(&f.from, "from", 0, "first sequence number to print")
	return cmd
}

func runAuditShow(ctx context.Context, stdout, stderr io.Writer, f auditShowFlags) error {
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return err
	}
	head, err := c.AuditHead(ctx)
	if err != nil {
		return coordError(stderr, err)
	}
	r := &auditPages{ctx: ctx, c: c, next: f.from, until: head.Head.Seq}
	defer r.Close()
	if _, err := io.Copy(stdout, r); err != nil {
		return coordError(stderr, fmt.Errorf("audit log: %w", err))
	}
	return nil
}

// auditPages reads the audit log page by page (the coordinator serves at
// most a page of lines per request) until the page that holds line until,
// the head when the command started. Stopping there matters: every read
// of the log is itself logged, so "until no new lines" would never end.
// Seqs count up from 1 without gaps, so the next page starts at the count
// of lines read; a coordinator that skipped lines fails verification.
type auditPages struct {
	ctx   context.Context
	c     *client.Client
	next  uint64 // seq the next page starts at
	until uint64
	page  io.ReadCloser
	lines uint64 // lines of the current page
	done  bool
}

func (p *auditPages) Read(b []byte) (int, error) {
	for {
		if p.done {
			return 0, io.EOF
		}
		if p.page == nil {
			if p.next > p.until {
				p.done = true
				continue
			}
			rc, err := p.c.AuditLog(p.ctx, p.next)
			if err != nil {
				return 0, err
			}
			p.page, p.lines = rc, 0
		}
		n, err := p.page.Read(b)
		p.lines += uint64(bytes.Count(b[:n], []byte{'\n'}))
		if err == io.EOF {
			p.page.Close()
			p.page = nil
			if p.lines == 0 {
				p.done = true // nothing more: Verify reports a head not reached
			}
			if p.next == 0 {
				p.next = 1 // seqs start at 1: from=0 and from=1 are the same page
			}
			p.next += p.lines
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (p *auditPages) Close() error {
	if p.page != nil {
		return p.page.Close()
	}
	return nil
}

type auditVerifyFlags struct {
	coord    coordFlags
	key      string
	head     string
	saveHead string
}

func newAuditVerifyCmd() *cobra.Command {
	var f auditVerifyFlags
	cmd := &cobra.Command{
		Use:   "verify [FILE] (--key AUDIT_PUB.pem | --coordinator URL) [--head HEAD.json] [--save-head FILE]",
		Short: "Check an audit log: hash chain, signatures, truncation",
		Long: `Verify checks an audit log line by line: every line chains to the one before
(an edited, inserted, removed or reordered line breaks the chain) and is
signed by the coordinator's audit key.

Offline: FILE (or - for stdin) is a copy of the log and --key is the
coordinator's audit public key (PEM).

Online (--coordinator, no FILE): the coordinator is verified first; then its
signed head (current last line) and its log are fetched, and the log must
reach that head. --key, if given, must be the key the coordinator signs with.
--save-head writes the signed head to a file: keep it somewhere the
coordinator's host cannot reach and pass it to a later verify.

--head is such a saved head: the log must still contain that line,
unchanged, which detects a log cut short or rewritten since.

Exit status: 0 verified, 1 refused (the first break on stderr), 2 usage
error, 3 coordinator unavailable.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			return runAuditVerify(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, file)
		},
	}
	// --key is the audit key here; the client key of --cert is --cert-key.
	f.coord.register(cmd.Flags(), "cert-key")
	cmd.Flags().StringVar(&f.key, "key", "", "the coordinator's audit public key (PEM)")
	cmd.Flags().StringVar(&f.head, "head", "", "a signed head saved earlier (JSON)")
	cmd.Flags().StringVar(&f.saveHead, "save-head", "", "online: write the coordinator's current signed head to FILE")
	return cmd
}

func runAuditVerify(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, f auditVerifyFlags, file string) error {
	online := f.coord.url != ""
	switch {
	case file != "" && online:
		return usagef("give FILE or --coordinator, not both")
	case file == "" && !online:
		return usagef("give FILE (with --key) or --coordinator")
	case !online && f.key == "":
		return usagef("--key (the coordinator's audit public key) is required to verify a file")
	case !online && f.saveHead != "":
		return usagef("--save-head needs --coordinator")
	}
	var pub crypto.PublicKey
	if f.key != "" {
		b, err := readFile(f.key, maxPEMFile)
		if err != nil {
			return usagef("--key: %v", err)
		}
		if pub, err = parsePublicKeyPEM(b); err != nil {
			return usagef("--key %s: %v", f.key, err)
		}
	}
	var saved *api.SignedAuditHead
	if f.head != "" {
		b, err := readFile(f.head, maxHeadFile)
		if err != nil {
			return usagef("--head: %v", err)
		}
		if saved, err = parseSignedHead(b); err != nil {
			return usagef("--head %s: %v", f.head, err)
		}
	}

	var log io.Reader
	var current *api.SignedAuditHead
	if online {
		c, err := f.coord.connect(ctx, stderr)
		if err != nil {
			return err
		}
		if current, err = c.AuditHead(ctx); err != nil {
			return coordError(stderr, err)
		}
		key, err := headKey(current, pub)
		if err != nil {
			fmt.Fprintln(stderr, "REFUSED: the coordinator's signed head:", err)
			return refusedError{}
		}
		pub = key
		if _, err := verifySignedHead(current, pub); err != nil {
			fmt.Fprintln(stderr, "REFUSED: the coordinator's signed head:", err)
			return refusedError{}
		}
		until := current.Head.Seq
		if saved != nil && saved.Head.Seq > until {
			until = saved.Head.Seq // Verify then reports the log cut short
		}
		pages := &auditPages{ctx: ctx, c: c, next: 1, until: until}
		defer pages.Close()
		log = pages
	} else {
		if file != "-" {
			fh, err := os.Open(file)
			if err != nil {
				return usagef("%v", err)
			}
			defer fh.Close()
			log = fh
		} else {
			log = stdin
		}
	}

	// The head the log must reach: the saved one if given (it is the
	// evidence from outside), else the coordinator's current one.
	want := current
	if saved != nil {
		want = saved
	}
	opts := auditlog.VerifyOptions{PublicKeys: []crypto.PublicKey{pub}, RequireSignatures: true}
	if want != nil {
		h, err := verifySignedHead(want, pub)
		if err != nil {
			fmt.Fprintln(stderr, "REFUSED: the saved head:", err)
			return refusedError{}
		}
		opts.Head = &h
	}
	sum, err := auditlog.Verify(log, opts)
	if err != nil {
		var ce *auditlog.ChainError
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, "REFUSED: audit log:", ce)
			return refusedError{}
		}
		return coordError(stderr, fmt.Errorf("audit log: %w", err))
	}
	kid, _ := auditlog.KeyID(pub)
	fmt.Fprintf(stdout, "audit log verified: %d lines, all signed (key %s)\n  head seq %d sha256 %x\n", sum.Lines, kid, sum.Head.Seq, sum.Head.Hash)
	if opts.Head != nil {
		fmt.Fprintf(stdout, "  reaches the signed head seq %d (%s)\n", opts.Head.Seq, want.Time.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if f.saveHead != "" {
		b, err := json.MarshalIndent(current, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.saveHead, append(b, '\n'), 0o644); err != nil {
			return usagef("--save-head: %v", err)
		}
		fmt.Fprintf(stdout, "  signed head saved to %s\n", f.saveHead)
	}
	return nil
}

// parseSignedHead decodes a saved head (the JSON of GET /v1/audit/head),
// strictly.
func parseSignedHead(b []byte) (*api.SignedAuditHead, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var sh api.SignedAuditHead
	if err := dec.Decode(&sh); err != nil {
		return nil, fmt.Errorf("not a signed audit head: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a signed audit head: trailing data")
	}
	return &sh, nil
}

// headKey returns the key that signed sh: pub when the caller pinned one
// (sh must name the same key), else the key sh carries — acceptable only
// because sh came from a verified coordinator.
func headKey(sh *api.SignedAuditHead, pub crypto.PublicKey) (crypto.PublicKey, error) {
	own, err := x509.ParsePKIXPublicKey(sh.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if pub == nil {
		return own, nil
	}
	want, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil || !bytes.Equal(want, sh.PublicKey) {
		return nil, errors.New("signed by another key than --key")
	}
	return pub, nil
}

// verifySignedHead checks sh's signature under pub and returns its head.
func verifySignedHead(sh *api.SignedAuditHead, pub crypto.PublicKey) (auditlog.Head, error) {
	var h auditlog.Head
	hash, err := hex.DecodeString(sh.Head.SHA256)
	if err != nil || len(hash) != len(h.Hash) {
		return h, errors.New("head sha256 is not 64 hex digits")
	}
	h.Seq = sh.Head.Seq
	copy(h.Hash[:], hash)
	kid, err := auditlog.KeyID(pub)
	if err != nil {
		return h, err
	}
	signed := auditlog.SignedHead{Head: h, Time: sh.Time, KeyID: kid, Signature: sh.Signature}
	if err := signed.Verify([]crypto.PublicKey{pub}); err != nil {
		return h, err
	}
	return h, nil
}

// parsePublicKeyPEM decodes a PEM "PUBLIC KEY" (PKIX).
func parsePublicKeyPEM(b []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("no PEM PUBLIC KEY block")
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}
