package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The ONNX backend node tests, as packaged by Debian (libonnx-testdata,
// onnx 1.12; Apache-2.0): one directory per operator case with model.onnx
// and test_data_set_0/{input,output}_N.pb. Each runs through LoadModel and
// Infer. Models with datatypes this package does not serve are counted as
// unsupported, not failed.
const onnxNodeTests = "/usr/share/libonnx-testdata/data/node"

// conformanceTolerance matches the ONNX backend test runner (rtol = 1e-3,
// atol = 1e-7 there; one bound here keeps the harness simple).
const conformanceTolerance = 1e-3

// xfail is an entry of testdata/conformance-xfail.txt.
type xfail struct {
	reason   string
	mustFail bool // a pass is an error, not just a note
}

// readXfail parses lines "test_name reason…" or "test_name must-fail reason…";
// "#" starts a comment line.
func readXfail(t *testing.T) map[string]xfail {
	t.Helper()
	f, err := os.Open("testdata/conformance-xfail.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]xfail{}
	s := bufio.NewScanner(f)
	for line := 1; s.Scan(); line++ {
		text := strings.TrimSpace(s.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(text, " ")
		rest = strings.TrimSpace(rest)
		x := xfail{reason: rest}
		if r, ok := strings.CutPrefix(rest, "must-fail "); ok {
			x = xfail{reason: strings.TrimSpace(r), mustFail: true}
		}
		if x.reason == "" {
			t.Fatalf("conformance-xfail.txt:%d: %s has no reason", line, name)
		}
		if _, dup := out[name]; dup {
			t.Fatalf("conformance-xfail.txt:%d: duplicate %s", line, name)
		}
		out[name] = x
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("conformance suite skipped in -short mode")
	}
	opts := testOptions(t)
	dirs, err := filepath.Glob(filepath.Join(onnxNodeTests, "test_*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		msg := "ONNX node tests not found in " + onnxNodeTests + ": apt-get install libonnx-testdata"
		if os.Getenv("COFRE_REQUIRE_ONNX_TESTDATA") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	xfails := readXfail(t)
	var passed, failed, unsupported, expectedFail int
	var unexpectedPass []string
	for _, dir := range dirs {
		name := filepath.Base(dir)
		err := runNodeTest(dir, opts)
		x, listed := xfails[name]
		delete(xfails, name)
		switch {
		case errors.Is(err, ErrUnsupportedModel) || errors.Is(err, errUnsupportedProto):
			unsupported++
		case err == nil && listed:
			passed++
			unexpectedPass = append(unexpectedPass, name)
			if x.mustFail {
				t.Errorf("%s: passed, but is listed must-fail (%s)", name, x.reason)
			}
		case err == nil:
			passed++
		case listed:
			expectedFail++
		default:
			failed++
			t.Errorf("%s: %v", name, err)
		}
	}
	for name := range xfails {
		t.Logf("conformance-xfail.txt lists %s, which is not in the suite", name)
	}
	if len(unexpectedPass) > 0 {
		t.Logf("xfail entries that now pass: %s", strings.Join(unexpectedPass, " "))
	}
	t.Logf("ONNX node tests: %d total, %d passed, %d failed, %d expected failures, %d unsupported datatypes",
		len(dirs), passed, failed, expectedFail, unsupported)
}

// runNodeTest loads one node test's model, feeds test_data_set_0's inputs
// (input_N.pb, in the model's input order) and compares every output.
func runNodeTest(dir string, opts Options) error {
	m, err := LoadModel(filepath.Base(dir), filepath.Join(dir, ModelFile), opts)
	if err != nil {
		return err
	}
	defer m.Close()
	data := filepath.Join(dir, "test_data_set_0")
	read := func(kind string, i int) (Tensor, error) {
		b, err := os.ReadFile(filepath.Join(data, fmt.Sprintf("%s_%d.pb", kind, i)))
		if err != nil {
			return Tensor{}, err
		}
		return parseTensorProto(b)
	}
	infos := m.Inputs()
	inputs := make(map[string]Tensor, len(infos))
	for i, info := range infos {
		in, err := read("input", i)
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		in.Name = info.Name
		inputs[info.Name] = in
	}
	out, err := m.Infer(context.Background(), inputs)
	if err != nil {
		return err
	}
	var diffs []string
	for i, info := range m.Outputs() {
		want, err := read("output", i)
		if err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
		if d := diffTensor(out[info.Name], want, conformanceTolerance); d != "" {
			diffs = append(diffs, info.Name+": "+d)
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}
