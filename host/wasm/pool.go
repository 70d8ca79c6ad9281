package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/sluice-proxy/sluice/abi"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// pool is one compiled module (one file content) and its VMs: Options.VMs
// slots, each holding a vm with a root context for every plugin config
// that uses the module. Pools are shared by config generations and
// reference-counted by plugin config: a config's roots are removed once no
// plugin and no stream uses them, and the pool is closed with its last
// config.
type pool struct {
	rt       *Runtime
	r        wazero.Runtime // the runtime that compiled the module
	trusted  bool           // r runs without the time budget
	hash     [32]byte
	path     string // the file it was compiled from, for messages
	vmID     string // the module's name: shared-data namespace, plugin_vm_id
	compiled wazero.CompiledModule
	info     moduleInfo
	imports  map[string]api.Module

	rr    atomic.Uint32
	slots []atomic.Pointer[vm]

	mu      sync.Mutex // configs, slot installation, closed; taken before any vm.mu
	configs map[string]*poolConfig
	backoff []time.Duration
	closed  bool
	// vmReady is closed (and replaced) whenever a vm is installed, to wake
	// streams waiting because every vm had failed.
	vmReady chan struct{}
}

// pluginConfig identifies a root context: a plugin's name and its JSON
// configuration. Two generations with the same plugin unchanged share it.
type pluginConfig struct {
	name string
	json []byte
	key  string
}

// poolConfig is a plugin config active on a pool.
type poolConfig struct {
	// mask is the plugin's abi.StreamCallbacks (abi.StreamAll unless its
	// module exports abi.CallbackStreamCallbacks).
	mask     atomic.Uint32
	cfg      *pluginConfig
	refs     int          // plugins bound to it; guarded by pool.mu
	streams  atomic.Int64 // streams in flight using it
	retiring atomic.Bool  // refs reached 0: remove once streams do
	removed  bool         // guarded by pool.mu
}

var errPoolClosed = errors.New("module retired")

// compileFile reads and compiles a module file and checks it, or returns
// the pool already holding the same content.
func (rt *Runtime) poolForFile(ctx context.Context, path string) (*pool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading module: %w", err)
	}
	return rt.poolFor(ctx, path, b)
}

func (rt *Runtime) poolFor(ctx context.Context, path string, b []byte) (*pool, error) {
	r, trusted := rt.runtimeFor(path)
	// The same content compiled with and without the budget's checks is
	// two pools.
	h := sha256.New()
	h.Write(b)
	if trusted {
		h.Write([]byte("\x00trusted"))
	}
	var hash [32]byte
	h.Sum(hash[:0])
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil, errors.New("runtime closed")
	}
	if p := rt.pools[hash]; p != nil {
		rt.mu.Unlock()
		return p, nil
	}
	rt.mu.Unlock()

	cm, err := rt.compile(ctx, r, b)
	if err != nil {
		return nil, fmt.Errorf("compiling: %w", err)
	}
	info, err := checkModule(cm)
	if err != nil {
		cm.Close(ctx)
		return nil, err
	}
	imports, stubbed, err := rt.link(ctx, r, cm)
	if err != nil {
		cm.Close(ctx)
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	for _, s := range stubbed {
		rt.log.Warn("plugin module imports a function sluice does not provide; calls to it fail", "module", path, "import", s)
	}
	p := &pool{
		rt: rt, r: r, trusted: trusted, hash: hash, path: path, vmID: name, compiled: cm, info: info, imports: imports,
		slots: make([]atomic.Pointer[vm], rt.opts.VMs), backoff: make([]time.Duration, rt.opts.VMs),
		vmReady: make(chan struct{}),
		configs: map[string]*poolConfig{},
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if q := rt.pools[hash]; q != nil { // compiled twice concurrently: keep the first
		p.closeImports()
		return q, nil
	}
	rt.pools[hash] = p
	return p, nil
}

func (p *pool) resolve(name string) api.Module { return p.imports[name] }

func (p *pool) shortHash() string { return hex.EncodeToString(p.hash[:4]) }

// configList returns the pool's active configs. p.mu is held.
func (p *pool) configList() []*poolConfig {
	out := make([]*poolConfig, 0, len(p.configs))
	for _, pc := range p.configs {
		if !pc.removed {
			out = append(out, pc)
		}
	}
	return out
}

// acquire adds a reference to config c, creating its root context on every
// live vm if it is new (the first vm acts as the canary: a rejection there
// stops before the others). The first acquire on a pool starts its first
// vm. It fails with the plugin's error, and leaves the pool unchanged.
func (p *pool) acquire(c *pluginConfig) (*poolConfig, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPoolClosed
	}
	if pc := p.configs[c.key]; pc != nil && !pc.removed {
		pc.refs++
		pc.retiring.Store(false)
		return pc, nil
	}
	pc := newPoolConfig(c)
	if p.live() == 0 {
		v, err := newVM(p, 0, []*poolConfig{pc})
		if err != nil {
			return nil, err
		}
		p.install(v)
	} else {
		var done []*vm
		for i := range p.slots {
			v := p.slots[i].Load()
			if v == nil || v.dead.Load() {
				continue
			}
			v.mu.Lock()
			err := v.addRoot(pc)
			v.mu.Unlock()
			if err != nil {
				for _, d := range done {
					d.mu.Lock()
					d.removeRoot(pc)
					d.mu.Unlock()
				}
				return nil, err
			}
			done = append(done, v)
		}
	}
	p.configs[c.key] = pc
	return pc, nil
}

