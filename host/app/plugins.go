package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/proxy"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// runtimeOptions are the Wasm runtime settings of a config.
func (a *App) runtimeOptions(cfg *config.Config) wasm.Options {
	b := &cfg.Basic
	o := wasm.Options{
		CacheDir:    b.WasmCacheDir,
		VMs:         b.WasmVMs,
		CallTimeout: b.WasmCallTimeout.D(),
		Logger:      a.log,
		HTTPCaller:  callouts{a},
	}
	if b.WasmCacheDir != "" {
		o.CacheDir = cfg.Resolve(b.WasmCacheDir)
	}
	if b.WasmMemoryLimit > 0 {
		o.MemoryLimitPages = uint32((int64(b.WasmMemoryLimit) + 65535) / 65536)
	}
	return o
}

// loadPlugins loads the config's plugins into g. The runtime is made on
// first use; its settings are fixed for the life of the process.
func (a *App) loadPlugins(ctx context.Context, cfg *config.Config, g *generation) error {
	if len(cfg.Plugins) == 0 {
		return nil
	}
	o := a.runtimeOptions(cfg)
	if a.rt == nil {
		rt, err := wasm.NewRuntime(ctx, o)
		if err != nil {
			return fmt.Errorf("starting the Wasm runtime: %w", err)
		}
		a.rt, a.rtOptions = rt, o
	} else if o.CacheDir != a.rtOptions.CacheDir || o.VMs != a.rtOptions.VMs || o.CallTimeout != a.rtOptions.CallTimeout ||
		o.MemoryLimitPages != a.rtOptions.MemoryLimitPages {
		a.log.Warn("basic.wasm_* settings changed: they take effect at the next restart")
	}
	set, err := a.rt.Load(ctx, resolvePlugins(cfg), pluginDir(cfg))
	if err != nil {
		return err
	}
	g.plugins = set
	return nil
}

// resolvePlugins returns the plugins with `wasm` paths made absolute
// against the config's directory, as the config documents them.
func resolvePlugins(cfg *config.Config) map[string]*config.Plugin {
	out := make(map[string]*config.Plugin, len(cfg.Plugins))
	for name, p := range cfg.Plugins {
		if p.Wasm != "" && !filepath.IsAbs(p.Wasm) {
			c := *p
			c.Wasm = cfg.Resolve(p.Wasm)
			p = &c
		}
		out[name] = p
	}
	return out
}

func pluginDir(cfg *config.Config) string { return cfg.Resolve(cfg.Basic.PluginDir) }

// chain builds a location's plugin chain from the generation's set.
func (g *generation) chain(names []string) (proxy.Chain, error) {
	if g.plugins == nil {
		return nil, errors.New("no plugins are loaded")
	}
	return g.plugins.Chain(names)
}

// ListPlugins prints the modules of the plugin dir, whether each compiles
// and passes the load checks, and which plugins and locations use it.
func ListPlugins(ctx context.Context, o Options, w io.Writer) error {
	cfg, _, err := config.Load(o.ConfigPath)
	if err != nil {
		return err
	}
	dir := pluginDir(cfg)
	files, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
	used := map[string][]string{} // module path -> "plugin (locations)"
	for name, p := range resolvePlugins(cfg) {
		path := p.Wasm
		if path == "" {
			path = filepath.Join(dir, p.Category+".wasm")
		}
		var locs []string
		for ln, l := range cfg.Locations {
			for _, pn := range l.Plugins {
				if pn == name {
					locs = append(locs, ln)
				}
			}
		}
		sort.Strings(locs)
		entry := name
		if len(locs) > 0 {
			entry += " (" + strings.Join(locs, ", ") + ")"
		}
		used[path] = append(used[path], entry)
		if _, err := os.Stat(path); err != nil && !contains(files, path) {
			files = append(files, path)
		}
	}
	sort.Strings(files)
	rt, err := wasm.NewRuntime(ctx, wasm.Options{NoWatch: true, CacheDir: a0(cfg)})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "plugin dir: %s\n\nMODULE\tSIZE\tSTATUS\tUSED BY\n", dir)
	for _, f := range files {
		size, status := "-", "ok"
		if st, err := os.Stat(f); err != nil {
			status = "missing"
		} else {
			size = fmt.Sprintf("%d KiB", (st.Size()+1023)/1024)
			if err := checkModule(ctx, rt, f); err != nil {
				status = "error: " + err.Error()
			}
		}
		users := strings.Join(used[f], "; ")
		if users == "" {
			users = "-"
		}
		name := f
		if rel, err := filepath.Rel(dir, f); err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, size, status, users)
	}
	return tw.Flush()
}

func a0(cfg *config.Config) string {
	if cfg.Basic.WasmCacheDir != "" {
		return cfg.Resolve(cfg.Basic.WasmCacheDir)
	}
	return ""
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// checkModule is replaced once host/wasm can check a module alone.
var checkModule = func(ctx context.Context, rt *wasm.Runtime, path string) error { return nil }
