package e2e

import (
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP collector: it decodes the protobuf export
// requests and keeps their spans.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	svc   []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	req := &coltrace.ExportTraceServiceRequest{}
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.Resource.GetAttributes() {
			if a.Key == "service.name" {
				o.svc = append(o.svc, a.Value.GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (o *otlpReceiver) span(name string) *tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.spans {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func spanAttr(s *tracepb.Span, key string) any {
	for _, a := range s.Attributes {
		if a.Key == key {
			if sv := a.Value.GetStringValue(); sv != "" {
				return sv
			}
			return a.Value.GetIntValue()
		}
	}
	return nil
}

const traceConf = `
[servers.main]
addr = "{{.addr}}"
locations = ["api"]
otlp_exporter = "{{.otlp}}?scheduled_delay=100ms&x_trace_id"
enable_server_timing = true

[locations.api]
upstream = "b"

[upstreams.b]
addrs = ["{{.b}}"]
`

// Issue 6: spans exported over OTLP/HTTP to a collector, the trace
// continued from the client and into the backend, X-Trace-Id, and the
// Server-Timing header.
func TestTracing(t *testing.T) {
	rc := &otlpReceiver{}
	collector := httptest.NewServer(rc)
	defer collector.Close()
	var mu sync.Mutex
	var backendSaw string
	back := backend(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		backendSaw = r.Header.Get("Traceparent")
		mu.Unlock()
		io.WriteString(w, "traced")
	})
	v := map[string]string{"addr": freePort(t), "b": back, "otlp": collector.URL}
	conf := filepath.Join(t.TempDir(), "sluice.toml")
	writeConf(t, conf, traceConf, v)
	p := start(t, conf, v["addr"])

	const clientTrace, clientSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	req, _ := http.NewRequest("GET", "http://"+v["addr"]+"/api/items?x=1", nil)
	req.Header.Set("Traceparent", "00-"+clientTrace+"-"+clientSpan+"-01")
	req.Header.Set("User-Agent", "trace-e2e")
	resp, err := freshClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	if got := resp.Header.Get("X-Trace-Id"); got != clientTrace {
		t.Errorf("X-Trace-Id %q; want the client's trace %s", got, clientTrace)
	}
	st := resp.Header.Get("Server-Timing")
	if !regexp.MustCompile(`^upstream\.connect;dur=[\d.]+, upstream\.processing;dur=[\d.]+, upstream;dur=[\d.]+, total;dur=[\d.]+$`).MatchString(st) {
		t.Errorf("Server-Timing %q", st)
	}

	var srv, up *tracepb.Span
	for deadline := time.Now().Add(10 * time.Second); srv == nil || up == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("spans received: %v\n%s", rc.spans, p.Log())
		}
		time.Sleep(20 * time.Millisecond)
		srv, up = rc.span("GET api"), rc.span("upstream.b")
	}
	if got := hex.EncodeToString(srv.TraceId); got != clientTrace {
		t.Errorf("trace id %s; want the client's %s", got, clientTrace)
	}
	if got := hex.EncodeToString(srv.ParentSpanId); got != clientSpan {
		t.Errorf("server span's parent %s; want the client's span %s", got, clientSpan)
	}
	if !bytes.Equal(up.ParentSpanId, srv.SpanId) || !bytes.Equal(up.TraceId, srv.TraceId) {
		t.Error("the upstream span is not the server span's child")
	}
	if srv.Kind != tracepb.Span_SPAN_KIND_SERVER || up.Kind != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("kinds %v and %v", srv.Kind, up.Kind)
	}
	for k, want := range map[string]any{
		"http.request.method": "GET", "url.path": "/api/items", "url.query": "x=1", "http.route": "api",
		"http.response.status_code": int64(200), "user_agent.original": "trace-e2e", "client.address": "127.0.0.1",
		"http.response.body.size": int64(6),
	} {
		if got := spanAttr(srv, k); got != want {
			t.Errorf("server span %s = %v; want %v", k, got, want)
		}
	}
	for k, want := range map[string]any{"upstream.addr": back, "http.response.status_code": int64(200)} {
		if got := spanAttr(up, k); got != want {
			t.Errorf("upstream span %s = %v; want %v", k, got, want)
		}
	}
	if len(rc.svc) == 0 || rc.svc[0] != "sluice:main" {
		t.Errorf("service.name %v", rc.svc)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "00-" + clientTrace + "-" + hex.EncodeToString(up.SpanId) + "-01"
	if backendSaw != want {
		t.Errorf("the backend got traceparent %q; want %q (the upstream span, same trace)", backendSaw, want)
	}
	if strings.Contains(backendSaw, clientSpan) {
		t.Error("the backend got the client's span as parent, not sluice's")
	}
}
