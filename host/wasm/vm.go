package wasm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/sluice-proxy/sluice/abi"
)

// vm is one instance of a module: a guest with its own linear memory, the
// root contexts of every plugin config using the module, and the stream
// contexts pinned to it. A vm runs one guest call at a time (mu). Host
// functions find the vm from the context of the call (vmKey).
type vm struct {
	rt      *Runtime
	pool    *pool
	slot    int
	created time.Time

	// ctx is passed to every guest call; it carries the vm and is cancelled
	// by the watchdog (timeout) or by close.
	ctx      context.Context
	cancel   context.CancelFunc
	timedOut atomic.Bool
	// loading is set while the VM starts or configures a root context:
	// those calls run at config load, off the request path, and get
	// loadBudget instead of the per-callback budget (a Go module's
	// _initialize on a loaded machine can take a while).
	loading atomic.Bool
	// seq is odd while a guest call runs (see Runtime.watchdog).
	seq  atomic.Uint64
	dead atomic.Bool
	// installed is set once the vm serves streams; a vm failing before
	// that is only reported to whoever was creating it.
	installed atomic.Bool

	mu         sync.Mutex
	inst       api.Module
	mem        api.Memory
	fns        callbacks
	stack      []uint64 // parameters and results of top-level calls
	allocStack []uint64 // of allocator calls made from host functions
	err        error    // why the vm died

	// State of the current call, valid while mu is held.
	cur         *hctx         // the context the callback was called for
	eff         *hctx         // set by proxy_set_effective_context
	configuring *hctx         // root in proxy_on_configure: plugin config readable
	callResp    *callResponse // in proxy_on_http_call_response
	capture     []string      // warnings logged during on_configure
	capturing   bool
	touched     []*streamState // streams given an action by this call
	after       []func()       // work to start once the call returned

	contexts  map[uint32]*hctx
	roots     map[*poolConfig]*hctx
	nextID    uint32
	calls     map[uint32]*hctx // http callout token → calling root
	nextTok   uint32
	metrics   []*metric // index = metric id >> 2 - 1
	metricIDs map[*metric]uint32
	scratch   [][2]string
	buf       []byte

	asyncMu  sync.Mutex
	async    []func()
	draining bool

	stdout, stderr logWriter
}

type vmKey struct{}

// vmFrom returns the vm of a host function call.
func vmFrom(ctx context.Context) *vm { return ctx.Value(vmKey{}).(*vm) }

// callbacks are the guest's exports the host calls; nil when absent.
type callbacks struct {
	malloc, onContextCreate, onVMStart, onConfigure, onTick, onQueueReady,
	onRequestHeaders, onRequestBody, onRequestTrailers,
	onResponseHeaders, onResponseBody, onResponseTrailers,
	onHTTPCallResponse, onLog, onDone, onDelete api.Function
	// streamCallbacks is the sluice extension abi.CallbackStreamCallbacks.
	streamCallbacks api.Function
}

// hctx is a proxy-wasm context as the host sees it: a root context (one per
// plugin config per vm) or a stream context (one per plugin per request).
type hctx struct {
	id   uint32
	v    *vm
	cfg  *pluginConfig
	root *hctx        // nil for a root context
	st   *streamState // nil for a root context

	// Root contexts only.
	tickPeriod time.Duration
	tickTimer  *time.Timer
	tickGen    uint64
	statusCode uint32
	statusMsg  string
	awaitDone  bool // proxy_on_done answered false: waiting for proxy_done
}

// rootOf returns the root context of h.
func (h *hctx) rootOf() *hctx {
	if h.root != nil {
		return h.root
	}
	return h
}

// callResponse is an http callout's answer while it is being delivered.
type callResponse struct {
	headers  [][2]string
	body     []byte
	trailers [][2]string
}

// errVMGone is what streams pinned to a failed vm get.
var errVMGone = errors.New("plugin VM failed")

// errNoVM is what new streams get while every vm of their plugin is being
// replaced.
var errNoVM = errors.New("no plugin VM available: every VM failed and is being replaced")

