package sdktest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// These tests run built-in plugins compiled to Wasm (GOOS=wasip1) under
// wazero, with every proxy-wasm import bridged to the fake host: the same
// sdktest scenarios, but through the SDK's go:wasmimport/go:wasmexport
// side, its allocator and its pinning of host-allocated buffers.

var builds sync.Map // package path → []byte

func buildPlugin(t testing.TB, pkg string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("building a Wasm plugin takes seconds; skipped in -short mode")
	}
	if b, ok := builds.Load(pkg); ok {
		return b.([]byte)
	}
	out := filepath.Join(t.TempDir(), "plugin.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, "./"+pkg)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	builds.Store(pkg, b)
	return b
}

// wasmVM is a plugin module instance; it implements hostcall.Guest by
// calling the module's exports.
type wasmVM struct {
	t   testing.TB
	ctx context.Context
	mod api.Module
	h   *fake
	fns map[string]api.Function // wazero allocates a call engine per lookup
}

var _ hostcall.Guest = (*wasmVM)(nil)

// newWasmHost starts the module under wazero and returns a Host driving it.
func newWasmHost(t testing.TB, wasm []byte, opts ...Option) *Host {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	vm := &wasmVM{t: t, ctx: ctx, fns: map[string]api.Function{}}
	env := r.NewHostModuleBuilder(abi.ModuleEnv)
	for _, f := range abi.HostFunctions {
		params := make([]api.ValueType, len(f.Params))
		for i, p := range f.Params {
			params[i] = api.ValueType(p)
		}
		name := f.Name
		env.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
			stack[0] = uint64(vm.hostcall(name, m, stack))
		}), params, []api.ValueType{api.ValueTypeI32}).Export(name)
	}
	if _, err := env.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := wazero.NewModuleConfig().WithStartFunctions(abi.StartInitialize).
		WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader).WithStderr(os.Stderr)
	mod, err := r.InstantiateWithConfig(ctx, wasm, cfg)
	if err != nil {
		t.Fatalf("instantiating the plugin: %v", err)
	}
	vm.mod = mod
	h := New(t, append(opts, func(h *Host) { h.guest = vm })...)
	vm.h = (*fake)(h)
	return h
}

func (w *wasmVM) call(name string, args ...uint64) uint64 {
	w.t.Helper()
	res, err := w.fn(name).Call(w.ctx, args...)
	if err != nil {
		w.t.Fatalf("calling %s%v: %v", name, args, err)
	}
	if len(res) == 0 {
		return 0
	}
	return res[0]
}

