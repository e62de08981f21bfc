package runtime

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestRepositoryInfer(t *testing.T) {
	opts := testOptions(t)
	model := addModel()
	repo, err := Open(writeRepo(t, map[string][]byte{"add": model}), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	m, ok := repo.Model("add")
	if !ok {
		t.Fatal("model add missing")
	}
	if m.SHA256() != sha256.Sum256(model) {
		t.Errorf("SHA256 differs from the file's")
	}
	if got := m.Inputs(); len(got) != 2 || got[0].Name != "a" || got[0].Datatype != FP32 || len(got[0].Shape) != 2 || got[0].Shape[0] != -1 || got[0].Shape[1] != 3 {
		t.Errorf("Inputs = %+v", got)
	}
	if got := repo.Models(); len(got) != 1 || got[0].Name() != "add" {
		t.Errorf("Models = %v", got)
	}
	if RuntimeVersion() == "" {
		t.Error("RuntimeVersion empty after Open")
	}

	// Concurrent callers share the session.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			a := []float32{1, 2, 3, float32(i), 0, 0}
			out, err := m.Infer(context.Background(), map[string]Tensor{
				"a": NewTensor("a", []int64{2, 3}, a),
				"b": NewTensor("", []int64{2, 3}, []float32{10, 20, 30, 1, 1, 1}),
			})
			if err != nil {
				t.Error(err)
				return
			}
			want := NewTensor("c", []int64{2, 3}, []float32{11, 22, 33, float32(i) + 1, 1, 1})
			if d := diffTensor(out["c"], want, 0); d != "" {
				t.Error(d)
			}
			if a[0] != 1 {
				t.Error("input modified")
			}
		})
	}
	wg.Wait()
}

func TestInferRefusals(t *testing.T) {
	opts := testOptions(t)
	opts.MaxInputElements = 12
	m, err := loadBytes(t, "add", addModel(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	good := func() map[string]Tensor {
		return map[string]Tensor{
			"a": NewTensor("a", []int64{1, 3}, []float32{1, 2, 3}),
			"b": NewTensor("b", []int64{1, 3}, []float32{1, 2, 3}),
		}
	}
	tests := []struct {
		name   string
		edit   func(map[string]Tensor)
		checks []string // InputError.Check values expected
	}{
		{"unknown name", func(in map[string]Tensor) { in["z"] = in["a"] }, []string{"name"}},
		{"missing input", func(in map[string]Tensor) { delete(in, "b") }, []string{"missing"}},
		{"tensor name differs from key", func(in map[string]Tensor) { a := in["a"]; a.Name = "b"; in["a"] = a }, []string{"name"}},
		{"wrong datatype", func(in map[string]Tensor) { in["a"] = NewTensor("a", []int64{1, 3}, []int64{1, 2, 3}) }, []string{"datatype", "data"}},
		{"datatype disagrees with data", func(in map[string]Tensor) { a := in["a"]; a.Datatype = Int64; in["a"] = a }, []string{"datatype"}},
		{"data of another type", func(in map[string]Tensor) { a := in["a"]; a.Data = []float64{1, 2, 3}; in["a"] = a }, []string{"data"}},
		{"wrong rank", func(in map[string]Tensor) { in["a"] = NewTensor("a", []int64{3}, []float32{1, 2, 3}) }, []string{"rank"}},
		{"wrong static dim", func(in map[string]Tensor) { in["a"] = NewTensor("a", []int64{3, 1}, []float32{1, 2, 3}) }, []string{"dim[1]"}},
		{"negative dim", func(in map[string]Tensor) { in["a"] = NewTensor("a", []int64{-1, 3}, []float32{1, 2, 3}) }, []string{"dim[0]"}},
		{"short data", func(in map[string]Tensor) { in["a"] = NewTensor("a", []int64{1, 3}, []float32{1, 2}) }, []string{"data"}},
		{"too many elements", func(in map[string]Tensor) { in["a"] = NewTensor("a", []int64{5, 3}, make([]float32, 15)) }, []string{"elements"}},
		{"overflowing shape", func(in map[string]Tensor) { in["a"] = NewTensor("a", []int64{1 << 62, 3}, []float32{}) }, []string{"elements"}},
		{"every failure reported", func(in map[string]Tensor) {
			delete(in, "a")
			in["b"] = NewTensor("b", []int64{1, 4}, []float32{1, 2, 3, 4})
		}, []string{"missing", "dim[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good()
			tt.edit(in)
			_, err := m.Infer(context.Background(), in)
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("got %v, want ErrBadInput", err)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ie *InputError
				if !errors.As(e, &ie) {
					t.Fatalf("%v is not an *InputError", e)
				}
				got = append(got, ie.Check)
			}
			if len(got) != len(tt.checks) {
				t.Fatalf("checks %q, want %q (%v)", got, tt.checks, err)
			}
			for i := range got {
				if got[i] != tt.checks[i] {
					t.Fatalf("checks %q, want %q (%v)", got, tt.checks, err)
				}
			}
		})
	}

	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := m.Infer(ctx, good()); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := m.Infer(context.Background(), good()); !errors.Is(err, ErrClosed) {
			t.Fatalf("got %v, want ErrClosed", err)
		}
	})
}