// newVM instantiates p's module, runs its start functions and creates a
// root context for every config in cfgs. On error the instance is closed.
func newVM(p *pool, slot int, cfgs []*poolConfig) (*vm, error) {
	rt := p.rt
	v := &vm{
		rt: rt, pool: p, slot: slot, created: time.Now(),
		stack: make([]uint64, 16), allocStack: make([]uint64, 1),
		contexts: map[uint32]*hctx{}, roots: map[*poolConfig]*hctx{}, calls: map[uint32]*hctx{},
	}
	v.stdout = logWriter{v: v, level: slog.LevelInfo}
	v.stderr = logWriter{v: v, level: slog.LevelError}
	base, cancel := context.WithCancel(rt.ctx)
	v.ctx, v.cancel = context.WithValue(base, vmKey{}, v), cancel

	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions().
		WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader).
		WithStdout(&v.stdout).WithStderr(&v.stderr)
	ictx := experimental.WithImportResolver(v.ctx, p.resolve)
	inst, err := p.r.InstantiateModule(ictx, p.compiled, cfg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("instantiating: %w", err)
	}
	v.inst, v.mem = inst, inst.Memory()
	f := inst.ExportedFunction
	v.fns = callbacks{
		malloc: f(p.info.allocator), onContextCreate: f(abi.CallbackOnContextCreate),
		onVMStart: f(abi.CallbackOnVMStart), onConfigure: f(abi.CallbackOnConfigure),
		onTick: f(abi.CallbackOnTick), onQueueReady: f(abi.CallbackOnQueueReady),
		onRequestHeaders: f(abi.CallbackOnRequestHeaders), onRequestBody: f(abi.CallbackOnRequestBody),
		onRequestTrailers: f(abi.CallbackOnRequestTrailers), onResponseHeaders: f(abi.CallbackOnResponseHeaders),
		onResponseBody: f(abi.CallbackOnResponseBody), onResponseTrailers: f(abi.CallbackOnResponseTrailers),
		onHTTPCallResponse: f(abi.CallbackOnHTTPCallResponse), onLog: f(abi.CallbackOnLog),
		onDone: f(abi.CallbackOnDone), onDelete: f(abi.CallbackOnDelete),
		streamCallbacks: f(abi.CallbackStreamCallbacks),
	}
	rt.trackVM(v, true)

	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.start(); err != nil {
		v.closeLocked()
		return nil, err
	}
	for _, c := range cfgs {
		if err := v.addRoot(c); err != nil {
			v.closeLocked()
			return nil, err
		}
	}
	return v, nil
}

// start runs the module's start functions (proxy-wasm.md §1.2).
func (v *vm) start() error {
	v.loading.Store(true)
	defer v.loading.Store(false)
	info := v.pool.info
	if info.start == "" {
		return nil
	}
	if _, err := v.rawCall(nil, v.inst.ExportedFunction(info.start)); err != nil {
		var pe *procExit
		if info.start == abi.StartStart && errors.As(err, &pe) && pe.code == 0 && !v.inst.IsClosed() {
			// A WASI command that exits cleanly after main (TinyGo) has
			// registered its contexts: keep it.
			return nil
		}
		v.fail(err)
		return fmt.Errorf("running %s: %w", info.start, err)
	}
	if info.main != "" {
		args := []uint64{0, 0}
		if info.main == abi.StartMainVoid {
			args = nil
		}
		if _, err := v.call(nil, v.inst.ExportedFunction(info.main), args...); err != nil {
			return fmt.Errorf("running %s: %w", info.main, err)
		}
	}
	return nil
}

// call runs a guest function for context cur (nil: no context) with args
// and returns its first result. v.mu must be held. A guest error (trap,
// panic, proc_exit, timeout) kills the vm: call returns the error and every
// later call returns it too.
func (v *vm) call(cur *hctx, fn api.Function, args ...uint64) (uint64, error) {
	r, err := v.rawCall(cur, fn, args...)
	if err != nil {
		v.fail(err)
		return 0, v.err
	}
	return r, nil
}

