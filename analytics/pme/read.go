package pme

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// OpenFile opens a (possibly encrypted) Parquet file with decryption
// properties dec (nil for plaintext files) and reader properties props (nil
// for defaults; props is not modified). Every panic arrow-go raises while
// parsing the footer — a missing or wrong key, a footer without the
// optional supply_aad_prefix field, a truncated or tampered footer — comes
// back as an error wrapping one of this package's error classes.
//
// Column data is decrypted lazily, when row groups are read: read through
// ReadTable, or wrap other reads in RecoverRead.
func OpenFile(r parquet.ReaderAtSeeker, dec *parquet.FileDecryptionProperties, props *parquet.ReaderProperties) (*file.Reader, error) {
	p := parquet.NewReaderProperties(nil)
	if props != nil {
		cp := *props
		p = &cp
	}
	p.FileDecryptProps = dec
	var rdr *file.Reader
	err := RecoverRead(func() error {
		var err error
		rdr, err = file.NewParquetReader(r, file.WithReadProps(p))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pme: open: %w", err)
	}
	return rdr, nil
}

// ReadTable reads the leaf columns at indices (nil: all) of every row group
// of an open file into an Arrow table, turning panics into errors.
func ReadTable(ctx context.Context, rdr *file.Reader, indices []int, mem memory.Allocator) (arrow.Table, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	var tbl arrow.Table
	err := RecoverRead(func() error {
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, mem)
		if err != nil {
			return err
		}
		if indices == nil {
			tbl, err = fr.ReadTable(ctx)
		} else {
			rgs := make([]int, rdr.NumRowGroups())
			for i := range rgs {
				rgs[i] = i
			}
			tbl, err = fr.ReadRowGroups(ctx, indices, rgs)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pme: read: %w", err)
	}
	return tbl, nil
}

// RecoverRead runs fn, which reads through arrow-go, and returns its error
// or the panic it raised, classified: the result wraps ErrNoKey,
// ErrKeyMaterial, ErrTampered, ErrPlaintext or ErrFile. Use it around
// row-group and column reads of files opened with OpenFile. It cannot reach
// panics in goroutines fn starts itself (pqarrow's parallel readers recover
// their own).
func RecoverRead(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = classify(e)
				return
			}
			msg := fmt.Sprint(r)
			if len(msg) > 256 {
				msg = msg[:256] + "…"
			}
			err = classify(fmt.Errorf("arrow-go panicked: %s", msg))
		}
	}()
	return classify(fn())
}

// classify maps arrow-go's errors to this package's classes. arrow-go has
// no typed errors for these cases, so its messages are matched; an
// unknown message is ErrFile, never silently accepted.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, c := range []error{ErrNoKey, ErrKeyMaterial, ErrTampered, ErrPlaintext, ErrFile, ErrConfig} {
		if errors.Is(err, c) {
			return err
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "message authentication failed"), // crypto/cipher GCM Open
		strings.Contains(msg, "signature verification failed"): // plaintext footer signature
		return fmt.Errorf("%w: %w", ErrTampered, err)
	case strings.Contains(msg, "decryption properties on plaintext file"):
		return fmt.Errorf("%w: %w", ErrPlaintext, err)
	}
	return fmt.Errorf("%w: %w", ErrFile, err)
}
