package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cofre-cc/cofre/analytics/pme"
)

// pmeFlags choose how Parquet files are encrypted: the names and meanings
// of parquet-java's PropertiesDrivenCryptoFactory properties, so a Spark
// job and cofre agree on one configuration.
type pmeFlags struct {
	footerKey, columnKeys, algorithm string
	plaintextFooter, singleWrapping  bool
	dataKeyBits                      int
}

func (f *pmeFlags) register(fl *pflag.FlagSet, prefix, defaultFooterKey string) {
	fl.StringVar(&f.footerKey, prefix+"footer-key", defaultFooterKey, "master key (the policy's parquet-master-key) for the footer and every column not in --"+prefix+"column-keys (parquet.encryption.footer.key)")
	fl.StringVar(&f.columnKeys, prefix+"column-keys", "", `per-column master keys, "key1:colA,colB;key2:colC" (parquet.encryption.column.keys)`)
	fl.BoolVar(&f.plaintextFooter, prefix+"plaintext-footer", false, "leave the footer readable (signed), for readers without keys to see the schema (parquet.encryption.plaintext.footer)")
	fl.BoolVar(&f.singleWrapping, prefix+"single-wrapping", false, "wrap each data key with the KMS directly instead of under a cached key-encryption key (parquet.encryption.double.wrapping=false)")
	fl.StringVar(&f.algorithm, prefix+"algorithm", "AES_GCM_V1", "AES_GCM_V1 or AES_GCM_CTR_V1 (parquet.encryption.algorithm)")
	fl.IntVar(&f.dataKeyBits, prefix+"data-key-bits", 256, "data key length: 128, 192 or 256 (parquet.encryption.data.key.length.bits; parquet-java defaults to 128, cofre to 256, which DuckDB's own reader also decrypts)")
}

// config is the encryption of files with the given Arrow schema. Without
// --column-keys the footer key encrypts everything (uniform key); with
// them, columns not listed are encrypted with the footer key
// (complete.columns), so nothing is left in plaintext by omission.
func (f *pmeFlags) config(sc *arrow.Schema) (pme.Config, error) {
	cfg := pme.Config{
		PlaintextFooter: f.plaintextFooter,
		SingleWrapping:  f.singleWrapping,
		Algorithm:       f.algorithm,
		DataKeyLength:   f.dataKeyBits,
	}
	if f.columnKeys == "" {
		cfg.UniformKey = f.footerKey
		return cfg, nil
	}
	ps, err := pqarrow.ToParquet(sc, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		return cfg, err
	}
	cfg.FooterKey, cfg.ColumnKeys, cfg.CompleteColumns, cfg.Schema = f.footerKey, f.columnKeys, true, ps
	return cfg, nil
}

// workloadRunE is the RunE of a command that runs as a workload cofre run
// started (cofre datagen, cofre query): it takes the launcher's
// environment (coordFlags.workload) and stops on SIGINT or SIGTERM.
func workloadRunE(coord *coordFlags, run func(ctx context.Context, stdout, stderr io.Writer) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		coord.workload = true
		if err := coord.fromEnv(cmd.Flags()); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return run(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
}

// kmsFactory connects to the coordinator (as the workload cofre run
// started, or with the flags' certificate) and returns a key factory that
// wraps and unwraps through its KMS.
// plaintextOK lets its decryption properties read files that are not
// encrypted.
func kmsFactory(ctx context.Context, stderr io.Writer, coord *coordFlags, plaintextOK bool) (*pme.Factory, error) {
	if coord.url == "" {
		return nil, usagef("encrypted Parquet needs the coordinator's KMS: run under cofre run, or give --coordinator and --cert")
	}
	c, err := coord.connect(ctx, stderr)
	if err != nil {
		return nil, err
	}
	return pme.NewFactory(&pme.CoordinatorKMS{C: c}, pme.FactoryOptions{KEKCacheLifetime: pme.DefaultKEKCacheLifetime, AllowPlaintextFiles: plaintextOK}), nil
}

// progressPrinter reports a long job's progress on w once a second: one
// line rewritten in place on a terminal, a line per report otherwise.
type progressPrinter struct {
	w        io.Writer
	what     string
	total    int64
	start    time.Time
	last     time.Time
	terminal bool
}

func newProgress(w io.Writer, what string, total int64) *progressPrinter {
	now := time.Now()
	return &progressPrinter{w: w, what: what, total: total, start: now, last: now, terminal: isTerminal(w)}
}

// update is called with the running total; it prints at most once a second.
func (p *progressPrinter) update(done int64) {
	now := time.Now()
	if now.Sub(p.last) < time.Second && done < p.total {
		return
	}
	p.last = now
	rate := float64(done) / now.Sub(p.start).Seconds()
	line := fmt.Sprintf("%s: %s / %s (%3.0f%%), %s/s", p.what, si(float64(done)), si(float64(p.total)), 100*float64(done)/float64(max(p.total, 1)), si(rate))
	if p.terminal {
		fmt.Fprintf(p.w, "\r%-72s", line)
		if done >= p.total {
			fmt.Fprintln(p.w)
		}
		return
	}
	fmt.Fprintln(p.w, line)
}

// si formats a count with a k/M/G suffix.
func si(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// isTerminal reports whether w is a character device (a terminal), where
// progress is redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
