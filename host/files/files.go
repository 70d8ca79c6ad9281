package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/sluice-proxy/sluice/abi/filesabi"
	"github.com/sluice-proxy/sluice/host/config"
)

// FS resolves plugins' file requests under their granted roots.
type FS struct {
	mu     sync.RWMutex
	grants map[string]string   // plugin -> root directory
	roots  map[string]*os.Root // root directory -> opened root, cached
}

// New returns an FS with no grants.
func New() *FS {
	return &FS{grants: map[string]string{}, roots: map[string]*os.Root{}}
}

// Grants returns the roots the config grants: for each plugin of category
// "directory" (or whose wasm file is directory.wasm), its `path`
// parameter resolved against the config's directory.
func Grants(cfg *config.Config) map[string]string {
	out := map[string]string{}
	for name, p := range cfg.Plugins {
		if p.Category != "directory" && (p.Wasm == "" || filepath.Base(p.Wasm) != "directory.wasm") {
			continue
		}
		if path, ok := p.Params["path"].(string); ok && path != "" {
			out[name] = cfg.Resolve(path)
		}
	}
	return out
}

// SetGrants replaces the grants. Roots are opened on first use and kept
// open, keyed by directory, for the life of the FS.
func (f *FS) SetGrants(g map[string]string) {
	m := make(map[string]string, len(g))
	for k, v := range g {
		m[k] = filepath.Clean(v)
	}
	f.mu.Lock()
	f.grants = m
	f.mu.Unlock()
}

// AddGrants adds grants to the current ones (a plugin named in both gets
// its new root). A reload calls it before it loads the new generation's
// plugins, so that they can check their roots while the old generation
// keeps serving from its own; then SetGrants with the new config's grants
// once the new generation is in, or with the old config's if the load
// failed.
func (f *FS) AddGrants(g map[string]string) {
	f.mu.Lock()
	m := make(map[string]string, len(f.grants)+len(g))
	for k, v := range f.grants {
		m[k] = v
	}
	for k, v := range g {
		m[k] = filepath.Clean(v)
	}
	f.grants = m
	f.mu.Unlock()
}

// Close closes the cached roots.
func (f *FS) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for dir, r := range f.roots {
		errs = append(errs, r.Close())
		delete(f.roots, dir)
	}
	return errors.Join(errs...)
}

// Functions returns the foreign functions of abi/filesabi by name, for
// wasm.Options.ForeignFunctions (through wasm.ErrorFunc).
func (f *FS) Functions() map[string]func(plugin string, args []byte) ([]byte, error) {
	return map[string]func(string, []byte) ([]byte, error){
		filesabi.FuncStat: f.Stat,
		filesabi.FuncRead: f.Read,
		filesabi.FuncList: f.List,
	}
}

// root returns the opened root of plugin.
func (f *FS) root(plugin string) (*os.Root, error) {
	f.mu.RLock()
	dir, ok := f.grants[plugin]
	r := f.roots[dir]
	f.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: plugin %q has no directory granted", fs.ErrNotExist, plugin)
	}
	if r != nil {
		return r, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r = f.roots[dir]; r != nil {
		return r, nil
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the root %s of plugin %q: %w", dir, plugin, err)
	}
	f.roots[dir] = r
	return r, nil
}

// resolve checks path p and finds the root plugin was granted: what every
// operation does first.
func (f *FS) resolve(plugin, p string) (*os.Root, string, error) {
	n, err := name(p)
	if err != nil {
		return nil, "", err
	}
	r, err := f.root(plugin)
	return r, n, err
}

// name checks a guest path and turns it into a name for os.Root.
func name(p string) (string, error) {
	if !filesabi.ValidPath(p) {
		return "", fmt.Errorf("%w: path %q is not a plain relative path", fs.ErrInvalid, p)
	}
	if p == "" {
		return ".", nil
	}
	return p, nil
}

// classify maps os.Root's errors onto the statuses plugins see: an escape
// from the root is a bad argument, like a bad path.
func classify(err error, op, p string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %q: %w", op, p, fs.ErrNotExist)
	case strings.Contains(err.Error(), "path escapes from parent"):
		return fmt.Errorf("%s %q: %w: path escapes the root", op, p, fs.ErrInvalid)
	}
	return fmt.Errorf("%s %q: %w", op, p, err)
}

func info(fi fs.FileInfo) filesabi.Info {
	k := filesabi.KindOther
	switch {
	case fi.Mode().IsRegular():
		k = filesabi.KindFile
	case fi.IsDir():
		k = filesabi.KindDir
	}
	return filesabi.Info{Kind: k, Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
}

// Stat implements filesabi.FuncStat.
func (f *FS) Stat(plugin string, args []byte) ([]byte, error) {
	p := string(args)
	r, n, err := f.resolve(plugin, p)
	if err != nil {
		return nil, err
	}
	fi, err := r.Stat(n)
	if err != nil {
		return nil, classify(err, "stat", p)
	}
	return filesabi.AppendInfo(make([]byte, 0, filesabi.InfoSize), info(fi)), nil
}

// Open opens a regular file under plugin's root for the host to stream,
// with the same checks as the foreign functions.
func (f *FS) Open(plugin, p string) (*os.File, error) {
	r, n, err := f.resolve(plugin, p)
	if err != nil {
		return nil, err
	}
	file, err := r.Open(n)
	if err != nil {
		return nil, classify(err, "open", p)
	}
	fi, err := file.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		file.Close()
		if err == nil {
			err = fmt.Errorf("open %q: %w: not a regular file", p, fs.ErrInvalid)
		}
		return nil, err
	}
	return file, nil
}

// Read implements filesabi.FuncRead.
func (f *FS) Read(plugin string, args []byte) ([]byte, error) {
	off, n, p, err := filesabi.DecodeRead(args)
	if err != nil {
		return nil, fmt.Errorf("read: %w: %v", fs.ErrInvalid, err)
	}
	if off < 0 || n < 0 || n > filesabi.MaxRead {
		return nil, fmt.Errorf("read %q: %w: offset %d, length %d (at most %d)", p, fs.ErrInvalid, off, n, filesabi.MaxRead)
	}
	file, err := f.Open(plugin, p)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	buf := make([]byte, n)
	m, err := file.ReadAt(buf, off)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %q: %w", p, err)
	}
	return buf[:m], nil
}

// List implements filesabi.FuncList.
func (f *FS) List(plugin string, args []byte) ([]byte, error) {
	p := string(args)
	r, n, err := f.resolve(plugin, p)
	if err != nil {
		return nil, err
	}
	dir, err := r.Open(n)
	if err != nil {
		return nil, classify(err, "list", p)
	}
	defer dir.Close()
	ents, err := dir.ReadDir(filesabi.MaxEntries)
	if err != nil && err != io.EOF {
		return nil, classify(err, "list", p)
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	var out []byte
	for _, e := range ents {
		// Stat through the root: a link is described by its target, and a
		// link out of the root is left out of the listing.
		fi, err := r.Stat(joinName(n, e.Name()))
		if err != nil {
			continue
		}
		out = filesabi.AppendEntry(out, filesabi.Entry{Name: e.Name(), Info: info(fi)})
	}
	return out, nil
}

func joinName(dir, base string) string {
	if dir == "." {
		return base
	}
	return dir + "/" + base
}
