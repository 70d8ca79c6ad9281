package wasm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// TestLoadErrors checks that a module or config that cannot run is refused
// at load, with an error naming the plugin, the file and the reason, and
// that every problem is reported at once.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("\x00asm not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		plugin *config.Plugin
		want   []string
	}{
		{"no marker", plug(guest(t, "bad_nomarker"), nil), []string{"bad_nomarker.wasm", "not a proxy-wasm module"}},
		{"abi 0.1.0", plug(guest(t, "bad_v010"), nil), []string{"ABI 0.1.0"}},
		{"no allocator", plug(guest(t, "bad_noalloc"), nil), []string{"no allocator"}},
		{"callback signature", plug(guest(t, "bad_signature"), nil), []string{"export proxy_on_request_headers has signature (i32, i32) -> i32, want (i32, i32, i32) -> i32"}},
		{"import signature", plug(guest(t, "bad_import"), nil), []string{"import env.proxy_log has signature (i32) -> i32, want (i32, i32, i32) -> i32"}},
		{"start traps", plug(guest(t, "bad_start"), nil), []string{"running _initialize", "unreachable"}},
		{"config rejected", plug(guest(t, "reject"), map[string]any{"x": 1}), []string{"configuring", "rejected its configuration", "missing required key: realm"}},
		{"missing file", plug(filepath.Join(dir, "absent.wasm"), nil), []string{"absent.wasm", "reading module"}},
		{"not wasm", plug(garbage, nil), []string{"garbage.wasm", "compiling"}},
		{"bad fail policy", &config.Plugin{Wasm: guest(t, "noop"), FailPolicy: "sometimes"}, []string{`fail_policy "sometimes"`}},
		{"no module", &config.Plugin{}, []string{"neither category nor wasm"}},
		{"category with a path", &config.Plugin{Category: "../etc/x"}, []string{"not a plain name"}},
	}
	rt := newRuntime(t, nil, wasm.Options{VMs: 1})
	all := map[string]*config.Plugin{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all[tt.name] = tt.plugin
			_, err := rt.Load(context.Background(), map[string]*config.Plugin{"p1": tt.plugin}, dir)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range append(tt.want, `plugin "p1"`) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("every error at once", func(t *testing.T) {
		all["fine"] = plug(guest(t, "noop"), nil)
		_, err := rt.Load(context.Background(), all, dir)
		if err == nil {
			t.Fatal("Load succeeded")
		}
		for name := range all {
			if got := strings.Contains(err.Error(), fmt.Sprintf("%q", name)); got != (name != "fine") {
				t.Errorf("error mentions %q: %v; error:\n%v", name, got, err)
			}
		}
		if n := wasm.Modules(rt); n != 0 {
			t.Errorf("%d modules left loaded after a failed Load", n)
		}
	})
}

// TestCategory loads "<category>.wasm" from the plugin dir and passes the
// plugin's params plus step as JSON.
func TestCategory(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, guest(t, "hostcalls"), filepath.Join(dir, "hc.wasm"))
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 1})
	set, err := rt.Load(context.Background(), map[string]*config.Plugin{
		"x": {Category: "hc", Step: "request", Remark: "not passed", Params: map[string]any{"path": "/ping", "n": int64(3)}},
	}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if _, ok := l.find(`config:{"n":3,"path":"/ping","step":"request"}`); !ok {
		t.Fatalf("config not passed as JSON: %q", l.messages("x"))
	}
	if got := set.Plugins(); len(got) != 1 || got[0] != "x" {
		t.Fatalf("Plugins() = %q", got)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	tmp := to + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}

// TestStubbedImports checks that imports sluice lacks are linked to stubs
// with the guest's signature, logged at load, answering UNIMPLEMENTED (12),
// zero, or ENOSYS (52) for WASI.
func TestStubbedImports(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 1})
	set := load(t, rt, map[string]*config.Plugin{"s": plug(guest(t, "stubs"), nil)})
	for _, imp := range []string{"env.proxy_grpc_call", "other.thing (i64) -> i64", "wasi_snapshot_preview1.not_in_wasi"} {
		found := false
		for _, r := range l.records {
			if strings.Contains(r.attrs["import"], imp) {
				found = true
			}
		}
		if !found {
			t.Errorf("no load warning for %s", imp)
		}
	}
	f := chain(t, set, "s").NewFilter(newReq("/"))
	f.OnRequestHeaders(context.Background(), true)
	f.Done()
	if got, want := strings.Join(l.messages("s"), ","), "grpc_call=12,other_thing=0,not_in_wasi=52,from wasi_unstable,fd_write_unstable=0"; got != want {
		t.Fatalf("stub results %s; want %s", got, want)
	}
}

