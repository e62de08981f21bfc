package pme

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Config says how to encrypt one file. It mirrors the Hadoop properties of
// parquet-java's PropertiesDrivenCryptoFactory (what Spark passes through
// spark.hadoop.* options), so that a job's settings carry over unchanged.
type Config struct {
	// FooterKey is parquet.encryption.footer.key: the ID of the master key
	// that wraps the footer's DEK. The footer DEK encrypts (or, with
	// PlaintextFooter, signs) the footer. Required unless UniformKey.
	FooterKey string
	// ColumnKeys is parquet.encryption.column.keys:
	// "masterKeyID:colA,colB;masterKeyID2:colC" (see ParseColumnKeys).
	// Each listed column gets its own random DEK, wrapped under its master
	// key; columns not listed stay in plaintext unless CompleteColumns.
	// Required with FooterKey unless CompleteColumns.
	ColumnKeys string
	// UniformKey is parquet.encryption.uniform.key: one master key for the
	// footer and all columns (they share the footer DEK). Exclusive with
	// FooterKey and ColumnKeys.
	UniformKey string
	// PlaintextFooter is parquet.encryption.plaintext.footer (default
	// false): leave the footer readable by legacy readers, signed with the
	// footer key. Column statistics of encrypted columns are still hidden,
	// but the schema, row counts and plaintext columns' statistics are not.
	PlaintextFooter bool
	// SingleWrapping is parquet.encryption.double.wrapping=false. Default
	// (false) is double wrapping: DEKs are wrapped locally under a random
	// KEK per master key, and only KEKs go to the KMS (once per KEK
	// lifetime, not once per file and column). Single wrapping sends
	// every DEK to the KMS.
	SingleWrapping bool
	// Algorithm is parquet.encryption.algorithm: "AES_GCM_V1" (default,
	// everything authenticated) or "AES_GCM_CTR_V1" (page data in AES-CTR,
	// NOT authenticated: a modified page yields wrong values, not an
	// error; only metadata and page headers use GCM).
	Algorithm string
	// DataKeyLength is parquet.encryption.data.key.length.bits: the DEK
	// size in bits, 128 (default, as parquet-java), 192 or 256.
	DataKeyLength int
	// CompleteColumns is parquet.encryption.complete.columns (default
	// false): columns not in ColumnKeys are encrypted with the footer key
	// instead of left in plaintext. Needs Schema.
	CompleteColumns bool
	// Schema is the file's Parquet schema, or nil. When set, every column
	// named in ColumnKeys must be one of its leaf columns (dot paths, as
	// parquet-java's ColumnPath.fromDotString) — arrow-go would otherwise
	// panic when writing. Required with CompleteColumns, which must know
	// the other columns. Not a Hadoop property.
	Schema *schema.Schema
}

// Algorithm names (parquet.encryption.algorithm values).
const (
	AlgorithmGCM    = "AES_GCM_V1"
	AlgorithmGCMCTR = "AES_GCM_CTR_V1"
)

// plan is a validated Config.
type plan struct {
	alg        parquet.Cipher
	dekLen     int                 // bytes
	footerKey  string              // master key ID for the footer DEK
	columnKeys map[string][]string // master key ID -> columns; nil: all columns with the footer key
	extraCols  []string            // CompleteColumns: columns encrypted with the footer key
}

