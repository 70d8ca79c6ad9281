package wasm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// compatModule is a plugin built against the public proxy-wasm Go SDK
// (testdata/compat/build.sh). It is not committed; the test skips without
// it.
var compatModule = filepath.Join("..", "..", "testdata", "compat", "compat.wasm")

// TestPublicGoSDK runs a plugin written for Envoy with the public
// proxy-wasm Go SDK, unmodified: a Go-toolchain reactor with the 0.2.0
// marker and only proxy_on_memory_allocate, using plugin config, headers,
// properties, local responses and metrics.
func TestPublicGoSDK(t *testing.T) {
	path, err := filepath.Abs(compatModule)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Skip("testdata/compat/compat.wasm not built (testdata/compat/build.sh)")
	}
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{VMs: 2})
	set := load(t, rt, map[string]*config.Plugin{"gosdk": plug(path, map[string]any{"header": "x-c", "value": "v", "path": "/hello"})})
	c := chain(t, set, "gosdk")
	ctx := context.Background()

	t.Run("headers both ways", func(t *testing.T) {
		s := newReq("/x")
		f := c.NewFilter(s)
		r := f.OnRequestHeaders(ctx, true)
		s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
		r2 := f.OnResponseHeaders(ctx, true)
		f.Done()
		if r.Outcome != wasm.Continue || r2.Outcome != wasm.Continue {
			t.Fatalf("results %+v %+v", r, r2)
		}
		if first(s, abi.MapHTTPRequestHeaders, "x-c") != "v" || first(s, abi.MapHTTPResponseHeaders, "x-c") != "v" {
			t.Fatalf("x-c not set both ways: %q / %q", s.Map(abi.MapHTTPRequestHeaders).Pairs, s.Map(abi.MapHTTPResponseHeaders).Pairs)
		}
	})
	t.Run("local response", func(t *testing.T) {
		f := c.NewFilter(newReq("/hello"))
		r := f.OnRequestHeaders(ctx, true)
		f.Done()
		if r.Outcome != wasm.Respond || r.Response.Status != 200 || string(r.Response.Body) != "hello from gosdk (4 request headers)" {
			t.Fatalf("result %+v body %q", r, r.Response.Body)
		}
	})
	t.Run("metric", func(t *testing.T) {
		var n int64
		rt.EachMetric(func(m wasm.MetricSample) {
			if m.Plugin == "gosdk" && m.Name == "compat_requests_total" {
				n = m.Value
			}
		})
		if n != 2 {
			t.Fatalf("compat_requests_total = %d; want 2", n)
		}
	})
	if _, ok := l.find("compat plugin started: header x-c=v, path /hello"); !ok {
		t.Fatalf("plugin did not start with its config: %q", l.messages("gosdk"))
	}
	for _, m := range l.messages("gosdk") {
		if strings.Contains(m, "panic") || strings.Contains(m, "error") {
			t.Errorf("plugin logged %q", m)
		}
	}
}
