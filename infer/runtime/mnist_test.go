package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The pretrained MNIST model of the ONNX Model Zoo (mnist-7, CNTK 2.5.1,
// opset 7; MIT, The ONNX Project) with its three reference data sets, as
// shipped in the module github.com/owulveryck/onnx-go v0.5.0. They are read
// from the Go module cache, not committed; the test runs
//
//	go mod download -json github.com/owulveryck/onnx-go@v0.5.0
//
// itself (offline from the cache; CI has the proxy). The module ships the
// model as a Go string literal (mnist_binary.go), which the test unquotes.
// Every file's SHA-256 is pinned so a different file is never accepted.
const (
	modelZooModule = "github.com/owulveryck/onnx-go@v0.5.0"
	mnistDir       = "internal/examples/mnist"
	// SHA-256 of the model bytes unquoted from mnist_binary.go.
	mnistModelSHA256 = "0d715376572e89832685c56a65ef1391f5f0b7dd31d61050c91ff3ecab16c032"
	mnistInput       = "Input3"
	mnistOutput      = "Plus214_Output_0"
)

var mnistFiles = map[string]string{
	"mnist_binary.go":             "c14eaad3c3700bb764fb44cd4afc703f521115a0edb34e0e3d7f15904cbae685",
	"test_data_set_0/input_0.pb":  "e934e1029a1d31f3471236dd366bd7a7e55c76e6b245a221d55ed9eec600b89e",
	"test_data_set_0/output_0.pb": "cb94055e8e7938cc2bbc245ba43b7529384cd45cb6846d0fe51f557e18372aac",
	"test_data_set_1/input_0.pb":  "2b1cf541630741657ec25ce91db1a94fafd7ef535b0855f868435bbbb7adff32",
	"test_data_set_1/output_0.pb": "2fe1d2cfada6c975fb441ea97fb1b38a2568b653d122b0ace0d44e2821ede160",
	"test_data_set_2/input_0.pb":  "e3aba83f9f764207403d222042f8cfe71aa7f1acbda7fe19db413448fff69765",
	"test_data_set_2/output_0.pb": "1970ba79f63e118da0fa4131907ecf0e7f85d30b8445fe40ee2cddd7ac21d604",
}

var modelZooDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", modelZooModule).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v", modelZooModule, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %v", modelZooModule, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", modelZooModule, info.Error)
	}
	return filepath.Join(info.Dir, mnistDir), nil
})

// mnistFile returns a pinned file of the MNIST example, or skips (fails with
// COFRE_REQUIRE_MODEL_ZOO=1) when the module cannot be had.
func mnistFile(t testing.TB, name string) []byte {
	t.Helper()
	dir, err := modelZooDir()
	if err == nil {
		var b []byte
		b, err = os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != mnistFiles[name] {
				t.Fatalf("%s: sha256 %x, want %s", name, sum, mnistFiles[name])
			}
			return b
		}
	}
	msg := fmt.Sprintf("MNIST model zoo files unavailable (%v)", err)
	if os.Getenv("COFRE_REQUIRE_MODEL_ZOO") == "1" {
		t.Fatal(msg) // CI has them: a skip there would hide a lost check
	}
	t.Skip(msg)
	return nil
}

// mnistModel returns the ONNX bytes of mnist-7, unquoted from the string
// literal that GetMnist returns.
func mnistModel(t testing.TB) []byte {
	t.Helper()
	src := mnistFile(t, "mnist_binary.go")
	f, err := parser.ParseFile(token.NewFileSet(), "mnist_binary.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lit string
	ast.Inspect(f, func(n ast.Node) bool {
		if b, ok := n.(*ast.BasicLit); ok && b.Kind == token.STRING && len(b.Value) > len(lit) {
			lit = b.Value
		}
		return true
	})
	model, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("unquote model: %v", err)
	}
	if sum := sha256.Sum256([]byte(model)); hex.EncodeToString(sum[:]) != mnistModelSHA256 {
		t.Fatalf("mnist model: sha256 %x, want %s", sum, mnistModelSHA256)
	}
	return []byte(model)
}

func loadMNIST(t testing.TB, opts Options) *Model {
	t.Helper()
	repo := writeRepo(t, map[string][]byte{"mnist": mnistModel(t)})
	r, err := Open(repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	m, _ := r.Model("mnist")
	return m
}

func mnistCase(t testing.TB, set int) (in, want Tensor) {
	t.Helper()
	var err error
	in, err = parseTensorProto(mnistFile(t, fmt.Sprintf("test_data_set_%d/input_0.pb", set)))
	if err != nil {
		t.Fatal(err)
	}
	want, err = parseTensorProto(mnistFile(t, fmt.Sprintf("test_data_set_%d/output_0.pb", set)))
	if err != nil {
		t.Fatal(err)
	}
	return in, want
}

// TestMNIST runs the pretrained model on its three reference inputs and
// compares the logits within 1e-4.
func TestMNIST(t *testing.T) {
	opts := testOptions(t)
	m := loadMNIST(t, opts)
	ins := m.Inputs()
	if len(ins) != 1 || ins[0].Name != mnistInput || ins[0].Datatype != FP32 {
		t.Fatalf("inputs %+v", ins)
	}
	if sum := m.SHA256(); hex.EncodeToString(sum[:]) != mnistModelSHA256 {
		t.Fatalf("model SHA256 %x", sum)
	}
	for set := range 3 {
		t.Run(fmt.Sprint("test_data_set_", set), func(t *testing.T) {
			in, want := mnistCase(t, set)
			out, err := m.Infer(context.Background(), map[string]Tensor{mnistInput: in})
			if err != nil {
				t.Fatal(err)
			}
			got := out[mnistOutput]
			if d := diffTensor(got, want, 1e-4); d != "" {
				t.Fatal(d)
			}
			t.Logf("digit %d", argmax(got.Data.([]float32)))
		})
	}
}

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// BenchmarkMNIST measures one inference (one 1×1×28×28 image) through
// Model.Infer, input checks and output copy included, with one intra-op
// thread and with ONNX Runtime's default. Run with -benchtime=200x for the
// median-of-200 figure, reported as the p50-ns metric.
func BenchmarkMNIST(b *testing.B) {
	for _, threads := range []int{1, 0} {
		b.Run(fmt.Sprint("intra-op-threads=", threads), func(b *testing.B) {
			opts := testOptions(b)
			opts.IntraOpThreads = threads
			m := loadMNIST(b, opts)
			in, _ := mnistCase(b, 0)
			inputs := map[string]Tensor{mnistInput: in}
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if _, err := m.Infer(ctx, inputs); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
		})
	}
}