func loadBytes(t *testing.T, name string, data []byte, opts Options) (*Model, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), ModelFile)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return LoadModel(name, path, opts)
}

func TestLoadRefusals(t *testing.T) {
	opts := testOptions(t)
	good := addModel()
	str := vi{name: "s", elem: 8, dims: []any{int64(1)}}
	tests := []struct {
		name    string
		data    []byte
		opts    func(*Options)
		wantErr error
	}{
		{"corrupt", []byte("not an onnx model"), nil, ErrBadModel},
		{"truncated", good[:len(good)/2], nil, ErrBadModel},
		{"empty", nil, nil, ErrBadModel},
		{"unknown operator", onnxModel("NoSuchOp", []vi{{name: "a", elem: onnxFloat, dims: []any{int64(1)}}}, []vi{{name: "c", elem: onnxFloat, dims: []any{int64(1)}}}), nil, ErrBadModel},
		{"string tensors", onnxModel("Identity", []vi{str}, []vi{{name: "t", elem: 8, dims: []any{int64(1)}}}), nil, ErrUnsupportedModel},
		{"over size limit", good, func(o *Options) { o.MaxModelBytes = int64(len(good) - 1) }, ErrModelTooLarge},
		{"at size limit", good, func(o *Options) { o.MaxModelBytes = int64(len(good)) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			if tt.opts != nil {
				tt.opts(&o)
			}
			m, err := loadBytes(t, "m", tt.data, o)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				m.Close()
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
	for _, name := range []string{"", "../x", ".hidden", "a b", string(make([]byte, 65))} {
		if _, err := LoadModel(name, "unused", opts); !errors.Is(err, ErrBadModel) {
			t.Errorf("LoadModel(%q): got %v, want ErrBadModel", name, err)
		}
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := LoadModel("x", filepath.Join(t.TempDir(), "nope.onnx"), opts); !errors.Is(err, ErrBadModel) {
			t.Fatalf("got %v, want ErrBadModel", err)
		}
	})
}

func TestOpenRefusals(t *testing.T) {
	opts := testOptions(t)
	tests := []struct {
		name  string
		setup func(dir string) error
	}{
		{"invalid model name", func(dir string) error { return os.Mkdir(filepath.Join(dir, "bad name"), 0o755) }},
		{"directory without model", func(dir string) error { return os.Mkdir(filepath.Join(dir, "empty"), 0o755) }},
		{"missing repository", func(dir string) error { return os.RemoveAll(dir) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeRepo(t, map[string][]byte{"add": addModel()})
			if err := tt.setup(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(dir, opts); !errors.Is(err, ErrBadRepository) {
				t.Fatalf("got %v, want ErrBadRepository", err)
			}
		})
	}
	t.Run("bad model fails the repository", func(t *testing.T) {
		dir := writeRepo(t, map[string][]byte{"add": addModel(), "zz": []byte("junk")})
		if _, err := Open(dir, opts); !errors.Is(err, ErrBadModel) {
			t.Fatalf("got %v, want ErrBadModel", err)
		}
	})
	t.Run("ignored entries", func(t *testing.T) {
		dir := writeRepo(t, map[string][]byte{"add": addModel(), ".hidden": []byte("junk")})
		if err := os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if n := len(r.Models()); n != 1 {
			t.Fatalf("%d models, want 1", n)
		}
	})
}

func TestNoRuntime(t *testing.T) {
	tests := []struct {
		name string
		lib  string
		env  string
	}{
		{"unset", "", ""},
		{"missing file", filepath.Join(t.TempDir(), "libonnxruntime.so.1"), ""},
		{"missing file from env", "", filepath.Join(t.TempDir(), "libonnxruntime.so.1")},
		{"directory", t.TempDir(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvLibrary, tt.env)
			dir := writeRepo(t, map[string][]byte{"add": addModel()})
			_, err := Open(dir, Options{LibraryPath: tt.lib})
			if !errors.Is(err, ErrNoRuntime) {
				t.Fatalf("got %v, want ErrNoRuntime", err)
			}
		})
	}
}

func TestRuntimeConflict(t *testing.T) {
	opts := testOptions(t)
	if _, err := Open(writeRepo(t, nil), opts); err != nil {
		t.Fatal(err)
	}
	// Another regular file: loading it would replace the process-wide runtime.
	other := filepath.Join(t.TempDir(), "libother.so")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(writeRepo(t, nil), Options{LibraryPath: other}); !errors.Is(err, ErrRuntimeConflict) {
		t.Fatalf("got %v, want ErrRuntimeConflict", err)
	}
}

func TestDatatype(t *testing.T) {
	for d := Bool; d <= FP64; d++ {
		got, err := ParseDatatype(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDatatype(%q) = %v, %v", d.String(), got, err)
		}
	}
	for _, s := range []string{"", "fp32", "FP16", "BYTES", "INVALID", "FP32 "} {
		if _, err := ParseDatatype(s); !errors.Is(err, ErrBadInput) {
			t.Errorf("ParseDatatype(%q): got %v, want ErrBadInput", s, err)
		}
	}
	if s := Datatype(99).String(); s != "Datatype(99)" {
		t.Errorf("String = %q", s)
	}
}