func (w *wasmVM) fn(name string) api.Function {
	f, ok := w.fns[name]
	if !ok {
		f = w.mod.ExportedFunction(name)
		w.fns[name] = f
	}
	return f
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func (w *wasmVM) OnContextCreate(id, parent uint32) {
	w.call(abi.CallbackOnContextCreate, uint64(id), uint64(parent))
}
func (w *wasmVM) OnVMStart(id, n uint32) bool {
	return w.call(abi.CallbackOnVMStart, uint64(id), uint64(n)) != 0
}
func (w *wasmVM) OnConfigure(id, n uint32) bool {
	return w.call(abi.CallbackOnConfigure, uint64(id), uint64(n)) != 0
}
func (w *wasmVM) OnTick(id uint32)          { w.call(abi.CallbackOnTick, uint64(id)) }
func (w *wasmVM) OnQueueReady(id, q uint32) { w.call(abi.CallbackOnQueueReady, uint64(id), uint64(q)) }
func (w *wasmVM) OnRequestHeaders(id, n uint32, eos bool) abi.Action {
	return abi.Action(w.call(abi.CallbackOnRequestHeaders, uint64(id), uint64(n), b2u(eos)))
}
func (w *wasmVM) OnRequestBody(id, n uint32, eos bool) abi.Action {
	return abi.Action(w.call(abi.CallbackOnRequestBody, uint64(id), uint64(n), b2u(eos)))
}
func (w *wasmVM) OnRequestTrailers(id, n uint32) abi.Action {
	return abi.Action(w.call(abi.CallbackOnRequestTrailers, uint64(id), uint64(n)))
}
func (w *wasmVM) OnResponseHeaders(id, n uint32, eos bool) abi.Action {
	return abi.Action(w.call(abi.CallbackOnResponseHeaders, uint64(id), uint64(n), b2u(eos)))
}
func (w *wasmVM) OnResponseBody(id, n uint32, eos bool) abi.Action {
	return abi.Action(w.call(abi.CallbackOnResponseBody, uint64(id), uint64(n), b2u(eos)))
}
func (w *wasmVM) OnResponseTrailers(id, n uint32) abi.Action {
	return abi.Action(w.call(abi.CallbackOnResponseTrailers, uint64(id), uint64(n)))
}
func (w *wasmVM) OnHTTPCallResponse(root, token, nh, nb, nt uint32) {
	w.call(abi.CallbackOnHTTPCallResponse, uint64(root), uint64(token), uint64(nh), uint64(nb), uint64(nt))
}
func (w *wasmVM) OnLog(id uint32)       { w.call(abi.CallbackOnLog, uint64(id)) }
func (w *wasmVM) OnDone(id uint32) bool { return w.call(abi.CallbackOnDone, uint64(id)) != 0 }
func (w *wasmVM) OnDelete(id uint32)    { w.call(abi.CallbackOnDelete, uint64(id)) }
func (w *wasmVM) StreamCallbacks(root uint32) abi.StreamCallbacks {
	return abi.StreamCallbacks(w.call(abi.CallbackStreamCallbacks, uint64(root)))
}

// hostcall serves one import: it decodes the arguments from guest memory,
// calls the fake and writes the results back, allocating through the
// guest's proxy_on_memory_allocate.
func (w *wasmVM) hostcall(name string, m api.Module, s []uint64) abi.Status {
	mem := m.Memory()
	u := func(i int) uint32 { return uint32(s[i]) }
	bytesAt := func(i int) []byte {
		if u(i+1) == 0 {
			return nil
		}
		b, ok := mem.Read(u(i), u(i+1))
		if !ok {
			w.t.Fatalf("%s: argument %d out of memory", name, i)
		}
		return append([]byte(nil), b...)
	}
	str := func(i int) string { return string(bytesAt(i)) }
	put32 := func(addr, v uint32) { mem.WriteUint32Le(addr, v) }
	ret := func(data []byte, i int) {
		if len(data) == 0 {
			put32(u(i), 0)
			put32(u(i+1), 0)
			return
		}
		res, err := w.fn(abi.FuncOnMemoryAllocate).Call(w.ctx, uint64(len(data)))
		if err != nil {
			w.t.Fatalf("%s: allocating %d bytes: %v", name, len(data), err)
		}
		ptr := uint32(res[0])
		mem.Write(ptr, data)
		put32(u(i), ptr)
		put32(u(i+1), uint32(len(data)))
	}
	f := w.h
	switch name {
	case abi.FuncLog:
		return f.Log(abi.LogLevel(u(0)), str(1))
	case abi.FuncGetLogLevel:
		l, st := f.GetLogLevel()
		put32(u(0), uint32(l))
		return st
	case abi.FuncGetCurrentTimeNanoseconds:
		t, st := f.GetCurrentTimeNanoseconds()
		mem.WriteUint64Le(u(0), t)
		return st
	case abi.FuncSetTickPeriodMilliseconds:
		return f.SetTickPeriodMilliseconds(u(0))
	case abi.FuncGetBufferBytes:
		b, st := f.GetBufferBytes(abi.BufferType(u(0)), u(1), u(2))
		if st == abi.StatusOK {
			ret(b, 3)
		}
		return st
	case abi.FuncSetBufferBytes:
		return f.SetBufferBytes(abi.BufferType(u(0)), u(1), u(2), bytesAt(3))
	case abi.FuncGetBufferStatus:
		n, fl, st := f.GetBufferStatus(abi.BufferType(u(0)))
		put32(u(1), n)
		put32(u(2), fl)
		return st
	case abi.FuncGetHeaderMapPairs:
		b, st := f.GetHeaderMapPairs(abi.MapType(u(0)))
		if st == abi.StatusOK {
			ret(b, 1)
		}
		return st
	case abi.FuncSetHeaderMapPairs:
		return f.SetHeaderMapPairs(abi.MapType(u(0)), bytesAt(1))
	case abi.FuncGetHeaderMapValue:
		b, st := f.GetHeaderMapValue(abi.MapType(u(0)), str(1))
		if st == abi.StatusOK {
			ret(b, 3)
		}
		return st
	case abi.FuncAddHeaderMapValue:
		return f.AddHeaderMapValue(abi.MapType(u(0)), str(1), str(3))
	case abi.FuncReplaceHeaderMapValue:
		return f.ReplaceHeaderMapValue(abi.MapType(u(0)), str(1), str(3))
	case abi.FuncRemoveHeaderMapValue:
		return f.RemoveHeaderMapValue(abi.MapType(u(0)), str(1))
	case abi.FuncGetHeaderMapSize:
		n, st := f.GetHeaderMapSize(abi.MapType(u(0)))
		put32(u(1), n)
		return st
	case abi.FuncContinueStream:
		return f.ContinueStream(abi.StreamType(u(0)))
	case abi.FuncCloseStream:
		return f.CloseStream(abi.StreamType(u(0)))
	case abi.FuncSendLocalResponse:
		return f.SendLocalResponse(u(0), str(1), bytesAt(3), bytesAt(5), int32(u(7)))
	case abi.FuncGetStatus:
		code, msg, st := f.GetStatus()
		put32(u(0), code)
		ret(msg, 1)
		return st
	case abi.FuncHTTPCall:
		tok, st := f.HTTPCall(str(0), bytesAt(2), bytesAt(4), bytesAt(6), u(8))
		put32(u(9), tok)
		return st
	case abi.FuncGetSharedData:
		v, cas, st := f.GetSharedData(str(0))
		if st == abi.StatusOK {
			ret(v, 2)
			put32(u(4), cas)
		}
		return st
	case abi.FuncSetSharedData:
		return f.SetSharedData(str(0), bytesAt(2), u(4))
	case abi.FuncRegisterSharedQueue:
		id, st := f.RegisterSharedQueue(str(0))
		put32(u(2), id)
		return st
	case abi.FuncResolveSharedQueue:
		id, st := f.ResolveSharedQueue(str(0), str(2))
		put32(u(4), id)
		return st
	case abi.FuncEnqueueSharedQueue:
		return f.EnqueueSharedQueue(u(0), bytesAt(1))
	case abi.FuncDequeueSharedQueue:
		b, st := f.DequeueSharedQueue(u(0))
		if st == abi.StatusOK {
			ret(b, 1)
		}
		return st
	case abi.FuncDefineMetric:
		id, st := f.DefineMetric(abi.MetricType(u(0)), str(1))
		put32(u(3), id)
		return st
	case abi.FuncIncrementMetric:
		return f.IncrementMetric(u(0), int64(s[1]))
	case abi.FuncRecordMetric:
		return f.RecordMetric(u(0), int64(s[1]))
	case abi.FuncGetMetric:
		v, st := f.GetMetric(u(0))
		mem.WriteUint64Le(u(1), v)
		return st
	case abi.FuncGetProperty:
		b, st := f.GetProperty(str(0))
		if st == abi.StatusOK {
			ret(b, 2)
		}
		return st
	case abi.FuncSetProperty:
		return f.SetProperty(str(0), bytesAt(2))
	case abi.FuncSetEffectiveContext:
		return f.SetEffectiveContext(u(0))
	case abi.FuncDone:
		return f.Done()
	case abi.FuncCallForeignFunction:
		b, st := f.CallForeignFunction(str(0), bytesAt(2))
		if st == abi.StatusOK {
			ret(b, 4)
		}
		return st
	}
	return abi.StatusUnimplemented
}

func TestWasmPing(t *testing.T) {
	wasm := buildPlugin(t, "plugins-wasm/ping")
	h := newWasmHost(t, wasm)
	if err := h.Configure(`{"path":"/ping"}`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s := h.NewStream()
		a := s.SendRequestHeaders(Get("/ping?n="+strconv.Itoa(i)), true)
		if lr := s.LocalResponse(); a != abi.ActionPause || lr == nil || lr.Status != 200 || string(lr.Body) != "pong" {
			t.Fatalf("request %d: action %v, response %+v", i, a, lr)
		}
		s.Complete()
	}
	s := h.NewStream()
	if a := s.SendRequestHeaders(Get("/other"), true); a != abi.ActionContinue || s.LocalResponse() != nil {
		t.Fatalf("other path: action %v, response %+v", a, s.LocalResponse())
	}
}

func TestWasmConfigRefused(t *testing.T) {
	wasm := buildPlugin(t, "plugins-wasm/ping")
	err := newWasmHost(t, wasm).Configure(`{"pth":"/ping"}`)
	if err == nil || !strings.Contains(err.Error(), `unknown key "pth" (did you mean "path"?)`) {
		t.Fatalf("Configure = %v", err)
	}
}

// TestWasmResponseHeaders drives many streams through a plugin that reads
// whole maps, single values and properties, so that the guest's garbage
// collector runs while host-allocated buffers are in flight.
func TestWasmResponseHeaders(t *testing.T) {
	wasm := buildPlugin(t, "plugins-wasm/response_headers")
	h := newWasmHost(t, wasm)
	err := h.Configure(`{"add_headers":["X-Agent: $http_user_agent","X-Remote: $remote_addr"],
		"remove_headers":["Server"],"set_headers_not_exists":["X-Frame-Options: DENY"],"rename_headers":["X-Old: X-New"]}`)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		n := strconv.Itoa(i)
		s := h.NewStream()
		s.SetProperty("source.address", []byte("10.0.0."+strconv.Itoa(i%250)+":4000"))
		s.SendRequestHeaders(Get("/", "user-agent", "agent-"+n+strings.Repeat("x", i%700)), true)
		s.SendResponseHeaders(Response(200, "server", "x", "x-old", "a"+n, "x-old", "b"+n), true)
		want := [][2]string{{":status", "200"}, {"x-agent", "agent-" + n + strings.Repeat("x", i%700)},
			{"x-remote", "10.0.0." + strconv.Itoa(i%250)}, {"x-frame-options", "DENY"}, {"x-new", "a" + n}, {"x-new", "b" + n}}
		if got := s.ResponseHeaders(); !pairsEqual(got, want) {
			t.Fatalf("stream %d:\n got %v\nwant %v", i, got, want)
		}
		s.Complete()
	}
}

