package tsm

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-configfs-tsm/configfs/configfsi"
)

// Dir returns a configfsi.Client for the configfs-tsm tree mounted at root
// (DefaultRoot on a normal guest; elsewhere when a container sees the host's
// configfs under another path). go-configfs-tsm names every file under
// configfsi.TsmPrefix; Dir maps those names onto root and back.
//
// It behaves like go-configfs-tsm's linuxtsm client: attributes are written
// with one write(2) each (configfs binary attributes take the whole value in
// one write), and an entry is removed with rmdir(2), which is how configfs
// deletes an item with its attributes.
func Dir(root string) configfsi.Client {
	return &dir{root: filepath.Clean(root)}
}

type dir struct {
	root string
}

// check reports whether the report subsystem exists under root.
func (d *dir) check() error {
	p := filepath.Join(d.root, "report")
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", p)
	}
	return nil
}

// local maps a configfsi name onto root.
func (d *dir) local(name string) (string, error) {
	p := path.Clean(name)
	if p != configfsi.TsmPrefix && !strings.HasPrefix(p, configfsi.TsmPrefix+"/") {
		return "", fmt.Errorf("tsm: %q is outside %s", name, configfsi.TsmPrefix)
	}
	return filepath.Join(d.root, filepath.FromSlash(strings.TrimPrefix(p, configfsi.TsmPrefix))), nil
}

func (d *dir) MkdirTemp(dirName, pattern string) (string, error) {
	l, err := d.local(dirName)
	if err != nil {
		return "", err
	}
	made, err := os.MkdirTemp(l, pattern)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(d.root, made)
	if err != nil {
		return "", err
	}
	// go-configfs-tsm parses the name it gets back, and needs its prefix.
	return path.Join(configfsi.TsmPrefix, filepath.ToSlash(rel)), nil
}

func (d *dir) ReadFile(name string) ([]byte, error) {
	l, err := d.local(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(l)
}

func (d *dir) ReadDir(name string) ([]os.DirEntry, error) {
	l, err := d.local(name)
	if err != nil {
		return nil, err
	}
	return os.ReadDir(l)
}

// WriteFile writes an existing attribute. It never creates a file: configfs
// has every attribute already, and a missing one means this is not
// configfs-tsm.
func (d *dir) WriteFile(name string, contents []byte) error {
	l, err := d.local(name)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(l, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, werr := f.Write(contents)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// RemoveAll removes an entry with rmdir(2), as linuxtsm does: configfs
// refuses unlink(2) on attributes, and rmdir takes them with the entry.
func (d *dir) RemoveAll(name string) error {
	l, err := d.local(name)
	if err != nil {
		return err
	}
	return os.Remove(l)
}
