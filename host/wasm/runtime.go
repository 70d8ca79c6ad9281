package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/sluice-proxy/sluice/abi"
)

// Runtime owns wazero and everything that outlives a config generation:
// compiled modules, their VMs, shared data and queues, plugin metrics, the
// plugin-directory watcher. One per process.
type Runtime struct {
	opts Options
	log  *slog.Logger
	r    wazero.Runtime
	// trusted runs the modules of Options.TrustedModules: the same
	// configuration without the time budget's checks. It is r when there
	// is no budget anyway.
	trusted wazero.Runtime
	cache   wazero.CompilationCache
	wasiRef map[string]api.FunctionDefinition
	foreign map[string]ForeignFunc

	// ctx lives as long as the runtime: http callouts and VMs derive from
	// it, so Close stops them.
	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup

	// loadMu serializes Load, Set.Close and hot replacements, which move
	// plugins between pools.
	loadMu sync.Mutex

	mu      sync.Mutex
	pools   map[[32]byte]*pool
	files   map[string]map[*plugin]struct{} // module path → live plugins using it
	watcher *dirWatcher
	closed  bool

	shared  sharedStore
	metrics metricRegistry

	// vms are the live VMs, scanned by the watchdog.
	vmsMu sync.Mutex
	vms   map[*vm]struct{}
}

// NewRuntime creates the wazero runtime with the compilation cache, the
// memory limit and (unless disabled) the per-callback time budget of opts.
func NewRuntime(ctx context.Context, opts Options) (*Runtime, error) {
	explicitCache := opts.CacheDir != ""
	opts = opts.withDefaults()
	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(opts.MemoryLimitPages)
	var cache wazero.CompilationCache
	if opts.CacheDir != NoCacheDir {
		c, err := openCache(opts.CacheDir)
		switch {
		case err == nil:
			cache = c
			rc = rc.WithCompilationCache(cache)
		case explicitCache:
			return nil, fmt.Errorf("wasm: compilation cache %s: %w", opts.CacheDir, err)
		default:
			// The default location is a convenience: without it plugins
			// still run, compiled at every start.
			opts.Logger.Warn("no Wasm compilation cache; plugins are compiled at every start",
				"component", "wasm", "dir", opts.CacheDir, "error", err)
		}
	}
	// The compilation cache keys compiled code by module and by whether
	// it has the budget's checks, so both runtimes may share it.
	rt := &Runtime{
		opts:    opts,
		log:     opts.Logger.With("component", "wasm"),
		r:       wazero.NewRuntimeWithConfig(ctx, rc.WithCloseOnContextDone(opts.CallTimeout > 0)),
		cache:   cache,
		foreign: map[string]ForeignFunc{abi.ForeignCompress: foreignCompress, abi.ForeignUncompress: foreignUncompress},
		pools:   map[[32]byte]*pool{},
		files:   map[string]map[*plugin]struct{}{},
		vms:     map[*vm]struct{}{},
	}
	rt.trusted = rt.r
	if opts.CallTimeout > 0 && len(opts.TrustedModules) > 0 {
		rt.trusted = wazero.NewRuntimeWithConfig(ctx, rc.WithCloseOnContextDone(false))
	}
	for name, fn := range opts.ForeignFunctions {
		rt.foreign[name] = fn
	}
	rt.shared.init()
	rt.metrics.init()
	rt.ctx, rt.cancel = context.WithCancel(context.Background())

	// The WASI functions wazero implements, with their signatures, to check
	// a guest's WASI imports against.
	b := rt.r.NewHostModuleBuilder(abi.ModuleWASI)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
	ref, err := b.Compile(ctx)
	if err != nil {
		rt.r.Close(ctx)
		return nil, fmt.Errorf("wasm: compiling WASI: %w", err)
	}
	rt.wasiRef = ref.ExportedFunctions()

	if opts.CallTimeout > 0 {
		rt.spawn(rt.watchdog)
	}
	return rt, nil
}

// spawn runs fn on a goroutine that Close waits for, unless the runtime is
// closed (then fn does not run: it was work for VMs that are gone).
func (rt *Runtime) spawn(fn func()) bool {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return false
	}
	rt.bg.Add(1)
	rt.mu.Unlock()
	go func() {
		defer rt.bg.Done()
		fn()
	}()
	return true
}