// TestWasmRequestID covers per-stream state, the clock and random numbers
// from inside Wasm.
func TestWasmRequestID(t *testing.T) {
	wasm := buildPlugin(t, "plugins-wasm/request_id")
	h := newWasmHost(t, wasm)
	if err := h.Configure(`{"algorithm":"nanoid","size":12}`); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 200 {
		s := h.NewStream()
		s.SendRequestHeaders(Get("/"), true)
		id := s.RequestHeader("x-request-id")
		s.SendResponseHeaders(Response(200), true)
		if len(id) != 12 || seen[id] || s.ResponseHeader("x-request-id") != id {
			t.Fatalf("id %q (seen %v), echoed %q", id, seen[id], s.ResponseHeader("x-request-id"))
		}
		seen[id] = true
		s.Complete()
	}
}

// TestWasmStats covers shared data and the Go runtime's memory statistics
// from inside Wasm.
func TestWasmStats(t *testing.T) {
	h2 := newWasmHost(t, buildPlugin(t, "plugins-wasm/stats"))
	if err := h2.Configure(`{"path":"/stats"}`); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		s := h2.NewStream()
		s.SendRequestHeaders(Get("/"), true)
		s.Complete()
	}
	s := h2.NewStream()
	s.SendRequestHeaders(Get("/stats"), true)
	body := string(s.LocalResponse().Body)
	if !strings.Contains(body, `"processing":1,"accepted":6,`) || !strings.Contains(body, `"arch":"wasip1/wasm"`) {
		t.Fatalf("stats %s", body)
	}
	v, _, _ := h2.SharedData("sluice.stats.test.counts")
	if binary.LittleEndian.Uint64(v) != 6 {
		t.Errorf("shared accepted %d", binary.LittleEndian.Uint64(v))
	}
}