// live counts the slots holding a vm that has not failed. p.mu is held.
func (p *pool) live() int {
	n := 0
	for i := range p.slots {
		if v := p.slots[i].Load(); v != nil && !v.dead.Load() {
			n++
		}
	}
	return n
}

func (p *pool) install(v *vm) {
	v.installed.Store(true)
	p.slots[v.slot].Store(v)
	close(p.vmReady)
	p.vmReady = make(chan struct{})
}

// vmWait bounds how long a new stream waits for a replacement vm when
// every vm of its module has failed: the first replacement comes after
// Options.RestartBackoff (100ms by default), so a burst of failures delays
// the requests behind it instead of failing them.
const vmWait = 2 * time.Second

// waitVM waits for a live vm, up to vmWait or until ctx ends.
func (p *pool) waitVM(ctx context.Context) *vm {
	t := time.NewTimer(vmWait)
	defer t.Stop()
	for {
		p.mu.Lock()
		ch, closed := p.vmReady, p.closed
		p.mu.Unlock()
		if closed {
			return nil
		}
		if v := p.pick(); v != nil {
			return v
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil
		case <-t.C:
			return nil
		}
	}
}

// fill starts a vm in every empty slot, in parallel, with every active
// config. It is called after the canary accepted them.
func (p *pool) fill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errPoolClosed
	}
	cfgs := p.configList()
	var wg sync.WaitGroup
	errs := make([]error, len(p.slots))
	vms := make([]*vm, len(p.slots))
	for i := range p.slots {
		if p.slots[i].Load() != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			vms[i], errs[i] = newVM(p, i, cfgs)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, v := range vms {
			if v != nil {
				v.close()
			}
		}
		return err
	}
	for _, v := range vms {
		if v != nil {
			p.install(v)
		}
	}
	return nil
}

// release drops a reference to pc; without references its roots are
// removed once its in-flight streams end.
func (p *pool) release(pc *poolConfig) {
	p.mu.Lock()
	if pc.removed {
		p.mu.Unlock()
		return
	}
	pc.refs--
	if pc.refs > 0 {
		p.mu.Unlock()
		return
	}
	pc.retiring.Store(true)
	p.mu.Unlock()
	if pc.streams.Load() == 0 {
		p.removeConfig(pc)
	}
}

// streamEnded is called when a stream using pc finishes.
func (p *pool) streamEnded(pc *poolConfig) {
	if pc.streams.Add(-1) == 0 && pc.retiring.Load() {
		p.removeConfig(pc)
	}
}

