package runtime_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log"

	"github.com/cofre-cc/cofre/infer/runtime"
)

// Open a model repository (dir/<name>/model.onnx), publish each model's
// hash, and run one inference.
func ExampleOpen() {
	repo, err := runtime.Open("/srv/models", runtime.Options{
		LibraryPath:    "/opt/cofre/lib/libonnxruntime.so.1", // or $COFRE_ONNXRUNTIME_LIB
		IntraOpThreads: 2,
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, runtime.ErrNoRuntime) when the library is missing
	}
	defer repo.Close()
	for _, m := range repo.Models() {
		sum := m.SHA256()
		fmt.Println(m.Name(), hex.EncodeToString(sum[:]))
	}

	m, ok := repo.Model("mnist")
	if !ok {
		log.Fatal("no model mnist")
	}
	image := make([]float32, 28*28)
	out, err := m.Infer(context.Background(), map[string]runtime.Tensor{
		"Input3": runtime.NewTensor("Input3", []int64{1, 1, 28, 28}, image),
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, runtime.ErrBadInput) names each refused input
	}
	fmt.Println(out["Plus214_Output_0"].Data.([]float32))
}