// TestCommandModule runs a WASI command whose _start ends with
// proc_exit(0), as TinyGo builds do.
func TestCommandModule(t *testing.T) {
	rt := newRuntime(t, nil, wasm.Options{VMs: 1})
	set := load(t, rt, map[string]*config.Plugin{"cmd": plug(guest(t, "command"), nil)})
	s := newReq("/")
	f := chain(t, set, "cmd").NewFilter(s)
	f.OnRequestHeaders(context.Background(), true)
	f.Done()
	if got := first(s, abi.MapHTTPRequestHeaders, "x-started"); got != "yes" {
		t.Fatalf("x-started = %q; want yes (state from _start kept)", got)
	}
}

// TestTicks checks on_tick delivery (a counter the plugin increments) and a
// request held until a tick resumes it through its effective context.
func TestTicks(t *testing.T) {
	rt := newRuntime(t, nil, wasm.Options{VMs: 1})
	set := load(t, rt, map[string]*config.Plugin{"tick": plug(guest(t, "tick"), nil)})
	ticks := func() int64 {
		var n int64
		rt.EachMetric(func(m wasm.MetricSample) {
			if m.Plugin == "tick" && m.Name == "ticks" {
				n = m.Value
			}
		})
		return n
	}
	waitFor(t, "3 ticks", func() bool { return ticks() >= 3 })
	start := time.Now()
	f := chain(t, set, "tick").NewFilter(newReq("/"))
	r := f.OnRequestHeaders(context.Background(), true)
	f.Done()
	if r.Outcome != wasm.Continue || time.Since(start) > 5*time.Second {
		t.Fatalf("held request: %+v after %v; want Continue at the next tick", r, time.Since(start))
	}
	set.Close()
	n := ticks()
	time.Sleep(50 * time.Millisecond)
	if ticks() != n {
		t.Fatal("ticks go on after the plugin was unloaded")
	}
}

// TestQueue enqueues from requests on two VMs; the registering root gets
// proxy_on_queue_ready and dequeues every item.
func TestQueue(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 2})
	set := load(t, rt, map[string]*config.Plugin{"q": plug(guest(t, "queue"), nil)})
	c := chain(t, set, "q")
	for i := 0; i < 10; i++ {
		f := c.NewFilter(newReq(fmt.Sprintf("/job%d", i)))
		f.OnRequestHeaders(context.Background(), true)
		f.Done()
	}
	waitFor(t, "10 items dequeued", func() bool {
		n := 0
		for _, m := range l.messages("q") {
			if strings.HasPrefix(m, "dequeued:/job") {
				n++
			}
		}
		return n == 10
	})
	for _, m := range l.messages("q") {
		if strings.HasPrefix(m, "enqueue=") && m != "enqueue=0" || strings.HasPrefix(m, "register=") && m != "register=0" {
			t.Errorf("unexpected %s", m)
		}
	}
}

// TestSharedDataCAS increments a shared counter with compare-and-swap from
// many goroutines over four VMs: no increment is lost, including the
// first, which creates the key with the CAS get_shared_data returned with
// NOT_FOUND. Regression: that first write used to be unconditional, and
// the e2e limit test once let 31 of a burst through where 30 were allowed.
func TestSharedDataCAS(t *testing.T) {
	rt := newRuntime(t, nil, wasm.Options{VMs: 4})
	set := load(t, rt, map[string]*config.Plugin{"cas": plug(guest(t, "cas"), nil)})
	c := chain(t, set, "cas")
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				f := c.NewFilter(newReq("/"))
				if r := f.OnRequestHeaders(context.Background(), true); r.Outcome != wasm.Continue {
					t.Errorf("request: %+v", r)
				}
				f.Done()
			}
		}()
	}
	wg.Wait()
	v, ok := wasm.SharedValue(rt, "cas", "hits")
	if !ok || len(v) != 4 {
		t.Fatalf("hits = %x, %v", v, ok)
	}
	if n := uint32(v[0]) | uint32(v[1])<<8 | uint32(v[2])<<16 | uint32(v[3])<<24; n != workers*each {
		t.Fatalf("hits = %d; want %d", n, workers*each)
	}
}

