package pme

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzOpenFile seeds")

const fuzzRows = 8

// FuzzOpenFile reads mutated encrypted files (encrypted footer, uniform
// key, AES_GCM_V1: every module authenticated). No panic may escape,
// every error must be one of the package's classes, and a read that
// succeeds must return exactly the original rows: never other data.
// Inputs are ~6 KiB: run with -fuzzminimizetime 0 (or a few seconds), or
// the default minimization of each new input takes most of a short run.
func FuzzOpenFile(f *testing.F) {
	f.Add(writeFuzzSeed(f, false))
	f.Add(writeFuzzSeed(f, true))
	want := testTableN(f, fuzzRows)
	defer want.Release()
	kms := newTestKMS(f, "ku", "kf")
	fac := NewFactory(kms, FactoryOptions{})
	f.Fuzz(func(t *testing.T, data []byte) {
		tbl, err := readFile(data, fac.DecryptionProperties(context.Background()), nil)
		if err != nil {
			for _, c := range []error{ErrNoKey, ErrKeyMaterial, ErrTampered, ErrPlaintext, ErrFile} {
				if errors.Is(err, c) {
					return
				}
			}
			t.Fatalf("unclassified error: %v", err)
		}
		defer tbl.Release()
		if tbl.NumRows() != fuzzRows || tbl.NumCols() != want.NumCols() {
			t.Fatalf("read %d rows, %d columns", tbl.NumRows(), tbl.NumCols())
		}
		for i := range int(want.NumCols()) {
			if !array.ChunkedEqual(tbl.Column(i).Data(), want.Column(i).Data()) {
				t.Fatalf("column %d differs from what was written", i)
			}
		}
	})
}

// writeFuzzSeed returns a small encrypted file; with -update-seeds it also
// writes it to the committed seed corpus.
func writeFuzzSeed(f *testing.F, footerKey bool) []byte {
	cfg := Config{UniformKey: "ku"}
	if footerKey {
		cfg = Config{FooterKey: "kf", CompleteColumns: true, Schema: testSchema(f)}
	}
	data := writeFileN(f, mustProps(f, cfg), fuzzRows)
	if *updateSeeds {
		name := filepath.Join("testdata", "fuzz", "FuzzOpenFile", fmt.Sprintf("footer-key-%v", footerKey))
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n[]byte(")
		fmt.Fprintf(&b, "%q", data)
		b.WriteString(")\n")
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	return data
}

func mustProps(t testing.TB, cfg Config) *parquet.FileEncryptionProperties {
	t.Helper()
	p, err := NewFactory(newTestKMS(t), FactoryOptions{}).EncryptionProperties(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