// Close stops the watcher, every VM and every pending callout, and frees
// compiled code. Sets must not be used afterwards.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil
	}
	rt.closed = true
	w := rt.watcher
	rt.watcher = nil
	pools := make([]*pool, 0, len(rt.pools))
	for _, p := range rt.pools {
		pools = append(pools, p)
	}
	rt.mu.Unlock()
	if w != nil {
		w.close()
	}
	rt.cancel()
	for _, p := range pools {
		p.close()
	}
	rt.bg.Wait()
	err := rt.r.Close(ctx)
	if rt.trusted != rt.r {
		err = errors.Join(err, rt.trusted.Close(ctx))
	}
	if rt.cache != nil {
		err = errors.Join(err, rt.cache.Close(ctx))
	}
	return err
}

// compile compiles module bytes with r, using the disk cache and several
// workers.
func (rt *Runtime) compile(ctx context.Context, r wazero.Runtime, b []byte) (wazero.CompiledModule, error) {
	return r.CompileModule(experimental.WithCompilationWorkers(ctx, rt.opts.CompileWorkers), b)
}

// runtimeFor returns the wazero runtime for the module file at path, and
// whether it is trusted (runs without the time budget).
func (rt *Runtime) runtimeFor(path string) (wazero.Runtime, bool) {
	if rt.trusted == rt.r {
		return rt.r, false
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if slices.Contains(rt.opts.TrustedModules, name) {
		return rt.trusted, true
	}
	return rt.r, false
}

// watchdog stops VMs whose current callback has run longer than the call
// budget. Timing one callback with a deadline context per call would cost a
// timer and an allocation per call; instead each VM bumps a sequence number
// around every call (odd while running) and this goroutine, waking a few
// times per budget, cancels the VM's context when it has seen the same odd
// number for longer than the budget. wazero then closes the module at the
// next loop back-edge or host call (WithCloseOnContextDone).
//
// The time it counts is the time the process ran: a tick that comes late
// (a stop-the-world pause, the process descheduled on a loaded machine)
// counts as at most two periods, since the guest could not run either. A
// CI run lost a healthy VM to a pause that held both it and a misbehaving
// one past the budget at once.
func (rt *Runtime) watchdog() {
	budget := rt.opts.CallTimeout
	period := min(max(budget/8, time.Millisecond), 50*time.Millisecond)
	ticks := rt.opts.ticks
	if ticks == nil {
		t := time.NewTicker(period)
		defer t.Stop()
		ticks = t.C
	}
	type seen struct {
		seq    uint64
		ran    time.Duration // process time the call has run, as ticks saw it
		warned bool          // a trusted call over budget was reported
	}
	last := map[*vm]*seen{}
	prev := time.Now()
	for {
		select {
		case <-rt.ctx.Done():
			return
		case now := <-ticks:
			step := min(now.Sub(prev), 2*period)
			prev = now
			rt.vmsMu.Lock()
			for v := range rt.vms {
				seq := v.seq.Load()
				if seq%2 == 0 {
					delete(last, v)
					continue
				}
				s, ok := last[v]
				if !ok || s.seq != seq {
					last[v] = &seen{seq: seq}
					continue
				}
				s.ran += step
				limit := budget
				if v.loading.Load() {
					limit = max(budget, loadBudget)
				}
				switch {
				case s.ran < limit:
				case v.pool.trusted:
					// Nothing can stop it: say so once per call.
					if !s.warned {
						rt.log.Error("a trusted plugin's callback is over its time budget and cannot be stopped", "module", v.pool.path, "vm", v.slot, "running", s.ran.Round(time.Millisecond))
						s.warned = true
					}
				default:
					v.timedOut.Store(true)
					v.cancel()
					delete(last, v)
				}
			}
			for v := range last {
				if _, ok := rt.vms[v]; !ok {
					delete(last, v)
				}
			}
			rt.vmsMu.Unlock()
		}
	}
}

// loadBudget is the time budget of the calls that start a VM and configure
// its plugins.
const loadBudget = 30 * time.Second

// openCache opens (creating it 0700: it holds executable code) the
// compilation cache directory.
func openCache(dir string) (wazero.CompilationCache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return wazero.NewCompilationCacheWithDir(dir)
}

func (rt *Runtime) trackVM(v *vm, live bool) {
	rt.vmsMu.Lock()
	if live {
		rt.vms[v] = struct{}{}
	} else {
		delete(rt.vms, v)
	}
	rt.vmsMu.Unlock()
}
