package wasm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// TestHotReplace replaces a module file in the plugin directory while
// requests flow: the watcher swaps the new module in, no request fails,
// a stream in flight finishes on the old module, and a broken file leaves
// the running module in place.
func TestHotReplace(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ver.wasm")
	copyFile(t, guest(t, "version_a"), file)
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 2})
	set, err := rt.Load(context.Background(), map[string]*config.Plugin{"v": {Category: "ver"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	c := chain(t, set, "v")
	ctx := context.Background()
	run := func() (string, wasm.Result) {
		s := newReq("/")
		f := c.NewFilter(s)
		defer f.Done()
		if r := f.OnRequestHeaders(ctx, true); r.Outcome != wasm.Continue {
			return "", r
		}
		s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
		r := f.OnResponseHeaders(ctx, true)
		return first(s, abi.MapHTTPResponseHeaders, "x-version"), r
	}
	if v, _ := run(); v != "a" {
		t.Fatalf("x-version = %q; want a", v)
	}

	// A stream entered on version a.
	inflight := newReq("/")
	fin := c.NewFilter(inflight)
	fin.OnRequestHeaders(ctx, true)

	var failures atomic.Int64
	var sawB atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, r := run()
				switch {
				case r.Outcome != wasm.Continue || v != "a" && v != "b":
					failures.Add(1)
					t.Errorf("request during replacement: version %q, %+v", v, r)
				case v == "b":
					sawB.Store(true)
				}
			}
		}()
	}
	copyFile(t, guest(t, "version_b"), file)
	waitFor(t, "version b to serve", sawB.Load)
	if v, _ := run(); v != "b" {
		t.Fatalf("after the swap x-version = %q; want b", v)
	}

	// A broken file is refused and b keeps running.
	if err := os.WriteFile(file, []byte("\x00asm\x01\x00\x00\x00 broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the broken file to be refused", func() bool {
		_, ok := l.find("changed plugin module rejected")
		return ok
	})
	close(stop)
	wg.Wait()
	if v, _ := run(); v != "b" {
		t.Fatalf("after a broken file x-version = %q; want b", v)
	}
	if failures.Load() != 0 {
		t.Fatalf("%d requests failed during replacement", failures.Load())
	}

	// The stream entered before the swap finishes on version a, then a is
	// freed.
	inflight.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
	fin.OnResponseHeaders(ctx, true)
	fin.Done()
	if v := first(inflight, abi.MapHTTPResponseHeaders, "x-version"); v != "a" {
		t.Fatalf("in-flight stream got x-version %q; want a (pinned to its VM)", v)
	}
	waitFor(t, "the old module to be freed", func() bool { return wasm.Modules(rt) == 1 })
}

// TestReloadFileRejectsBadConfig checks that a new module whose canary
// rejects a running plugin's config is refused and the old one stays.
func TestReloadFileRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.wasm")
	copyFile(t, guest(t, "version_a"), file)
	rt := newRuntime(t, nil, wasm.Options{VMs: 1})
	set, err := rt.Load(context.Background(), map[string]*config.Plugin{"p": {Category: "p"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	copyFile(t, guest(t, "reject"), file)
	err = rt.ReloadFile(context.Background(), file)
	if err == nil || !strings.Contains(err.Error(), "missing required key: realm") {
		t.Fatalf("ReloadFile error = %v; want the canary's rejection", err)
	}
	s := newReq("/")
	f := chain(t, set, "p").NewFilter(s)
	f.OnRequestHeaders(context.Background(), true)
	s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
	f.OnResponseHeaders(context.Background(), true)
	f.Done()
	if v := first(s, abi.MapHTTPResponseHeaders, "x-version"); v != "a" {
		t.Fatalf("x-version = %q; want a (old module kept)", v)
	}
	if n := wasm.Modules(rt); n != 1 {
		t.Fatalf("%d modules loaded; want the old one only", n)
	}
}

// TestCloseWithStreamsInFlight closes a generation while a stream is in
// the middle of its plugins: the stream finishes normally, and the root
// context and module are freed only after it.
func TestCloseWithStreamsInFlight(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 1})
	set, err := rt.Load(context.Background(), map[string]*config.Plugin{"o": plug(guest(t, "order"), nil)}, "")
	if err != nil {
		t.Fatal(err)
	}
	c := chain(t, set, "o")
	s := newReq("/")
	f := c.NewFilter(s)
	ctx := context.Background()
	f.OnRequestHeaders(ctx, true)
	set.Close()
	if wasm.Modules(rt) != 1 {
		t.Fatal("module freed while a stream uses it")
	}
	s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
	if r := f.OnResponseHeaders(ctx, true); r.Outcome != wasm.Continue {
		t.Fatalf("response after Close: %+v", r)
	}
	f.Done()
	if got := s.Map(abi.MapHTTPResponseHeaders).Values("x-order"); len(got) != 1 || got[0] != "o" {
		t.Fatalf("response x-order = %q; want [o]", got)
	}
	if n := wasm.Modules(rt); n != 0 {
		t.Fatalf("%d modules left after the last stream", n)
	}
	// A new stream on the closed generation's chain is refused.
	f = c.NewFilter(newReq("/"))
	r := f.OnRequestHeaders(ctx, true)
	f.Done()
	if r.Outcome != wasm.Fail || !strings.Contains(r.Err.Error(), "unloaded") {
		t.Fatalf("stream on a closed set: %+v; want Fail (plugin unloaded)", r)
	}
}
