package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// PluginFile describes a module file of the plugin directory, for
// `sluice plugins list`.
type PluginFile struct {
	// Name is the file name, e.g. "ping.wasm"; plugins with category
	// "ping" run it.
	Name string
	// Path is the file's absolute path.
	Path string
	// Size is its length in bytes.
	Size int64
	// SHA256 is the hex digest of its content.
	SHA256 string
	// ABI is the proxy-wasm ABI it declares ("0.2.1" or "0.2.0"), when it
	// compiled.
	ABI string
	// Err says why the module cannot run (it does not compile, or fails the
	// load-time checks); nil means it compiled and passed them.
	Err error
	// Plugins are the names of the loaded plugins running this file.
	Plugins []string
}

// PluginFiles lists the .wasm files of dir, compiling each (through the
// compilation cache) and checking it as Load would, without running it.
func (rt *Runtime) PluginFiles(ctx context.Context, dir string) ([]PluginFile, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("plugin dir %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("listing plugin dir: %w", err)
	}
	var out []PluginFile
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".wasm") {
			continue
		}
		pf := PluginFile{Name: e.Name(), Path: filepath.Join(abs, e.Name())}
		pf.inspect(ctx, rt)
		rt.mu.Lock()
		for pl := range rt.files[pf.Path] {
			pf.Plugins = append(pf.Plugins, pl.name)
		}
		rt.mu.Unlock()
		sort.Strings(pf.Plugins)
		out = append(out, pf)
	}
	return out, nil
}

func (pf *PluginFile) inspect(ctx context.Context, rt *Runtime) {
	b, err := os.ReadFile(pf.Path)
	if err != nil {
		pf.Err = err
		return
	}
	sum := sha256.Sum256(b)
	pf.Size, pf.SHA256 = int64(len(b)), hex.EncodeToString(sum[:])
	cm, err := rt.compile(ctx, rt.r, b)
	if err != nil {
		pf.Err = fmt.Errorf("compiling: %w", err)
		return
	}
	defer cm.Close(ctx)
	info, err := checkModule(cm)
	if err != nil {
		pf.Err = err
		return
	}
	pf.ABI = strings.ReplaceAll(strings.TrimPrefix(info.abiVersion, "proxy_abi_version_"), "_", ".")
	imports, _, err := rt.link(ctx, rt.r, cm)
	if err != nil {
		pf.Err = err
		return
	}
	for _, m := range imports {
		_ = m.Close(ctx)
	}
}