// rawCall is call without the failure handling: the caller decides what a
// guest error means.
func (v *vm) rawCall(cur *hctx, fn api.Function, args ...uint64) (uint64, error) {
	if v.dead.Load() {
		return 0, v.err
	}
	if fn == nil {
		return 0, nil
	}
	stack := v.stack[:max(len(args), 1)]
	copy(stack, args)
	v.cur, v.eff = cur, nil
	v.seq.Add(1)
	start := time.Now()
	err := fn.CallWithStack(v.ctx, stack)
	if cur != nil && cur.st != nil {
		d := time.Since(start)
		cur.st.spent += d
		if cur.st.obs != nil {
			cur.st.obs.PluginCall(cur.cfg.name, callbackName(fn), start, d)
		}
	}
	v.seq.Add(1)
	res := stack[0] // before afterCall, which may call the guest again
	v.cur, v.eff = nil, nil
	v.afterCall()
	if err != nil {
		return 0, err
	}
	return res, nil
}

// afterCall applies what the call asked for, now that it has returned
// (Envoy's "after VM call actions"): streams given an action by an
// asynchronous callback are woken, callouts are started.
func (v *vm) afterCall() {
	for i, st := range v.touched {
		if st.waiting {
			select {
			case st.wake <- struct{}{}:
			default:
			}
		}
		v.touched[i] = nil
	}
	v.touched = v.touched[:0]
	// An action may call the guest again (proxy_done's on_delete), which
	// may queue more actions: run until none is left.
	for len(v.after) > 0 {
		fns := v.after
		v.after = nil
		for _, fn := range fns {
			fn()
		}
	}
}

// touch records that st was given an action (continue, local response,
// close) by the current call.
func (v *vm) touch(st *streamState) {
	for _, t := range v.touched {
		if t == st {
			return
		}
	}
	v.touched = append(v.touched, st)
}

