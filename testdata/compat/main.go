// Command compat is a proxy-wasm plugin written against the public Go SDK,
// github.com/proxy-wasm/proxy-wasm-go-sdk (the proxy-wasm organisation's
// SDK for Go 1.24+), using only that SDK's API, unmodified: it shows that a
// plugin written for Envoy loads and behaves in sluice.
//
// It follows the shape of the SDK's http_headers example: the plugin
// configuration (JSON) names a header and a value and a path; every request
// gets the header on its way upstream and every response gets it on its way
// back; the path is answered by the plugin itself with a body naming the
// plugin (property plugin_name); a counter metric counts requests.
//
// Build: ./build.sh (downloads the SDK from the Go module proxy).
package main

import (
	"encoding/json"
	"strconv"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetVMContext(&vmContext{})
}

type vmContext struct {
	types.DefaultVMContext
}

func (*vmContext) NewPluginContext(contextID uint32) types.PluginContext {
	return &pluginContext{}
}

type config struct {
	Header string `json:"header"`
	Value  string `json:"value"`
	Path   string `json:"path"`
}

type pluginContext struct {
	types.DefaultPluginContext
	cfg      config
	requests proxywasm.MetricCounter
}

func (p *pluginContext) OnPluginStart(pluginConfigurationSize int) types.OnPluginStartStatus {
	p.cfg = config{Header: "x-compat", Value: "proxy-wasm-go-sdk", Path: "/compat"}
	if pluginConfigurationSize > 0 {
		data, err := proxywasm.GetPluginConfiguration()
		if err != nil {
			proxywasm.LogCriticalf("reading the plugin configuration: %v", err)
			return types.OnPluginStartStatusFailed
		}
		if err := json.Unmarshal(data, &p.cfg); err != nil {
			proxywasm.LogErrorf("bad plugin configuration %s: %v", data, err)
			return types.OnPluginStartStatusFailed
		}
	}
	p.requests = proxywasm.DefineCounterMetric("compat_requests_total")
	proxywasm.LogInfof("compat plugin started: header %s=%s, path %s", p.cfg.Header, p.cfg.Value, p.cfg.Path)
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) NewHttpContext(contextID uint32) types.HttpContext {
	return &httpContext{contextID: contextID, cfg: &p.cfg, requests: p.requests}
}

type httpContext struct {
	types.DefaultHttpContext
	contextID uint32
	cfg       *config
	requests  proxywasm.MetricCounter
}

func (h *httpContext) OnHttpRequestHeaders(numHeaders int, endOfStream bool) types.Action {
	h.requests.Increment(1)
	headers, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		proxywasm.LogCriticalf("reading request headers: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogDebugf("request %d has %d headers", h.contextID, len(headers))

	path, err := proxywasm.GetHttpRequestHeader(":path")
	if err != nil {
		proxywasm.LogCriticalf("reading :path: %v", err)
		return types.ActionContinue
	}
	if path == h.cfg.Path {
		name, err := proxywasm.GetProperty([]string{"plugin_name"})
		if err != nil {
			name = []byte("unknown")
		}
		body := []byte("hello from " + string(name) + " (" + strconv.Itoa(len(headers)) + " request headers)")
		if err := proxywasm.SendHttpResponse(200, [][2]string{
			{"content-type", "text/plain"},
			{h.cfg.Header, h.cfg.Value},
		}, body, -1); err != nil {
			proxywasm.LogErrorf("sending the local response: %v", err)
		}
		return types.ActionPause
	}
	if err := proxywasm.AddHttpRequestHeader(h.cfg.Header, h.cfg.Value); err != nil {
		proxywasm.LogCriticalf("adding the request header: %v", err)
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(numHeaders int, endOfStream bool) types.Action {
	if err := proxywasm.ReplaceHttpResponseHeader(h.cfg.Header, h.cfg.Value); err != nil {
		proxywasm.LogCriticalf("setting the response header: %v", err)
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpStreamDone() {
	proxywasm.LogDebugf("request %d done", h.contextID)
}
