package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// maxSecretInput bounds an uploaded secret: the upload is JSON (base64:
// 4/3 of the value) within the coordinator's api.MaxRequestBody (1 MiB).
const maxSecretInput = 512 << 10

func newSecretCmd() *cobra.Command {
	return newGroup("secret", "Upload and read a manifest's secrets", newSecretSetCmd(), newSecretGetCmd())
}

type secretSetFlags struct {
	coord     coordFlags
	fromFile  string
	fromStdin bool
}

func newSecretSetCmd() *cobra.Command {
	var f secretSetFlags
	cmd := &cobra.Command{
		Use:   "set [flags] MANIFEST SECRET (--from-file FILE | --from-stdin)",
		Short: "Upload the value of an uploaded secret",
		Long: `Set uploads the value of SECRET, a secret of kind "uploaded" in manifest
MANIFEST, read byte for byte (a final newline is kept) from --from-file or
stdin. Your client certificate (--cert) needs a role that writes the secret.
Nothing is sent before the coordinator is verified.

Exit status: 0 done, 1 refused, 2 usage error, 3 coordinator unavailable.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			return runSecretSet(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, args[0], args[1])
		},
	}
	f.coord.register(cmd.Flags(), "key")
	cmd.Flags().StringVar(&f.fromFile, "from-file", "", "read the value from FILE")
	cmd.Flags().BoolVar(&f.fromStdin, "from-stdin", false, "read the value from stdin")
	return cmd
}

func runSecretSet(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, f secretSetFlags, manifestName, secret string) error {
	var value []byte
	var err error
	switch {
	case (f.fromFile != "") == f.fromStdin:
		return usagef("give exactly one of --from-file and --from-stdin")
	case f.fromStdin:
		value, err = readInput(stdin, "-", maxSecretInput)
	default:
		value, err = readFile(f.fromFile, maxSecretInput)
	}
	if err != nil {
		// readInput's errors name the path and sizes, never content.
		return usagef("read secret: %v", err)
	}
	defer clear(value)
	if len(value) == 0 {
		return usagef("the secret value is empty")
	}
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return err
	}
	if err := c.SetSecret(ctx, manifestName, secret, value); err != nil {
		return coordError(stderr, err)
	}
	fmt.Fprintf(stdout, "secret %q of manifest %q set (%d bytes)\n", secret, manifestName, len(value))
	return nil
}

type secretGetFlags struct {
	coord  coordFlags
	out    string
	asJSON bool
}

func newSecretGetCmd() *cobra.Command {
	var f secretGetFlags
	cmd := &cobra.Command{
		Use:   "get [flags] MANIFEST SECRET -o FILE",
		Short: "Read a secret",
		Long: `Get reads SECRET of manifest MANIFEST (your client certificate needs a role
that reads it) and writes it to FILE, created with mode 0600 (an existing
file is not overwritten). -o - writes to stdout: a secret is never printed
unless you ask for it that way.

What is written: the value of byte secrets (symmetric, ascii, explicit,
uploaded); for key and certificate secrets, the PEM blocks (certificate,
chain, private key). --json writes the whole response instead.

Exit status: 0 done, 1 refused, 2 usage error, 3 coordinator unavailable.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			return runSecretGet(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f, args[0], args[1])
		},
	}
	f.coord.register(cmd.Flags(), "key")
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "file to write the secret to (required; - for stdout)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "write the coordinator's JSON response (kind, value, PEM parts)")
	return cmd
}

func runSecretGet(ctx context.Context, stdout, stderr io.Writer, f secretGetFlags, manifestName, secret string) error {
	if f.out == "" {
		return usagef("-o FILE is required (-o - for stdout): a secret is not printed unless asked")
	}
	if f.out != "-" {
		// Fail before fetching: the secret must not be read for nothing.
		if _, err := os.Lstat(f.out); err == nil {
			return usagef("-o %s: the file exists; not overwriting it", f.out)
		} else if !errors.Is(err, os.ErrNotExist) {
			return usagef("-o: %v", err)
		}
	}
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return err
	}
	res, err := c.Secret(ctx, manifestName, secret)
	if err != nil {
		return coordError(stderr, err)
	}
	var out []byte
	if f.asJSON {
		if out, err = json.MarshalIndent(res, "", "  "); err != nil {
			return err
		}
		out = append(out, '\n')
	} else {
		out = secretBytes(res.Value, res.Certificate, res.Chain, res.PrivateKey)
	}
	defer clear(out)
	clear(res.Value)
	if len(out) == 0 {
		return fmt.Errorf("secret %q of manifest %q (kind %s): the coordinator returned no value", secret, manifestName, res.Kind)
	}
	if f.out == "-" {
		_, err = stdout.Write(out)
		return err
	}
	fh, err := os.OpenFile(f.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return usagef("-o: %v", err)
	}
	if _, err := fh.Write(out); err != nil {
		fh.Close()
		return fmt.Errorf("-o: %w", err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	fmt.Fprintf(stderr, "secret %q of manifest %q (kind %s, %d bytes) written to %s\n", secret, manifestName, res.Kind, len(out), f.out)
	return nil
}

// secretBytes is what "secret get" writes: the value, or the PEM parts.
func secretBytes(value []byte, cert, chain, key string) []byte {
	if len(value) > 0 {
		return append([]byte(nil), value...)
	}
	var b strings.Builder
	for _, p := range []string{cert, chain, key} {
		if p == "" {
			continue
		}
		b.WriteString(p)
		if !strings.HasSuffix(p, "\n") {
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}
