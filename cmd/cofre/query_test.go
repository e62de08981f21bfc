package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/analytics/engine"
)

// With keys from the KMS, an error raised by SQL keeps its class and
// loses the values DuckDB quotes.
func TestQueryErrorWithholdsValues(t *testing.T) {
	raw := fmt.Errorf("%w: Conversion Error: Could not convert string 's734' to INT32", engine.ErrQuery)
	got := queryError(io.Discard, raw, true)
	if strings.Contains(got.Error(), "s734") || !strings.Contains(got.Error(), "Conversion Error") || !errors.Is(got, engine.ErrQuery) {
		t.Errorf("with a KMS: %v", got)
	}
	if got := queryError(io.Discard, raw, false); !strings.Contains(got.Error(), "s734") {
		t.Errorf("plaintext data: %v, want the full message", got)
	}
	odd := fmt.Errorf("%w: Invalid Input Error: s734", engine.ErrQuery)
	if got := queryError(io.Discard, odd, true); strings.Contains(got.Error(), "s734") {
		t.Errorf("error(): %v", got)
	}
	if errorClass(fmt.Errorf("%w: 's734' Error", engine.ErrQuery)) != "error" {
		t.Error("a quoted value was taken for a class")
	}
}

func TestTableFilesRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	target := other + "/x.parquet"
	if err := os.WriteFile(target, []byte("PAR1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir+"/year=2024", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/year=2024/a.parquet", []byte("PAR1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := tableFiles(t.Context(), []string{dir}, -1); err != nil || len(got) != 1 || got[0].PartitionValues["year"] != "2024" {
		t.Fatalf("plain directory: %v, %v", got, err)
	}
	if err := os.Symlink(target, dir+"/year=2024/b.parquet"); err != nil {
		t.Fatal(err)
	}
	if _, err := tableFiles(t.Context(), []string{dir}, -1); !errors.Is(err, errNotRegular) {
		t.Errorf("a linked file in a table directory: %v", err)
	}
	if _, err := tableFiles(t.Context(), []string{dir + "/year=2024/b.parquet"}, -1); !errors.Is(err, errNotRegular) {
		t.Errorf("a linked file named directly: %v", err)
	}
}
