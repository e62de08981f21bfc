package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes. Scripts and operators tell a refusal from a broken setup.
const (
	exitOK      = 0
	exitRefused = 1 // the evidence or request was examined and refused
	exitUsage   = 2 // bad flags, unreadable input
	exitUnavail = 3 // a dependency (service, collateral source) is unavailable
)

// usageError marks an error as the caller's fault: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// refusedError means the command ran and its verdict is "no": exit 1. The
// command has already printed the reasons.
type refusedError struct{}

func (refusedError) Error() string { return "refused" }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "cofre",
		Short:         "cofre: confidential computing with attested keys, secrets and data",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newVersionCmd(), newEvidenceCmd(), newSimCmd(), newAttestdCmd(), newTokenCmd(), newManifestCmd(), newSecretCmd(), newStatusCmd(), newAuditCmd(), newRecoverCmd(), newCoordinatorCmd(), newRunCmd(), newAgentCmd(), newVolumeCmd(), newDatagenCmd(), newQueryCmd(), newSparkCmd(), newColencCmd(), newInferCmd(), newHealthCmd())
	return root
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	var ue usageError
	var ec exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return int(ec) // a supervised program's status, passed through
	case errors.As(err, &refusedError{}):
		return exitRefused
	case errors.As(err, &ue), isCobraUsage(err):
		fmt.Fprintln(stderr, "cofre:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "cofre:", err)
		return exitUnavail
	}
}

// isCobraUsage recognizes cobra's own argument errors (unknown command,
// wrong number of args), which it does not type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// newGroup returns a command that only holds subcommands. Cobra would print
// help and succeed on an unknown subcommand; a typo must fail instead.
func newGroup(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}