func pairsEqual(a, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWasmPublicSDK runs the compatibility plugin of testdata/compat, built
// with the public proxy-wasm Go SDK, through the same bridge: the SDK's
// ABI side (imports, exports, allocation) matches what that SDK expects.
func TestWasmPublicSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("compiling a Wasm module takes seconds; skipped in -short mode")
	}
	path := filepath.Join("..", "..", "testdata", "compat", "compat.wasm")
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%s not built (run testdata/compat/build.sh): %v", path, err)
	}
	t.Run("bad configuration", func(t *testing.T) {
		err := newWasmHost(t, wasm).Configure(`{"header": 1}`)
		if err == nil || !strings.Contains(err.Error(), "bad plugin configuration") {
			t.Fatalf("Configure = %v", err)
		}
	})
	t.Run("headers and local response", func(t *testing.T) {
		h := newWasmHost(t, wasm, WithProperty("plugin_name", []byte("compat")))
		if err := h.Configure(`{"header":"x-sdk","value":"yes","path":"/hello"}`); err != nil {
			t.Fatal(err)
		}
		s := h.NewStream()
		if a := s.SendRequestHeaders(Get("/app"), true); a != abi.ActionContinue || s.RequestHeader("x-sdk") != "yes" {
			t.Fatalf("action %v, request x-sdk %q", a, s.RequestHeader("x-sdk"))
		}
		s.SendResponseHeaders(Response(200, "x-sdk", "upstream"), true)
		if got := s.ResponseHeader("x-sdk"); got != "yes" {
			t.Errorf("response x-sdk %q", got)
		}
		s.Complete()
		s = h.NewStream()
		if a := s.SendRequestHeaders(Get("/hello"), true); a != abi.ActionPause {
			t.Fatalf("action %v; want Pause", a)
		}
		lr := s.LocalResponse()
		if lr == nil || lr.Status != 200 || string(lr.Body) != "hello from compat (4 request headers)" || lr.Header("x-sdk") != "yes" {
			t.Fatalf("local response %+v", lr)
		}
		if n, ok := h.Metric("compat_requests_total"); !ok || n != 2 {
			t.Errorf("compat_requests_total = %d, %v; want 2", n, ok)
		}
	})
}

// BenchmarkWasmLifecycle measures a whole stream (create, request headers,
// response headers, log, done, delete) through a built plugin under wazero
// and this package's fake host: an upper bound for the guest's share of a
// request in sluice, whose host functions are leaner than the fake's.
func BenchmarkWasmLifecycle(b *testing.B) {
	for _, tc := range []struct{ name, pkg, config string }{
		{"noop", "plugins-wasm/noop", `{}`},
		{"ping-miss", "plugins-wasm/ping", `{"path":"/ping"}`},
		{"request_id", "plugins-wasm/request_id", `{}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := newWasmHost(b, buildPlugin(b, tc.pkg))
			if err := h.Configure(tc.config); err != nil {
				b.Fatal(err)
			}
			req, resp := Get("/app"), Response(200)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				s := h.NewStream()
				s.SendRequestHeaders(req, true)
				s.SendResponseHeaders(resp, true)
				s.Complete()
			}
		})
	}
}
