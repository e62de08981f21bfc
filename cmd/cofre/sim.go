package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sim"
)

// Files of a simulation directory, as "cofre sim init" writes them.
const (
	simRootFile     = "root.pem"      // root CA key and certificate: keep it private
	simRootCertFile = "root-cert.pem" // the root certificate alone: what verifiers trust
	simPlatformFile = "platform.pem"  // platform key and chain: what a node agent holds
)

func newSimCmd() *cobra.Command {
	return newGroup("sim", "Manage the simulated TEE (SIMULATION: no confidentiality)", newSimInitCmd())
}

func newSimInitCmd() *cobra.Command {
	var dir, name string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "init --dir DIR",
		Short: "Create a simulation root CA and one platform key certified by it",
		Long: `Init writes root.pem (the root CA key and certificate: keep it private),
root-cert.pem (the certificate alone: give it to verifiers with --sim-root)
and platform.pem (the platform key and chain: what a node agent holds).
Whoever holds either key can forge simulated evidence: SIMULATION gives no
confidentiality.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usagef("--dir is required")
			}
			for _, f := range []string{simRootFile, simRootCertFile, simPlatformFile} {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					return usagef("%s already exists; refusing to overwrite a simulation root", filepath.Join(dir, f))
				}
			}
			now := time.Now()
			root, err := sim.NewRoot(now, validity)
			if err != nil {
				return err
			}
			plat, err := root.NewPlatform(name, now, validity)
			if err != nil {
				return err
			}
			rb, err := sim.MarshalRoot(root)
			if err != nil {
				return err
			}
			pb, err := sim.MarshalPlatform(plat)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, simRootFile), rb, 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, simPlatformFile), pb, 0o600); err != nil {
				return err
			}
			cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw})
			if err := os.WriteFile(filepath.Join(dir, simRootCertFile), cert, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "SIMULATION root and platform %q written to %s (platform id %x)\n", name, dir, plat.ID())
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory for root.pem and platform.pem")
	cmd.Flags().StringVar(&name, "platform", "sim-node", "platform name written into its certificate")
	cmd.Flags().DurationVar(&validity, "validity", 365*24*time.Hour, "certificate validity")
	return cmd
}

func newEvidenceProduceCmd() *cobra.Command {
	var format, platformFile, nonceHex, keyFile, digestHex, measurementHex, signerHex, productID, out string
	var svn uint64
	cmd := &cobra.Command{
		Use:   "produce --format sim.v1 --sim-platform FILE --nonce HEX --measurement HEX [flags]",
		Short: "Produce evidence binding a nonce, a public key and a workload digest",
		Long: `Produce makes evidence whose report data is
SHA-512("cofre-v1" ‖ nonce ‖ SHA-256(public key DER) ‖ workload digest).
Only sim.v1 can be produced here; hardware evidence comes from inside a TEE
(cofre run).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != attest.FormatSim {
				return usagef("--format %q: only %s can be produced outside a TEE", format, attest.FormatSim)
			}
			pb, err := os.ReadFile(platformFile)
			if err != nil {
				return usagef("--sim-platform: %v", err)
			}
			plat, err := sim.ParsePlatform(pb)
			if err != nil {
				return usagef("--sim-platform: %v", err)
			}
			nonce, err := hexFlag("nonce", nonceHex)
			if err != nil {
				return err
			}
			if nonceHex == "random" {
				nonce = make([]byte, attest.NonceSize)
				rand.Read(nonce)
			}
			var keyDER []byte
			if keyFile != "" {
				if keyDER, err = readPublicKeyDER(keyFile); err != nil {
					return usagef("--public-key: %v", err)
				}
			}
			digest, err := hexFlag("workload-digest", digestHex)
			if err != nil {
				return err
			}
			m, err := hexFlag("measurement", measurementHex)
			if err != nil {
				return err
			}
			signer, err := hexFlag("signer", signerHex)
			if err != nil {
				return err
			}
			rd, err := attest.ReportData(nonce, keyDER, digest)
			if err != nil {
				return usageError{err}
			}
			p := &sim.Producer{Platform: plat, Measurement: m, Signer: signer, ProductID: productID, SVN: svn}
			ev, err := p.Produce(context.Background(), rd)
			if err != nil {
				return usageError{err}
			}
			b, err := json.MarshalIndent(ev, "", "  ")
			if err != nil {
				return err
			}
			b = append(b, '\n')
			var w io.Writer = cmd.OutOrStdout()
			if out != "" && out != "-" {
				return os.WriteFile(out, b, 0o644)
			}
			_, err = w.Write(b)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", attest.FormatSim, "evidence format")
	fl.StringVar(&platformFile, "sim-platform", "", "simulation platform file (cofre sim init)")
	fl.StringVar(&nonceHex, "nonce", "", "verifier's nonce: 32 bytes hex, or \"random\"")
	fl.StringVar(&keyFile, "public-key", "", "workload public key (PEM or DER, PKIX) to bind")
	fl.StringVar(&digestHex, "workload-digest", "", "workload digest to bind (32 bytes hex)")
	fl.StringVar(&measurementHex, "measurement", "", "measurement the simulated platform reports (hex)")
	fl.StringVar(&signerHex, "signer", "", "signer the simulated platform reports (hex)")
	fl.StringVar(&productID, "product-id", "", "product id the simulated platform reports")
	fl.Uint64Var(&svn, "svn", 0, "security version the simulated platform reports")
	fl.StringVarP(&out, "out", "o", "", "write the evidence envelope here instead of stdout")
	return cmd
}

func hexFlag(name, v string) ([]byte, error) {
	if v == "" || v == "random" {
		return nil, nil
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, usagef("--%s: %v", name, err)
	}
	return b, nil
}

func readPublicKeyDER(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if _, err := x509.ParsePKIXPublicKey(b); err != nil {
		return nil, errors.New("not a PKIX public key")
	}
	return b, nil
}
