package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// env is the process-wide ONNX Runtime environment. The binding keeps its
// environment and library handle in package globals, so this package must
// too; everything else is per Repository or Model.
var env struct {
	mu      sync.Mutex // guards the fields below and binding initialization
	path    string     // absolute library path, set once initialized
	version string
}

// initRuntime loads the library once per process. A failed attempt leaves
// nothing behind, so a later call may try another path; a successful one
// fixes the library, and a different path afterwards is ErrRuntimeConflict.
func initRuntime(libraryPath string) error {
	if libraryPath == "" {
		libraryPath = os.Getenv(EnvLibrary)
	}
	if libraryPath == "" {
		return fmt.Errorf("%w: %s is not set", ErrNoRuntime, EnvLibrary)
	}
	// An absolute path makes dlopen open exactly this file rather than
	// search LD_LIBRARY_PATH and the system directories for a bare name.
	abs, err := filepath.Abs(libraryPath)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoRuntime, err)
	}

	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist", ErrNoRuntime, abs)
	case err != nil:
		return fmt.Errorf("%w: %v", ErrNoRuntime, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file", ErrNoRuntime, abs)
	}

	env.mu.Lock()
	defer env.mu.Unlock()
	if env.path != "" {
		if env.path != abs {
			return fmt.Errorf("%w: loaded %s, requested %s", ErrRuntimeConflict, env.path, abs)
		}
		return nil
	}
	ort.SetSharedLibraryPath(abs)
	// Errors only: ONNX Runtime's warnings (e.g. unused initializers) would
	// flood the service log, and it never logs tensor contents.
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("%w: %v", ErrNoRuntime, err)
	}
	env.path = abs
	env.version = ort.GetVersion()
	return nil
}

// RuntimeVersion returns the version string of the loaded ONNX Runtime
// library, or "" before any successful Open or LoadModel.
func RuntimeVersion() string {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.version
}
