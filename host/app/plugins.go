package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
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
		VMs:            b.WasmVMs,
		CallTimeout:    b.WasmCallTimeout.D(),
		TrustedModules: b.WasmTrustedModules,
		Logger:         a.log,
		HTTPCaller:     callouts{a},
		Observer:       a.observability().wasmObserver(),
		Version:        Version,
	}
	o.CacheDir = cacheDir(cfg)
	o.ForeignFunctions = a.foreignFunctions()
	if b.WasmMemoryLimit > 0 {
		o.MemoryLimitPages = uint32((int64(b.WasmMemoryLimit) + 65535) / 65536)
	}
	return o
}

// foreignFunctions are the host primitives plugins may call, by name.
func (a *App) foreignFunctions() map[string]wasm.ForeignFunc {
	ff := map[string]wasm.ForeignFunc{}
	for _, fns := range []map[string]func(string, []byte) ([]byte, error){
		a.codec.Functions(), a.files.Functions(), a.cache.Functions(), a.verifier.Functions(),
	} {
		for n, f := range fns {
			ff[n] = wasm.ErrorFunc(f)
		}
	}
	return ff
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
		a.observability().watchPlugins(rt)
	} else if o.CacheDir != a.rtOptions.CacheDir || o.VMs != a.rtOptions.VMs || o.CallTimeout != a.rtOptions.CallTimeout ||
		o.MemoryLimitPages != a.rtOptions.MemoryLimitPages || !slices.Equal(o.TrustedModules, a.rtOptions.TrustedModules) {
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
// and passes the load checks, and which plugins and locations of the config
// use it. Modules named by `wasm = "..."` outside the dir are listed too.
func ListPlugins(ctx context.Context, o Options, w io.Writer) error {
	cfg, _, err := config.Load(o.ConfigPath)
	if err != nil {
		return err
	}
	dir := pluginDir(cfg)
	rt, err := wasm.NewRuntime(ctx, wasm.Options{NoWatch: true, CacheDir: cacheDir(cfg), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	files, err := rt.PluginFiles(ctx, dir)
	if err != nil {
		return err
	}

	// Which plugins (and their locations) use each module file.
	users := map[string][]string{}
	for name, p := range resolvePlugins(cfg) {
		path := p.Wasm
		if path == "" {
			path = filepath.Join(dir, p.Category+".wasm")
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		var locs []string
		for ln, l := range cfg.Locations {
			if slices.Contains(l.Plugins, name) {
				locs = append(locs, ln)
			}
		}
		sort.Strings(locs)
		entry := name
		if len(locs) > 0 {
			entry += " (" + strings.Join(locs, ", ") + ")"
		} else {
			entry += " (no location)"
		}
		users[path] = append(users[path], entry)
	}
	listed := map[string]bool{}
	for _, f := range files {
		listed[f.Path] = true
	}
	for path := range users {
		if !listed[path] {
			files = append(files, wasm.PluginFile{Name: path, Path: path, Err: errors.New("file not found")})
		}
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "plugin dir: %s\n\nMODULE\tSIZE\tABI\tSTATUS\tUSED BY\n", dir)
	for _, f := range files {
		status := "ok"
		if f.Err != nil {
			status = "error: " + f.Err.Error()
		}
		size, abi := "-", f.ABI
		if f.Size > 0 {
			size = fmt.Sprintf("%d KiB", (f.Size+1023)/1024)
		}
		if abi == "" {
			abi = "-"
		}
		u := users[f.Path]
		sort.Strings(u)
		used := strings.Join(u, "; ")
		if used == "" {
			used = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, size, abi, status, used)
	}
	return tw.Flush()
}

func cacheDir(cfg *config.Config) string {
	if cfg.Basic.WasmCacheDir != "" {
		return cfg.Resolve(cfg.Basic.WasmCacheDir)
	}
	return ""
}
