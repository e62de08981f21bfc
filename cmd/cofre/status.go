package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/coordinator/api"
)

type statusFlags struct {
	coord    coordFlags
	asJSON   bool
	saveRoot string
}

func newStatusCmd() *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "Verify a coordinator and show its state",
		Long: `Status verifies the coordinator (attestation against --coordinator-policy,
or a pinned --root) and prints its trust domain, sealing, root certificate
hash, audit log head and manifests. --save-root writes the root
certificate of the coordinator it just verified, for later --root pins
(never pin the root.pem in the coordinator's state directory: its host
can replace that file).

Exit status: 0 done, 1 the coordinator is not verified, 2 usage error,
3 coordinator unavailable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.coord.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			return runStatus(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	f.coord.register(cmd.Flags(), "key")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&f.saveRoot, "save-root", "", "write the verified coordinator's root certificate (PEM) to this file")
	return cmd
}

func runStatus(ctx context.Context, stdout, stderr io.Writer, f statusFlags) error {
	c, err := f.coord.connect(ctx, stderr)
	if err != nil {
		return err
	}
	st, err := c.Status(ctx)
	if err != nil {
		return coordError(stderr, err)
	}
	// The client's view wins: a coordinator that attested with sim
	// evidence is simulated whatever its status says.
	st.Simulation = st.Simulation || c.Simulation()
	if f.saveRoot != "" {
		b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Root().Raw})
		if err := os.WriteFile(f.saveRoot, b, 0o644); err != nil {
			return err
		}
	}
	return printStatus(stdout, f.coord.url, st, f.asJSON)
}

func printStatus(w io.Writer, url string, st *api.Status, asJSON bool) error {
	if asJSON {
		if st.Manifests == nil {
			st.Manifests = []api.ManifestSummary{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "coordinator\t%s\n", url)
	fmt.Fprintf(tw, "trust domain\t%s\n", st.TrustDomain)
	fmt.Fprintf(tw, "simulation\t%s\n", simNote(st.Simulation))
	fmt.Fprintf(tw, "sealer\t%s\n", st.Sealer)
	fmt.Fprintf(tw, "root sha256\t%s\n", st.RootSHA256)
	fmt.Fprintf(tw, "audit head\tseq %d sha256 %s\n", st.AuditHead.Seq, orDash(st.AuditHead.SHA256))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Manifests) == 0 {
		fmt.Fprintln(w, "\nno manifests")
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MANIFEST\tVERSION\tSHA256\tSTATE")
	for _, m := range st.Manifests {
		state := "active"
		if m.Locked {
			state = "LOCKED (awaits recovery)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Name, m.Version, short(m.SHA256), state)
	}
	return tw.Flush()
}
