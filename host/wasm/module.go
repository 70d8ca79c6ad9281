package wasm

import (
	"context"
	"fmt"
	"sort"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/sluice-proxy/sluice/abi"
)

// moduleInfo is what the load-time checks learned about a module.
type moduleInfo struct {
	abiVersion string // abi.MarkerV0_2_1 or abi.MarkerV0_2_0
	allocator  string // abi.FuncMalloc or abi.FuncOnMemoryAllocate
	start      string // abi.StartInitialize, abi.StartStart or ""
	main       string // abi.StartMain, abi.StartMainVoid or "" (after _initialize)
}

func sigOf(d api.FunctionDefinition) abi.Signature {
	s := abi.Signature{Params: make([]abi.ValType, len(d.ParamTypes())), Results: make([]abi.ValType, len(d.ResultTypes()))}
	for i, t := range d.ParamTypes() {
		s.Params[i] = abi.ValType(t)
	}
	for i, t := range d.ResultTypes() {
		s.Results[i] = abi.ValType(t)
	}
	return s
}

func valueTypes(ts []abi.ValType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = api.ValueType(t)
	}
	return out
}

var (
	sigVoid      = abi.Signature{}
	sigMain      = abi.Signature{Params: []abi.ValType{abi.I32, abi.I32}, Results: []abi.ValType{abi.I32}}
	sigMainVoid  = abi.Signature{Results: []abi.ValType{abi.I32}}
	sigAllocator = abi.Signature{Params: []abi.ValType{abi.I32}, Results: []abi.ValType{abi.I32}}
)

// checkModule verifies, before anything runs, that a compiled module is a
// proxy-wasm plugin sluice can run: an ABI marker it speaks, an allocator,
// an exported memory, start functions and callbacks with the signatures the
// host will call them with, and no imports other than functions.
func checkModule(cm wazero.CompiledModule) (moduleInfo, error) {
	var info moduleInfo
	exports := cm.ExportedFunctions()
	switch {
	case exports[abi.MarkerV0_2_1] != nil:
		info.abiVersion = abi.MarkerV0_2_1
	case exports[abi.MarkerV0_2_0] != nil:
		info.abiVersion = abi.MarkerV0_2_0
	case exports[abi.MarkerV0_1_0] != nil:
		return info, fmt.Errorf("module speaks proxy-wasm ABI 0.1.0; sluice runs 0.2.0 and 0.2.1 (rebuild it with a current SDK)")
	default:
		return info, fmt.Errorf("not a proxy-wasm module: it exports neither %s nor %s", abi.MarkerV0_2_1, abi.MarkerV0_2_0)
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return info, fmt.Errorf("module does not export its memory as \"memory\"")
	}
	for _, d := range cm.ImportedMemories() {
		mod, name, _ := d.Import()
		return info, fmt.Errorf("module imports memory %s.%s; a plugin must define its own memory", mod, name)
	}
	// Envoy prefers malloc when both allocators exist (TinyGo exports both).
	for _, name := range []string{abi.FuncMalloc, abi.FuncOnMemoryAllocate} {
		if d := exports[name]; d != nil {
			if got := sigOf(d); !got.Equal(sigAllocator) {
				return info, fmt.Errorf("allocator %s has signature %s, want %s", name, got, sigAllocator)
			}
			info.allocator = name
			break
		}
	}
	if info.allocator == "" {
		return info, fmt.Errorf("module exports no allocator (%s or %s)", abi.FuncMalloc, abi.FuncOnMemoryAllocate)
	}
	check := func(name string, want abi.Signature) error {
		if got := sigOf(exports[name]); !got.Equal(want) {
			return fmt.Errorf("export %s has signature %s, want %s", name, got, want)
		}
		return nil
	}
	switch {
	case exports[abi.StartInitialize] != nil:
		info.start = abi.StartInitialize
		if err := check(abi.StartInitialize, sigVoid); err != nil {
			return info, err
		}
		if d := exports[abi.StartMain]; d != nil && sigOf(d).Equal(sigMain) {
			info.main = abi.StartMain
		} else if d := exports[abi.StartMainVoid]; d != nil && sigOf(d).Equal(sigMainVoid) {
			info.main = abi.StartMainVoid
		}
	case exports[abi.StartStart] != nil:
		info.start = abi.StartStart
		if err := check(abi.StartStart, sigVoid); err != nil {
			return info, err
		}
		// Neither: a library built for wasm32-unknown-unknown (Rust cdylib)
		// has no start function; Envoy runs it as is.
	}
	for _, cb := range abi.Callbacks {
		if cb.Name == abi.FuncMalloc || cb.Name == abi.FuncOnMemoryAllocate || exports[cb.Name] == nil {
			continue
		}
		if err := check(cb.Name, cb.Signature); err != nil {
			return info, err
		}
	}
	return info, nil
}

