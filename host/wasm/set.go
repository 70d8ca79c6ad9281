package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/sluice-proxy/sluice/host/config"
)

// Set is the plugins of one config generation, loaded and configured. Build
// chains from it with Chain; Close it when the generation is retired.
type Set struct {
	rt      *Runtime
	plugins map[string]*plugin
	closed  atomic.Bool
}

// plugin is a configured plugin of a Set, bound to the pool currently
// running its module (which a hot replacement of the file changes).
type plugin struct {
	name string
	cfg  *pluginConfig
	open bool   // fail_policy = "open"
	path string // module file
	cur  atomic.Pointer[binding]
}

// binding is where new streams of a plugin go.
type binding struct {
	pool *pool
	pc   *poolConfig
}

// FailPolicy values of config.Plugin.FailPolicy.
const (
	FailClosed = "closed"
	FailOpen   = "open"
)

// Load compiles and starts every plugin of a config generation: it reads
// each module (plugins with Category load "<category>.wasm" from pluginDir;
// Wasm names a file, relative to pluginDir unless absolute), compiles it
// once per content, checks it, and configures a root context for the plugin
// in each of the module's VMs with the plugin's Params (plus "step" when
// set) as JSON. Modules and VMs already running for an earlier generation
// are shared. Every problem is reported, each naming the plugin and the
// file; on error nothing stays loaded. Load also starts watching pluginDir
// for changed modules (unless Options.NoWatch).
func (rt *Runtime) Load(ctx context.Context, plugins map[string]*config.Plugin, pluginDir string) (*Set, error) {
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	sort.Strings(names)

	var errs []error
	byPath := map[string][]*plugin{}
	var paths []string
	for _, name := range names {
		pl, err := newPlugin(name, plugins[name], pluginDir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, ok := byPath[pl.path]; !ok {
			paths = append(paths, pl.path)
		}
		byPath[pl.path] = append(byPath[pl.path], pl)
	}

	rt.loadMu.Lock()
	defer rt.loadMu.Unlock()

	// Compile modules in parallel: that is where the time goes.
	pools := make([]*pool, len(paths))
	perrs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, path := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pools[i], perrs[i] = rt.poolForFile(ctx, path)
		}()
	}
	wg.Wait()

	set := &Set{rt: rt, plugins: map[string]*plugin{}}
	for i, path := range paths {
		if perrs[i] != nil {
			for _, pl := range byPath[path] {
				errs = append(errs, fmt.Errorf("plugin %q (%s): %w", pl.name, path, perrs[i]))
			}
			continue
		}
		for _, pl := range byPath[path] {
			if err := rt.bind(ctx, pl, pools[i]); err != nil {
				errs = append(errs, fmt.Errorf("plugin %q (%s): %w", pl.name, path, err))
				continue
			}
			set.plugins[pl.name] = pl
		}
		if p := pools[i]; p != nil {
			if err := p.fill(); err != nil && !errors.Is(err, errPoolClosed) {
				errs = append(errs, fmt.Errorf("module %s: starting VMs: %w", path, err))
			}
			p.closeIfUnused()
		}
	}
	if len(errs) > 0 {
		set.release()
		return nil, errors.Join(errs...)
	}
	rt.mu.Lock()
	for _, pl := range set.plugins {
		m := rt.files[pl.path]
		if m == nil {
			m = map[*plugin]struct{}{}
			rt.files[pl.path] = m
		}
		m[pl] = struct{}{}
	}
	rt.mu.Unlock()
	if !rt.opts.NoWatch && pluginDir != "" {
		rt.watch(pluginDir)
	}
	return set, nil
}

// bind acquires pl's config on p (or, if p was retired meanwhile, on a
// fresh pool for the same file).
func (rt *Runtime) bind(ctx context.Context, pl *plugin, p *pool) error {
	for {
		pc, err := p.acquire(pl.cfg)
		if errors.Is(err, errPoolClosed) {
			if p, err = rt.poolForFile(ctx, pl.path); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		pl.cur.Store(&binding{pool: p, pc: pc})
		return nil
	}
}

func newPlugin(name string, c *config.Plugin, pluginDir string) (*plugin, error) {
	if c == nil {
		return nil, fmt.Errorf("plugin %q: no configuration", name)
	}
	pl := &plugin{name: name}
	switch c.FailPolicy {
	case "", FailClosed:
	case FailOpen:
		pl.open = true
	default:
		return nil, fmt.Errorf("plugin %q: fail_policy %q: want %q or %q", name, c.FailPolicy, FailClosed, FailOpen)
	}
	switch {
	case c.Wasm != "":
		pl.path = c.Wasm
		if !filepath.IsAbs(pl.path) {
			pl.path = filepath.Join(pluginDir, pl.path)
		}
	case c.Category != "":
		if c.Category != filepath.Base(c.Category) || c.Category == "." || c.Category == ".." {
			return nil, fmt.Errorf("plugin %q: category %q is not a plain name", name, c.Category)
		}
		pl.path = filepath.Join(pluginDir, c.Category+".wasm")
	default:
		return nil, fmt.Errorf("plugin %q: neither category nor wasm is set", name)
	}
	if abs, err := filepath.Abs(pl.path); err == nil {
		pl.path = abs
	}
	params := make(map[string]any, len(c.Params)+1)
	for k, v := range c.Params {
		params[k] = v
	}
	if c.Step != "" {
		if _, ok := params["step"]; !ok {
			params["step"] = c.Step
		}
	}
	js, err := json.Marshal(params) // map keys sorted: the same table gives the same bytes
	if err != nil {
		return nil, fmt.Errorf("plugin %q: encoding its configuration as JSON: %w", name, err)
	}
	pl.cfg = &pluginConfig{name: name, json: js, key: name + "\x00" + string(js)}
	return pl, nil
}

// Plugins returns the names of the set's plugins, sorted.
func (s *Set) Plugins() []string {
	names := make([]string, 0, len(s.plugins))
	for n := range s.plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Chain returns the chain of plugins a location lists, in order. Build it
// once per generation: it is immutable and safe for concurrent use.
func (s *Set) Chain(names []string) (*Chain, error) {
	c := &Chain{rt: s.rt, plugins: make([]*plugin, 0, len(names))}
	var errs []error
	for _, n := range names {
		pl := s.plugins[n]
		if pl == nil {
			errs = append(errs, fmt.Errorf("unknown plugin %q", n))
			continue
		}
		c.plugins = append(c.plugins, pl)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// Close retires the generation: its plugins take no new streams, and the
// VMs, roots and modules nothing else uses are freed once the streams in
// flight end.
func (s *Set) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.rt.loadMu.Lock()
	defer s.rt.loadMu.Unlock()
	s.rt.mu.Lock()
	for _, pl := range s.plugins {
		if m := s.rt.files[pl.path]; m != nil {
			delete(m, pl)
			if len(m) == 0 {
				delete(s.rt.files, pl.path)
			}
		}
	}
	s.rt.mu.Unlock()
	s.release()
}

func (s *Set) release() {
	for _, pl := range s.plugins {
		if b := pl.cur.Swap(nil); b != nil {
			b.pool.release(b.pc)
		}
	}
}