// fail marks the vm dead after a guest error: it logs why, tells the
// observer, wakes every stream waiting on it (they fail per their plugin's
// policy), stops its timers and asks the pool for a replacement. v.mu is
// held.
func (v *vm) fail(cause error) {
	if v.dead.Swap(true) {
		return
	}
	reason := ReasonTrap
	var exit *sys.ExitError
	if v.timedOut.Load() || errors.As(cause, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded {
		reason = ReasonTimeout
		cause = fmt.Errorf("callback exceeded its time budget of %s", v.rt.opts.CallTimeout)
	}
	msg := cause.Error()
	if i := strings.Index(msg, "\nwasm stack trace:"); i >= 0 {
		msg = msg[:i] // keep the log line one line; the trace is at debug level
		v.rt.log.Debug("plugin VM trace", "module", v.pool.path, "error", cause)
	}
	v.err = fmt.Errorf("%w: %s", errVMGone, msg)
	if !v.installed.Load() {
		v.stopLocked()
		return
	}
	v.rt.log.Error("plugin VM failed; replacing it", "module", v.pool.path, "plugins", v.pluginNames(),
		"vm", v.slot, "reason", string(reason), "error", msg)
	if o := v.rt.opts.Observer; o != nil {
		o.VMFailed(v.pool.path, reason)
	}
	v.stopLocked()
	v.pool.replace(v)
}

// stopLocked releases the instance and wakes everyone waiting on it.
func (v *vm) stopLocked() {
	v.dead.Store(true)
	if v.err == nil {
		v.err = fmt.Errorf("%w: closed", errVMGone)
	}
	v.cancel()
	v.rt.trackVM(v, false)
	for _, h := range v.contexts {
		if h.tickTimer != nil {
			h.tickTimer.Stop()
			h.tickTimer = nil
		}
		if h.st != nil && h.st.waiting {
			select {
			case h.st.wake <- struct{}{}:
			default:
			}
		}
	}
	// Closing after cancel: wazero has already made the running call (if
	// any) exit; this frees the instance.
	_ = v.inst.Close(context.Background())
}

// closeLocked stops a vm that did not fail (retired or never finished
// starting). v.mu is held.
func (v *vm) closeLocked() {
	if v.dead.Load() {
		return
	}
	v.stopLocked()
}

// close stops the vm, waiting for its current call to end.
func (v *vm) close() {
	v.mu.Lock()
	v.closeLocked()
	v.mu.Unlock()
}

func (v *vm) pluginNames() []string {
	names := make([]string, 0, len(v.roots))
	for _, h := range v.roots {
		names = append(names, h.cfg.name)
	}
	return names
}

// newID returns an unused context id (never 0), from the vm's counter.
func (v *vm) newID() uint32 {
	for {
		v.nextID++
		if v.nextID == 0 {
			continue
		}
		if _, used := v.contexts[v.nextID]; !used {
			return v.nextID
		}
	}
}

// addRoot creates and configures the root context of c: on_context_create,
// on_vm_start, on_configure with the plugin config readable. A false answer
// or a trap is an error carrying what the plugin logged at warn level or
// above meanwhile.
func (v *vm) addRoot(pc *poolConfig) error {
	v.loading.Store(true)
	defer v.loading.Store(false)
	if v.dead.Load() {
		return v.err
	}
	if _, ok := v.roots[pc]; ok {
		return nil
	}
	c := pc.cfg
	h := &hctx{id: v.newID(), v: v, cfg: c}
	v.contexts[h.id] = h
	v.capture, v.capturing = v.capture[:0], true
	defer func() { v.capturing = false }()
	if _, err := v.call(h, v.fns.onContextCreate, uint64(h.id), 0); err != nil {
		return v.rootError(c, "creating its context", err)
	}
	if v.fns.onVMStart != nil {
		ok, err := v.call(h, v.fns.onVMStart, uint64(h.id), 0)
		if err != nil {
			return v.rootError(c, "starting", err)
		}
		if uint32(ok) == 0 {
			v.dropRoot(h)
			return v.rootError(c, "starting", errors.New("proxy_on_vm_start returned false"))
		}
	}
	if v.fns.onConfigure != nil {
		v.configuring = h
		ok, err := v.call(h, v.fns.onConfigure, uint64(h.id), uint64(len(c.json)))
		v.configuring = nil
		if err != nil {
			return v.rootError(c, "configuring", err)
		}
		if uint32(ok) == 0 {
			v.dropRoot(h)
			return v.rootError(c, "configuring", errors.New("the plugin rejected its configuration"))
		}
	}
	if v.fns.streamCallbacks != nil {
		// Which stream callbacks the plugin needs; Filter skips the rest.
		m, err := v.call(h, v.fns.streamCallbacks, uint64(h.id))
		if err != nil {
			return v.rootError(c, "asking for its stream callbacks", err)
		}
		pc.mask.Store(uint32(m) & uint32(abi.StreamAll))
	}
	v.roots[pc] = h
	return nil
}

func (v *vm) rootError(c *pluginConfig, what string, err error) error {
	if len(v.capture) > 0 {
		err = fmt.Errorf("%w: %s", err, strings.Join(v.capture, "; "))
	}
	return fmt.Errorf("plugin %q %s: %w", c.name, what, err)
}

// removeRoot ends the root context of pc: on_done, then on_delete unless
// the plugin asked to finish later (proxy_done).
func (v *vm) removeRoot(pc *poolConfig) {
	h := v.roots[pc]
	if h == nil {
		return
	}
	delete(v.roots, pc)
	if h.tickTimer != nil {
		h.tickTimer.Stop()
		h.tickTimer = nil
	}
	h.tickPeriod = 0
	v.dropRoot(h)
}

// dropRoot runs on_done and on_delete on a root context.
func (v *vm) dropRoot(h *hctx) {
	done := uint64(1)
	if v.fns.onDone != nil {
		done, _ = v.call(h, v.fns.onDone, uint64(h.id))
	}
	if uint32(done) == 0 && !v.dead.Load() {
		h.awaitDone = true
		return
	}
	_, _ = v.call(h, v.fns.onDelete, uint64(h.id))
	delete(v.contexts, h.id)
}

// post runs fn on the vm after the calls already posted, never inline: the
// asynchronous deliveries (callout answers, ticks, queue notifications) go
// through it so that they reach the guest in order and one at a time, and
// never from inside another guest call.
func (v *vm) post(fn func()) {
	v.asyncMu.Lock()
	v.async = append(v.async, fn)
	start := !v.draining
	v.draining = true
	v.asyncMu.Unlock()
	if start && !v.rt.spawn(v.drain) {
		v.asyncMu.Lock()
		v.async, v.draining = nil, false
		v.asyncMu.Unlock()
	}
}

func (v *vm) drain() {
	for {
		v.asyncMu.Lock()
		if len(v.async) == 0 {
			v.draining = false
			v.async = nil
			v.asyncMu.Unlock()
			return
		}
		fn := v.async[0]
		v.async[0] = nil
		v.async = v.async[1:]
		v.asyncMu.Unlock()
		fn()
	}
}

// current returns the context host functions act on: the effective
// context if one was set, else the one the callback was called for. It is
// nil during start functions.
func (v *vm) current() *hctx {
	if v.eff != nil {
		return v.eff
	}
	return v.cur
}

// pluginName names the plugin whose context is current, or the module.
func (v *vm) pluginName() string {
	if h := v.current(); h != nil {
		return h.cfg.name
	}
	return v.pool.vmID
}

// guestLog writes a plugin's log line (proxy_log, stdout, stderr).
func (v *vm) guestLog(level slog.Level, msg string) {
	if v.capturing && level >= slog.LevelWarn {
		v.capture = append(v.capture, msg)
	}
	lg := v.rt.opts.Logger
	if !lg.Enabled(v.ctx, level) {
		return
	}
	lg.LogAttrs(context.Background(), level, msg, slog.String("plugin", v.pluginName()))
}

// Guest memory. Reads return views of linear memory that the next
// allocation may invalidate: copy first (proxy-wasm.md §9.3).

func (v *vm) read(ptr, n uint32) ([]byte, bool) { return v.mem.Read(ptr, n) }

func (v *vm) putU32(ptr, val uint32) bool { return v.mem.WriteUint32Le(ptr, val) }

func (v *vm) putU64(ptr uint32, val uint64) bool { return v.mem.WriteUint64Le(ptr, val) }

// alloc calls the guest allocator. A trap in it breaks the vm: the panic
// makes the running host call fail.
func (v *vm) alloc(n int) uint32 {
	v.allocStack[0] = uint64(uint32(n))
	if err := v.fns.malloc.CallWithStack(v.ctx, v.allocStack); err != nil {
		panic(fmt.Errorf("guest allocator %s: %w", v.pool.info.allocator, err))
	}
	return uint32(v.allocStack[0])
}

// returnBytes hands data to the guest: a fresh allocation holding a copy,
// whose address and length are written at retPtr and retLen. Empty data is
// (0, 0) without allocating. data must not alias guest memory.
func (v *vm) returnBytes(data []byte, retPtr, retLen uint32) abi.Status {
	if len(data) == 0 {
		if !v.putU32(retPtr, 0) || !v.putU32(retLen, 0) {
			return abi.StatusInvalidMemoryAccess
		}
		return abi.StatusOK
	}
	if len(data) > int(^uint32(0)>>1) {
		return abi.StatusInvalidMemoryAccess
	}
	p := v.alloc(len(data))
	if p == 0 || !v.mem.Write(p, data) {
		return abi.StatusInvalidMemoryAccess
	}
	if !v.putU32(retPtr, p) || !v.putU32(retLen, uint32(len(data))) {
		return abi.StatusInvalidMemoryAccess
	}
	return abi.StatusOK
}

// returnString is returnBytes for a string, copied once into the vm's
// scratch buffer.
func (v *vm) returnString(s string, retPtr, retLen uint32) abi.Status {
	v.buf = append(v.buf[:0], s...)
	return v.returnBytes(v.buf, retPtr, retLen)
}

// callbackName is the proxy-wasm name of an exported callback without
// "proxy_on_" ("request_headers"), for metrics and traces.
func callbackName(fn api.Function) string {
	if names := fn.Definition().ExportNames(); len(names) > 0 {
		return strings.TrimPrefix(names[0], "proxy_on_")
	}
	return fn.Definition().Name()
}