// linker builds, for one compiled module, the host modules its imports
// resolve to. Every function the module imports is provided: the proxy-wasm
// host functions (with their exact signatures, or the load fails), WASI
// (wazero's, with sluice's proc_exit), a few Emscripten helpers, and for
// anything else a stub with the guest's own signature that returns
// UNIMPLEMENTED (ENOSYS for WASI), so that a module importing a function
// sluice lacks still loads and fails only if it calls it.
func (rt *Runtime) link(ctx context.Context, r wazero.Runtime, cm wazero.CompiledModule) (map[string]api.Module, []string, error) {
	byModule := map[string][]api.FunctionDefinition{}
	for _, d := range cm.ImportedFunctions() {
		mod, _, _ := d.Import()
		byModule[mod] = append(byModule[mod], d)
	}
	names := make([]string, 0, len(byModule))
	for m := range byModule {
		names = append(names, m)
	}
	sort.Strings(names)

	out := map[string]api.Module{}
	var stubbed []string
	for _, modName := range names {
		b := r.NewHostModuleBuilder(modName)
		wasi := modName == abi.ModuleWASI || modName == abi.ModuleWASIUnstable
		if wasi {
			wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
			b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(wasiProcExit), []api.ValueType{api.ValueTypeI32}, nil).
				WithParameterNames("rval").Export("proc_exit")
		}
		for _, d := range byModule[modName] {
			_, name, _ := d.Import()
			got := sigOf(d)
			switch {
			case modName == abi.ModuleEnv:
				if hf, ok := hostFuncs[name]; ok {
					want, _ := abi.Lookup(abi.HostFunctions, name)
					if !got.Equal(want.Signature) {
						return nil, nil, fmt.Errorf("import %s.%s has signature %s, want %s", modName, name, got, want.Signature)
					}
					b.NewFunctionBuilder().WithGoModuleFunction(hf, valueTypes(want.Params), valueTypes(want.Results)).
						WithParameterNames(want.ParamNames...).Export(name)
					continue
				}
				if cf, ok := compatFuncs[name]; ok && got.Equal(cf.sig) {
					b.NewFunctionBuilder().WithGoModuleFunction(cf.fn, valueTypes(cf.sig.Params), valueTypes(cf.sig.Results)).Export(name)
					continue
				}
			case wasi:
				if ref, ok := rt.wasiRef[name]; ok {
					if want := sigOf(ref); !got.Equal(want) {
						return nil, nil, fmt.Errorf("import %s.%s has signature %s, want %s", modName, name, got, want)
					}
					continue
				}
			}
			code := uint64(abi.StatusUnimplemented)
			if wasi {
				code = wasiErrnoNosys
			}
			b.NewFunctionBuilder().WithGoModuleFunction(stub(got.Results, code), valueTypes(got.Params), valueTypes(got.Results)).Export(name)
			stubbed = append(stubbed, fmt.Sprintf("%s.%s %s", modName, name, got))
		}
		hcm, err := b.Compile(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("linking imports from %s: %w", modName, err)
		}
		inst, err := r.InstantiateModule(ctx, hcm, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			return nil, nil, fmt.Errorf("linking imports from %s: %w", modName, err)
		}
		out[modName] = inst
	}
	return out, stubbed, nil
}

// wasiErrnoNosys is WASI's ENOSYS.
const wasiErrnoNosys = 52

// stub returns a host function that answers code if its only result is an
// i32, and zeros otherwise.
func stub(results []abi.ValType, code uint64) api.GoModuleFunc {
	return func(_ context.Context, _ api.Module, stack []uint64) {
		for i := range results {
			stack[i] = 0
		}
		if len(results) == 1 && results[0] == abi.I32 {
			stack[0] = code
		}
	}
}

// compatFunc is a non-proxy-wasm import some toolchains emit.
type compatFunc struct {
	sig abi.Signature
	fn  api.GoModuleFunc
}

var compatFuncs = map[string]compatFunc{
	// Emscripten (C++ SDK): told when memory grows; nothing to do.
	"emscripten_notify_memory_growth": {
		sig: abi.Signature{Params: []abi.ValType{abi.I32}},
		fn:  func(context.Context, api.Module, []uint64) {},
	},
	// Emscripten's pthread_equal, for single-threaded builds.
	"pthread_equal": {
		sig: abi.Signature{Params: []abi.ValType{abi.I32, abi.I32}, Results: []abi.ValType{abi.I32}},
		fn: func(_ context.Context, _ api.Module, stack []uint64) {
			if uint32(stack[0]) == uint32(stack[1]) {
				stack[0] = 1
			} else {
				stack[0] = 0
			}
		},
	},
}
