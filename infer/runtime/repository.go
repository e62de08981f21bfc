package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// ModelFile is the file name of a model inside its directory.
const ModelFile = "model.onnx"

// validName is a model name: it appears in URLs (/v2/models/{name}) and in
// attestation claims, so it is kept to a conservative alphabet.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Repository is a set of models loaded from a directory. It is read-only
// after Open and safe for concurrent use.
type Repository struct {
	models map[string]*Model
}

// Open loads the model repository at dir. The layout is one directory per
// model holding one file:
//
//	dir/<name>/model.onnx
//
// where <name> matches [A-Za-z0-9][A-Za-z0-9_.-]* (at most 64 bytes).
// Entries whose name starts with "." and plain files in dir are ignored; a
// model directory without model.onnx, an invalid name or more than MaxModels
// models is ErrBadRepository. Versions are not modelled: a new version is a
// new name or a new deployment, whose hash appears in the attestation claims.
// Open fails if any model fails to load, and then closes the ones it loaded.
func Open(dir string, opts Options) (*Repository, error) {
	if err := initRuntime(opts.LibraryPath); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRepository, err)
	}
	var dirs []string
	for _, e := range entries {
		name := e.Name()
		if name[0] == '.' {
			continue
		}
		// Follow a symlinked model directory: the bytes loaded are hashed.
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadRepository, err)
		}
		if !st.IsDir() {
			continue
		}
		if !validModelName(name) {
			return nil, fmt.Errorf("%w: invalid model name %q", ErrBadRepository, name)
		}
		dirs = append(dirs, name)
	}
	if len(dirs) > MaxModels {
		return nil, fmt.Errorf("%w: %d models, limit %d", ErrBadRepository, len(dirs), MaxModels)
	}
	r := &Repository{models: make(map[string]*Model, len(dirs))}
	for _, name := range dirs {
		path := filepath.Join(dir, name, ModelFile)
		if _, err := os.Stat(path); err != nil {
			r.Close()
			return nil, fmt.Errorf("%w: model %q: %v", ErrBadRepository, name, err)
		}
		m, err := LoadModel(name, path, opts)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.models[name] = m
	}
	return r, nil
}

func validModelName(name string) bool {
	return len(name) <= maxNameLen && validName.MatchString(name)
}

// Model returns the named model.
func (r *Repository) Model(name string) (*Model, bool) {
	m, ok := r.models[name]
	return m, ok
}

// Models returns the models sorted by name.
func (r *Repository) Models() []*Model {
	out := make([]*Model, 0, len(r.models))
	for _, m := range r.models {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *Model) int { return strings.Compare(a.name, b.name) })
	return out
}

// Close closes every model, waiting for running inferences.
func (r *Repository) Close() error {
	var errs []error
	for _, m := range r.models {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}
