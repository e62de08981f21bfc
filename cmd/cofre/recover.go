package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/coordinator/api"
	"github.com/cofre-cc/cofre/coordinator/seal"
)

type recoverFlags struct {
	coord            coordFlags
	manifest, holder string
	key              string
}

func newRecoverCmd() *cobra.Command {
	var f recoverFlags
	cmd := &cobra.Command{
		Use:   "recover --coordinator URL --manifest NAME --holder NAME --key RECOVERY_PRIVATE.pem [flags]",
		Short: "Submit your recovery share of a locked manifest",
		Long: `Recover restores a manifest whose secrets a coordinator can no longer unseal
(new hardware, a lost sealing key). The coordinator must be verified first:
a share goes only to an attested coordinator. Then this command downloads
the manifest's recovery record, decrypts your share with your recovery
private key here, on your machine, and submits it. It prints how many
shares are still needed; once enough holders have submitted theirs, the
manifest is unlocked.

Exit status: 0 share accepted, 1 refused (the coordinator, the record or
the share), 2 usage error, 3 coordinator unavailable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			return runRecover(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	// --key is the recovery key here; the client key of --cert is --cert-key.
	f.coord.register(cmd.Flags(), "cert-key")
	fl := cmd.Flags()
	fl.StringVar(&f.manifest, "manifest", "", "the locked manifest (required)")
	fl.StringVar(&f.holder, "holder", "", "your holder name, as the manifest's recovery keys list it (required)")
	fl.StringVar(&f.key, "key", "", "your recovery private key (PEM; P-256, P-384 or X25519) (required)")
	return cmd
}

func runRecover(ctx context.Context, stdout, stderr io.Writer, f recoverFlags) error {
	if f.manifest == "" || f.holder == "" || f.key == "" {
		return usagef("--manifest, --holder and --key are required")
	}
	keyPEM, err := readFile(f.key, maxPEMFile)
	if err != nil {
		return usagef("--key: %v", err)
	}
	priv, err := seal.ParseRecoveryPrivateKey(keyPEM)
	clear(keyPEM)
	if err != nil {
		return usagef("--key %s: %v", f.key, err)
	}
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return err
	}
	raw, err := c.RecoveryRecord(ctx, f.manifest)
	if err != nil {
		return coordError(stderr, err)
	}
	rec, err := seal.ParseRecoveryRecord(raw)
	if err != nil {
		fmt.Fprintln(stderr, "REFUSED: the recovery record:", err)
		return refusedError{}
	}
	share, err := rec.OpenShare(f.holder, priv)
	if err != nil {
		fmt.Fprintf(stderr, "REFUSED: your share of manifest %q: %v\n", f.manifest, err)
		if errors.Is(err, seal.ErrWrongRecoveryKey) {
			fmt.Fprintln(stderr, "  (the record's share for this holder is encrypted to another key)")
		}
		return refusedError{}
	}
	res, err := c.SubmitShare(ctx, f.manifest, &api.RecoveryShare{Holder: f.holder, Share: share})
	clear(share)
	if err != nil {
		return coordError(stderr, err)
	}
	if res.Recovered {
		fmt.Fprintf(stdout, "share of %q accepted: manifest %q is recovered\n", f.holder, f.manifest)
		return nil
	}
	fmt.Fprintf(stdout, "share of %q accepted for manifest %q: %d more needed\n", f.holder, f.manifest, res.Remaining)
	return nil
}