// removeConfig removes a retired config's roots from every vm, and closes
// the pool when it was the last one.
func (p *pool) removeConfig(pc *poolConfig) {
	p.mu.Lock()
	if pc.removed || !pc.retiring.Load() || pc.streams.Load() != 0 || p.configs[pc.cfg.key] != pc {
		p.mu.Unlock()
		return
	}
	pc.removed = true
	delete(p.configs, pc.cfg.key)
	for i := range p.slots {
		if v := p.slots[i].Load(); v != nil {
			v.mu.Lock()
			v.removeRoot(pc)
			v.mu.Unlock()
		}
	}
	last := len(p.configs) == 0
	p.mu.Unlock()
	if last {
		p.close()
	}
}

// closeIfUnused closes a pool left without configs (every plugin of a
// failed Load rejected it).
func (p *pool) closeIfUnused() {
	p.mu.Lock()
	empty := len(p.configs) == 0
	p.mu.Unlock()
	if empty {
		p.close()
	}
}

// close stops every vm and frees the compiled module.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for i := range p.slots {
		if v := p.slots[i].Swap(nil); v != nil {
			v.close()
		}
	}
	p.mu.Unlock()
	p.rt.mu.Lock()
	if p.rt.pools[p.hash] == p {
		delete(p.rt.pools, p.hash)
	}
	p.rt.mu.Unlock()
	p.closeImports()
}

func (p *pool) closeImports() {
	ctx := context.Background()
	for _, m := range p.imports {
		_ = m.Close(ctx)
	}
	_ = p.compiled.Close(ctx)
}

// pick returns a live vm for a new stream, round robin, or nil.
func (p *pool) pick() *vm {
	n := uint32(len(p.slots))
	start := p.rr.Add(1)
	for i := uint32(0); i < n; i++ {
		if v := p.slots[(start+i)%n].Load(); v != nil && !v.dead.Load() {
			return v
		}
	}
	return nil
}

// enter registers a stream on pc, unless pc is retiring (the caller then
// looks for the plugin's current pool).
func (p *pool) enter(pc *poolConfig) bool {
	pc.streams.Add(1)
	if pc.retiring.Load() {
		p.streamEnded(pc)
		return false
	}
	return true
}

// replace starts a vm in place of dead, after a back-off that doubles while
// the vms of this slot keep dying young. Called with dead.mu held, so it
// only schedules the work.
func (p *pool) replace(dead *vm) {
	lived := time.Since(dead.created)
	p.rt.spawn(func() {
		p.mu.Lock()
		if p.closed || p.slots[dead.slot].Load() != dead {
			p.mu.Unlock()
			return
		}
		o := p.rt.opts
		b := p.backoff[dead.slot]
		switch {
		case b == 0 || lived > time.Minute:
			b = o.RestartBackoff
		default:
			b = min(2*b, o.MaxRestartBackoff)
		}
		p.backoff[dead.slot] = b
		p.mu.Unlock()
		for {
			t := time.NewTimer(b)
			select {
			case <-p.rt.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			p.mu.Lock()
			if p.closed || p.slots[dead.slot].Load() != dead {
				p.mu.Unlock()
				return
			}
			v, err := newVM(p, dead.slot, p.configList())
			if err == nil {
				p.install(v)
				p.mu.Unlock()
				p.rt.log.Info("plugin VM replaced", "module", p.path, "vm", dead.slot)
				return
			}
			p.mu.Unlock()
			p.rt.log.Error("starting a replacement plugin VM failed; retrying", "module", p.path, "vm", dead.slot, "in", 2*b, "error", err)
			if ob := o.Observer; ob != nil {
				ob.VMFailed(p.path, ReasonStart)
			}
			b = min(2*b, o.MaxRestartBackoff)
			p.mu.Lock()
			p.backoff[dead.slot] = b
			p.mu.Unlock()
		}
	})
}

func newPoolConfig(c *pluginConfig) *poolConfig {
	pc := &poolConfig{cfg: c, refs: 1}
	pc.mask.Store(uint32(abi.StreamAll))
	return pc
}