// TestMetrics checks what EachMetric exports after the hostcalls guest
// defined a counter, a gauge and a histogram.
func TestMetrics(t *testing.T) {
	rt := newRuntime(t, nil, wasm.Options{VMs: 1, HTTPCaller: &fakeCaller{}})
	set := load(t, rt, map[string]*config.Plugin{"hc": plug(guest(t, "hostcalls"), nil)})
	for i := 0; i < 2; i++ {
		f := chain(t, set, "hc").NewFilter(newReq("/"))
		f.OnRequestHeaders(context.Background(), true)
		f.Done()
	}
	var got []string
	rt.EachMetric(func(m wasm.MetricSample) {
		s := fmt.Sprintf("%s/%s %s %d", m.Plugin, m.Name, m.Type, m.Value)
		if h := m.Histogram; h != nil {
			s += fmt.Sprintf(" count=%d sum=%d le20=%d inf=%d", h.Count, h.Sum, h.Buckets[4].Count, h.Buckets[len(h.Buckets)-1].Count)
		}
		got = append(got, s)
	})
	want := []string{"hc/latency histogram 0 count=2 sum=24 le20=2 inf=2", "hc/level gauge 7", "hc/requests counter 10"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("metrics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReloadSharesVMs checks that a new generation with the same plugin
// config reuses the running root context, that a changed config gets a new
// one, and that the old roots end when their generation closes.
func TestReloadSharesVMs(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 1, HTTPCaller: &fakeCaller{}})
	hc := guest(t, "hostcalls")
	configured := func() int {
		n := 0
		for _, m := range l.messages("") {
			if strings.HasPrefix(m, "config:") {
				n++
			}
		}
		return n
	}
	gen1, err := rt.Load(context.Background(), map[string]*config.Plugin{"a": plug(hc, map[string]any{"v": 1})}, "")
	if err != nil {
		t.Fatal(err)
	}
	gen2, err := rt.Load(context.Background(), map[string]*config.Plugin{"a": plug(hc, map[string]any{"v": 1})}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := configured(); n != 1 {
		t.Fatalf("same config configured %d times; want once", n)
	}
	gen1.Close()
	if _, ok := l.find("done=1"); ok {
		t.Fatal("root ended while gen2 still uses it")
	}
	gen3, err := rt.Load(context.Background(), map[string]*config.Plugin{"a": plug(hc, map[string]any{"v": 2})}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := configured(); n != 2 {
		t.Fatalf("changed config: configured %d times in all; want 2", n)
	}
	gen2.Close()
	if _, ok := l.find("done=1"); !ok {
		t.Fatal("old root not ended after its last generation closed")
	}
	gen3.Close()
	if n := wasm.Modules(rt); n != 0 {
		t.Fatalf("%d modules loaded after every generation closed", n)
	}
}

// TestPluginFiles lists a plugin dir: good and bad modules, and who uses
// them.
func TestPluginFiles(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, guest(t, "noop"), filepath.Join(dir, "noop.wasm"))
	copyFile(t, guest(t, "bad_v010"), filepath.Join(dir, "old.wasm"))
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, nil, wasm.Options{VMs: 1})
	set, err := rt.Load(context.Background(), map[string]*config.Plugin{"n": {Category: "noop"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	files, err := rt.PluginFiles(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("files %+v; want noop.wasm and old.wasm", files)
	}
	noop, old := files[0], files[1]
	if noop.Name != "noop.wasm" || noop.Err != nil || noop.ABI != "0.2.1" || len(noop.SHA256) != 64 || strings.Join(noop.Plugins, ",") != "n" {
		t.Errorf("noop: %+v", noop)
	}
	if old.Name != "old.wasm" || old.Err == nil || !strings.Contains(old.Err.Error(), "0.1.0") || len(old.Plugins) != 0 {
		t.Errorf("old: %+v", old)
	}
}
