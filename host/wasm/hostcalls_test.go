package wasm_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/config"
	"github.com/sluice-proxy/sluice/host/wasm"
	"github.com/sluice-proxy/sluice/host/wasm/wasmtest"
)

func TestHostcallsSmoke(t *testing.T) {
	l := newLogs()
	rt := newRuntime(t, l, wasm.Options{HTTPCaller: &fakeCaller{upstreams: map[string]bool{"backend": true}}})
	set := load(t, rt, map[string]*config.Plugin{"hc": plug(guest(t, "hostcalls"), map[string]any{"greeting": "hi"})})
	c := chain(t, set, "hc")
	s := wasmtest.NewStream("GET", "/path?q=1", "example.com", [2]string{"x-dup", "1"}, [2]string{"x-dup", "2"}, [2]string{"x-remove", "r"})
	f := c.NewFilter(s)
	ctx := context.Background()
	r := f.OnRequestHeaders(ctx, false)
	t.Logf("req headers: %+v", r)
	out, r := f.OnRequestBody(ctx, []byte("hello"), true)
	t.Logf("body %q %+v", out, r)
	s.Map(abi.MapHTTPResponseHeaders).Set(":status", "200")
	r = f.OnResponseHeaders(ctx, true)
	t.Logf("resp %+v", r)
	f.Done()
	t.Log(strings.Join(l.messages(""), "\n"))
}