// validate checks every field and reports all problems at once.
func (c *Config) validate() (*plan, error) {
	p := &plan{}
	var errs []error
	switch c.Algorithm {
	case "", AlgorithmGCM:
		p.alg = parquet.AesGcm
	case AlgorithmGCMCTR:
		p.alg = parquet.AesCtr
	default:
		errs = append(errs, fmt.Errorf("parquet.encryption.algorithm: expected %s or %s, got %s", AlgorithmGCM, AlgorithmGCMCTR, clipID(c.Algorithm)))
	}
	switch c.DataKeyLength {
	case 0:
		p.dekLen = 16
	case 128, 192, 256:
		p.dekLen = c.DataKeyLength / 8
	default:
		errs = append(errs, fmt.Errorf("parquet.encryption.data.key.length.bits: expected 128, 192 or 256, got %d", c.DataKeyLength))
	}
	switch {
	case c.UniformKey != "":
		if c.FooterKey != "" || c.ColumnKeys != "" {
			errs = append(errs, errors.New("parquet.encryption.uniform.key is exclusive with parquet.encryption.footer.key and parquet.encryption.column.keys"))
		}
		if c.CompleteColumns {
			errs = append(errs, errors.New("parquet.encryption.complete.columns does not apply to parquet.encryption.uniform.key"))
		}
		p.footerKey = c.UniformKey
	case c.FooterKey == "":
		errs = append(errs, errors.New("parquet.encryption.footer.key (or parquet.encryption.uniform.key) is required"))
	default:
		p.footerKey = c.FooterKey
		if c.ColumnKeys == "" && !c.CompleteColumns {
			errs = append(errs, errors.New("parquet.encryption.column.keys is required with parquet.encryption.footer.key (or set parquet.encryption.complete.columns)"))
		}
	}
	if len(p.footerKey) > maxIDLen {
		errs = append(errs, fmt.Errorf("footer master key ID: %d bytes, more than %d", len(p.footerKey), maxIDLen))
	}
	if c.ColumnKeys != "" {
		ck, err := ParseColumnKeys(c.ColumnKeys)
		if err != nil {
			errs = append(errs, err)
		}
		p.columnKeys = ck
	}
	if c.Schema != nil {
		leaves := make(map[string]bool, c.Schema.NumColumns())
		for i := range c.Schema.NumColumns() {
			leaves[c.Schema.Column(i).Path()] = true
		}
		listed := map[string]bool{}
		for key, cols := range p.columnKeys {
			for _, col := range cols {
				listed[col] = true
				if !leaves[col] {
					errs = append(errs, fmt.Errorf("parquet.encryption.column.keys: column %s (key %s) is not in the schema", clipID(col), clipID(key)))
				}
			}
		}
		if c.CompleteColumns {
			for i := range c.Schema.NumColumns() {
				if path := c.Schema.Column(i).Path(); !listed[path] {
					p.extraCols = append(p.extraCols, path)
				}
			}
		}
	} else if c.CompleteColumns {
		errs = append(errs, errors.New("parquet.encryption.complete.columns needs Config.Schema"))
	}
	if c.CompleteColumns && len(p.columnKeys) == 0 && len(p.extraCols) == 0 {
		errs = append(errs, errors.New("the schema has no columns"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pme: %w: %w", ErrConfig, err)
	}
	return p, nil
}

// ParseColumnKeys parses parquet.encryption.column.keys as parquet-java
// does: "masterKeyID:colA,colB;masterKeyID2:colC". Master key IDs and
// column names are trimmed; empty ";"-separated entries are skipped. It
// returns master key ID -> columns in their written order (a key listed
// twice has its columns merged). It refuses an empty value, an entry
// without exactly one ':', an empty key ID or column name, and a column
// listed twice (parquet-java: "Multiple keys defined for the same
// column"). Errors wrap ErrConfig.
func ParseColumnKeys(s string) (map[string][]string, error) {
	out := map[string][]string{}
	seen := map[string]string{} // column -> key
	var errs []error
	for entry := range strings.SplitSeq(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.Split(entry, ":")
		if len(parts) != 2 {
			errs = append(errs, fmt.Errorf("entry %s: expected masterKeyID:col1,col2", clipID(entry)))
			continue
		}
		key := strings.TrimSpace(parts[0])
		if key == "" {
			errs = append(errs, fmt.Errorf("entry %s: empty master key ID", clipID(entry)))
			continue
		}
		if len(key) > maxIDLen {
			errs = append(errs, fmt.Errorf("master key ID %s: more than %d bytes", clipID(key), maxIDLen))
			continue
		}
		for col := range strings.SplitSeq(parts[1], ",") {
			col = strings.TrimSpace(col)
			if col == "" {
				errs = append(errs, fmt.Errorf("master key %s: empty column name", clipID(key)))
				continue
			}
			if prev, dup := seen[col]; dup {
				errs = append(errs, fmt.Errorf("column %s: listed twice (keys %s and %s)", clipID(col), clipID(prev), clipID(key)))
				continue
			}
			seen[col] = key
			out[key] = append(out[key], col)
		}
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no master key and columns"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pme: %w: parquet.encryption.column.keys: %w", ErrConfig, err)
	}
	return out, nil
}

// sortedKeys returns m's keys in order, so files are built deterministically.
func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
