package wasm_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
	"github.com/sluice-proxy/sluice/host/wasm/wasmtest"
)

// builtPlugins is where `make plugins` puts the built-in Go plugins.
var builtPlugins = filepath.Join("..", "..", "plugins")

func goNoop(b *testing.B) string {
	p, err := filepath.Abs(filepath.Join(builtPlugins, "noop.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		b.Skip("plugins/noop.wasm not built (make plugins)")
	}
	return p
}

// BenchmarkChain measures the whole lifecycle of one request through a
// chain of no-op plugins: context create, request headers, response
// headers, log, done, delete for each plugin. It reports the median
// (p50-ns/plugin) and the 99th percentile per plugin, with the callback
// budget on (as shipped) and off.
func BenchmarkChain(b *testing.B) {
	guests := []struct {
		name string
		path func(*testing.B) string
	}{
		{"wat", func(b *testing.B) string { return guest(b, "noop") }},
		{"go", goNoop},
	}
	for _, g := range guests {
		for _, n := range []int{1, 5} {
			for _, budget := range []time.Duration{0, -1} {
				name := g.name + "-" + string(rune('0'+n))
				if budget < 0 {
					name += "-nobudget"
				}
				b.Run(name, func(b *testing.B) {
					path := g.path(b)
					rt := newRuntime(b, nil, wasm.Options{VMs: 1, CallTimeout: budget})
					plugins := map[string]*config.Plugin{}
					var names []string
					for i := 0; i < n; i++ {
						name := "p" + string(rune('a'+i))
						plugins[name] = plug(path, nil)
						names = append(names, name)
					}
					c := chain(b, load(b, rt, plugins), names...)
					s := wasmtest.NewStream("GET", "/bench?x=1", "example.com", [2]string{"user-agent", "bench"})
					s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
					ctx := context.Background()
					lat := make([]time.Duration, 0, b.N)
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						start := time.Now()
						f := c.NewFilter(s)
						f.OnRequestHeaders(ctx, true)
						f.OnResponseHeaders(ctx, true)
						f.Done()
						lat = append(lat, time.Since(start))
					}
					b.StopTimer()
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2])/float64(n), "p50-ns/plugin")
					b.ReportMetric(float64(lat[len(lat)*99/100])/float64(n), "p99-ns/plugin")
				})
			}
		}
	}
}

// BenchmarkChainParallel runs one no-op plugin from every P with one VM
// per P, as the proxy does.
func BenchmarkChainParallel(b *testing.B) {
	rt := newRuntime(b, nil, wasm.Options{VMs: 0})
	c := chain(b, load(b, rt, map[string]*config.Plugin{"p": plug(guest(b, "noop"), nil)}), "p")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := wasmtest.NewStream("GET", "/", "example.com")
		for pb.Next() {
			f := c.NewFilter(s)
			f.OnRequestHeaders(ctx, true)
			f.OnResponseHeaders(ctx, true)
			f.Done()
		}
	})
}

// BenchmarkStartup measures NewRuntime plus Load of the first built-in
// plugins (plugins/*.wasm of issue 3, which need no host primitive; or the
// WAT guests without them) with one VM each, from an empty compilation
// cache (cold) and from a filled one (warm). `make bench` measures the
// startup of the binary with every built-in plugin.
func BenchmarkStartup(b *testing.B) {
	plugins := map[string]*config.Plugin{}
	first := map[string]map[string]any{
		"noop": nil, "request_id": nil, "response_headers": nil,
		"ping": {"path": "/ping"}, "stats": {"path": "/stats"}, "mock": {"data": "x"},
	}
	if _, err := os.Stat(filepath.Join(builtPlugins, "noop.wasm")); err == nil {
		for name, params := range first {
			abs, _ := filepath.Abs(filepath.Join(builtPlugins, name+".wasm"))
			plugins[name] = plug(abs, params)
		}
	} else {
		for _, n := range []string{"noop", "order", "buffer", "callout", "cas"} {
			plugins[n] = plug(guest(b, n), nil)
		}
	}
	start := func(b *testing.B, cache string) {
		rt, err := wasm.NewRuntime(context.Background(), wasm.Options{CacheDir: cache, VMs: 1, NoWatch: true, HTTPCaller: &fakeCaller{}})
		if err != nil {
			b.Fatal(err)
		}
		set, err := rt.Load(context.Background(), plugins, "")
		if err != nil {
			b.Fatal(err)
		}
		set.Close()
		if err := rt.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			dir := b.TempDir()
			b.StartTimer()
			start(b, dir)
		}
		b.ReportMetric(float64(len(plugins)), "plugins")
	})
	b.Run("warm", func(b *testing.B) {
		dir := b.TempDir()
		start(b, dir)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start(b, dir)
		}
		b.ReportMetric(float64(len(plugins)), "plugins")
	})
}
