// Package wasm runs sluice's plugins: proxy-wasm (ABI 0.2.1, and the 0.2.0
// marker the Go SDK exports) modules on wazero, with the HTTP-filter host
// functions as Envoy implements them (shared/reference/proxy-wasm.md). It
// sees requests only through the Stream interface, which host/proxy
// implements.
//
// # Use
//
//	rt, err := wasm.NewRuntime(ctx, wasm.Options{...})    // once per process
//	set, err := rt.Load(ctx, cfg.Plugins, pluginDir)      // per config generation
//	chain, err := set.Chain(location.Plugins)             // per location, once
//	f := chain.NewFilter(stream)                          // per request
//	res := f.OnRequestHeaders(ctx, eos)                   // ... then bodies, trailers,
//	res = f.OnResponseHeaders(ctx, eos)                   // response side
//	f.Done()                                              // always
//	set.Close()                                           // generation retired
//
// # Model
//
// A module is compiled once per file content (sha256; machine code cached
// on disk) and checked before anything runs: an ABI marker it speaks, an
// allocator, an exported memory, exact signatures of the callbacks and of
// the host functions it imports. Imports sluice does not provide are linked
// to stubs with the guest's own signature that answer UNIMPLEMENTED (ENOSYS
// for WASI) and are logged at load.
//
// Each module has Options.VMs VMs (instances). Every plugin config using
// the module is a root context in each VM (Envoy's model: memory grows with
// modules, not configs), created with proxy_on_context_create,
// proxy_on_vm_start and proxy_on_configure with the plugin's TOML table as
// JSON; a false answer fails Load with what the plugin logged. The first VM
// configured acts as the canary.
//
// A request's stream context for a plugin is pinned to one VM, picked round
// robin, for its whole life. A VM runs one guest call at a time (a mutex):
// host calls run on the caller's goroutine. What a callback asks for
// (continue, local response, close, an http callout) is applied after it
// returns. Asynchronous deliveries (callout answers, ticks, queue
// notifications) go to root contexts through a per-VM queue drained by one
// goroutine, under the same mutex; a stream paused by its plugin blocks the
// Filter call until such a delivery resumes it.
//
// # Sandbox
//
// Each VM's linear memory is capped (Options.MemoryLimitPages). Each
// callback has a time budget (Options.CallTimeout): the runtime is built
// with wazero's WithCloseOnContextDone, every call gets the VM's context,
// and a watchdog cancels that context when a call outlives the budget,
// which makes wazero stop the guest at its next loop back-edge or host
// call. The watchdog counts the time the process ran, not wall time: a
// pause of the whole process is no guest's fault. Any guest error (trap, Go panic, proc_exit, timeout, a trap in the
// allocator) kills that VM only: the streams pinned to it fail per their
// plugin's fail_policy ("closed": the Filter returns Fail and the proxy
// answers 500; "open": the plugin is skipped for the rest of the stream),
// an error is logged, Options.Observer is told, and a fresh VM replaces it
// after a back-off that grows while replacements keep dying young. Guests
// see WASI with real clocks, crypto random, stdout/stderr turned into log
// lines, no files, no network, no sleeping.
//
// The budget's cost, measured with BenchmarkChain (whole request
// lifecycle: six guest calls per plugin; 2-core VM, shared, go1.26,
// wazero 1.12; median per plugin per request):
//
//	guest                          budget on   budget off
//	WAT no-op (testdata/wasm)      2.0-2.3 µs  0.4 µs
//	Go SDK no-op (plugins/noop)    6.9-7.6 µs  1.6 µs
//
// With the budget on, wazero starts a goroutine per guest call (18
// allocations per request per plugin, all wazero's) and exits to Go at
// every loop back-edge of the guest to see whether it was stopped; Go
// guests run many small loops, hence their larger cost. With it off the
// hot path allocates nothing. Options.CallTimeout < 0 turns it off for the
// whole runtime (trusted plugins only: a looping plugin then holds a CPU
// for good).
//
// # Reload
//
// Load shares modules, VMs and root contexts with earlier generations when
// the file content and the plugin config are unchanged; Set.Close releases
// them once their streams end. The watcher of the plugin directory (and
// ReloadFile) replaces a changed module in place: compile, configure a
// canary VM with every config using the file, start the other VMs, then
// switch atomically; streams in flight finish on the old VMs. A broken file
// leaves the old module running.
//
// # Concurrency
//
// Runtime, Set and Chain are safe for concurrent use. A Filter belongs to
// one request and is used from one goroutine.
package wasm
