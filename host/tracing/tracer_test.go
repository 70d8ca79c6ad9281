package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

// receiver collects the spans of OTLP exports, over HTTP or gRPC.
type receiver struct {
	coltrace.UnimplementedTraceServiceServer
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
	got      chan struct{}
}

func newReceiver() *receiver { return &receiver{got: make(chan struct{}, 100)} }

func (rc *receiver) add(req *coltrace.ExportTraceServiceRequest) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.Resource.GetAttributes() {
			if a.Key == "service.name" {
				rc.services = append(rc.services, a.Value.GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			rc.spans = append(rc.spans, ss.Spans...)
		}
	}
	rc.got <- struct{}{}
}

// ServeHTTP is an OTLP/HTTP receiver (protobuf, maybe gzipped).
func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	req := &coltrace.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(b, req); err != nil || r.URL.Path != "/v1/traces" {
		http.Error(w, fmt.Sprintf("path %s: %v", r.URL.Path, err), 400)
		return
	}
	rc.add(req)
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// Export is the OTLP/gRPC receiver.
func (rc *receiver) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	rc.add(req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

func (rc *receiver) byName(name string) *tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var last *tracepb.Span
	for _, s := range rc.spans {
		if s.Name == name {
			last = s // the last attempt, for upstream spans
		}
	}
	return last
}

func attr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			v := a.Value
			switch {
			case v.GetStringValue() != "":
				return v.GetStringValue()
			case v.GetIntValue() != 0:
				return fmt.Sprint(v.GetIntValue())
			default:
				return fmt.Sprint(v.GetBoolValue())
			}
		}
	}
	return "<none>"
}

const (
	clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan  = "00f067aa0ba902b7"
)

// simulate runs one request through t the way the proxy's observers do.
func simulate(t *testing.T, tr *Tracer, sampled bool) (out *http.Request, resp http.Header) {
	t.Helper()
	in := httptest.NewRequest("GET", "http://example.com/api/users?id=1", nil)
	flags := "01"
	if !sampled {
		flags = "00"
	}
	in.Header.Set("Traceparent", "00-"+clientTrace+"-"+clientSpan+"-"+flags)
	in.Header.Set("Tracestate", "vendor=abc")
	in.Header.Set("User-Agent", "test/1")
	rec := &reqinfo.Record{
		Start: time.Now(), Method: "GET", Host: "example.com:8080", Path: "/api/users", Query: "id=1",
		Proto: "HTTP/1.1", Scheme: "http", Remote: "10.0.0.1:5000", RequestID: "r1",
	}
	resp = http.Header{}
	q := tr.Start(in, rec, resp)
	tr.PluginCall(q, "auth", "request_headers", time.Now(), 50*time.Microsecond)
	rec.Location, rec.Upstream, rec.UpstreamAddr = "api", "users", "127.0.0.1:9001"
	out = in.Clone(context.Background())
	tr.BeforeUpstream(q, out, rec) // a first attempt that fails
	rec.UpstreamAddr = "127.0.0.1:9002"
	tr.BeforeUpstream(q, out, rec)
	rec.UpstreamStatus, rec.Status, rec.UpstreamProcessing, rec.UpstreamResponse = 200, 200, 2*time.Millisecond, 3*time.Millisecond
	rec.UpstreamConnect = time.Millisecond
	rec.BytesSent, rec.ClientIP, rec.Latency = 42, "10.0.0.1", 5*time.Millisecond
	tr.End(q, rec)
	return out, resp
}

func TestTraceExport(t *testing.T) {
	for _, transport := range []string{"http", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			rc := newReceiver()
			var url string
			if transport == "http" {
				srv := httptest.NewServer(rc)
				defer srv.Close()
				url = srv.URL + "?x_trace_id&compression=gzip&baggage=true"
			} else {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				gs := grpc.NewServer()
				coltrace.RegisterTraceServiceServer(gs, rc)
				go gs.Serve(l)
				defer gs.Stop()
				url = "grpc://" + l.Addr().String() + "?x_trace_id"
			}
			cfg, err := ParseURL(url, "main")
			if err != nil {
				t.Fatal(err)
			}
			tr, err := New(context.Background(), cfg, Options{Version: "v-test"})
			if err != nil {
				t.Fatal(err)
			}
			out, resp := simulate(t, tr, true)
			if err := tr.Shutdown(context.Background()); err != nil {
				t.Fatalf("shutdown (flush to the receiver): %v", err)
			}

			srv, up, plug := rc.byName("GET api"), rc.byName("upstream.users"), rc.byName("plugin.auth")
			if srv == nil || up == nil || plug == nil {
				t.Fatalf("spans received: %v", rc.spans)
			}
			if got := hex.EncodeToString(srv.TraceId); got != clientTrace {
				t.Errorf("server span trace id %s; want the client's %s", got, clientTrace)
			}
			if got := hex.EncodeToString(srv.ParentSpanId); got != clientSpan {
				t.Errorf("server span parent %s; want the client's span %s", got, clientSpan)
			}
			if srv.Kind != tracepb.Span_SPAN_KIND_SERVER || up.Kind != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("kinds: server %v, upstream %v", srv.Kind, up.Kind)
			}
			for _, child := range []*tracepb.Span{up, plug} {
				if !bytes.Equal(child.ParentSpanId, srv.SpanId) || !bytes.Equal(child.TraceId, srv.TraceId) {
					t.Errorf("span %s is not a child of the server span", child.Name)
				}
			}
			for k, want := range map[string]string{
				"http.request.method": "GET", "url.path": "/api/users", "url.query": "id=1", "url.scheme": "http",
				"server.address": "example.com", "network.protocol.version": "1.1", "user_agent.original": "test/1",
				"http.response.status_code": "200", "http.response.body.size": "42", "http.route": "api",
				"client.address": "10.0.0.1", "sluice.request_id": "r1", "upstream.name": "users",
			} {
				if got := attr(srv, k); got != want {
					t.Errorf("server span %s = %s; want %s", k, got, want)
				}
			}
			for k, want := range map[string]string{
				"upstream.addr": "127.0.0.1:9002", "server.port": "9002", "http.response.status_code": "200",
				"upstream.reused": "false", "upstream.processing_time": "2", "upstream.response_time": "3", "upstream.connect_time": "1",
			} {
				if got := attr(up, k); got != want {
					t.Errorf("upstream span %s = %s; want %s", k, got, want)
				}
			}
			var failed *tracepb.Span
			for _, s := range rc.spans {
				if attr(s, "upstream.addr") == "127.0.0.1:9001" {
					failed = s
				}
			}
			if failed == nil || failed.Name != "upstream.users" || attr(failed, "upstream.addr") != "127.0.0.1:9001" || failed.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
				t.Errorf("no failed upstream span for the first attempt on :9001: %v", failed)
			}
			if n := len(rc.spans); n != 4 {
				t.Errorf("%d spans; want 4 (server, plugin, two upstream attempts)", n)
			}
			if rc.services[0] != "sluice:main" {
				t.Errorf("service.name = %q", rc.services[0])
			}
			// The backend continues the trace: traceparent names the
			// upstream span.
			want := "00-" + clientTrace + "-" + hex.EncodeToString(up.SpanId) + "-01"
			if got := out.Header.Get("Traceparent"); got != want {
				t.Errorf("upstream traceparent %q; want %q", got, want)
			}
			if got := out.Header.Get("Tracestate"); got != "vendor=abc" {
				t.Errorf("upstream tracestate %q; want the client's", got)
			}
			if got := resp.Get("X-Trace-Id"); got != clientTrace {
				t.Errorf("X-Trace-Id %q; want %s", got, clientTrace)
			}
			if got := resp.Get("X-Span-Id"); got != hex.EncodeToString(srv.SpanId) {
				t.Errorf("X-Span-Id %q; want the server span's", got)
			}
		})
	}
}

func TestNotSampled(t *testing.T) {
	rc := newReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cfg, err := ParseURL(srv.URL+"?sample_ratio=1", "main")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, resp := simulate(t, tr, false)
	tr.Shutdown(context.Background())
	if len(rc.spans) != 0 {
		t.Errorf("%d spans exported for a trace the client did not sample", len(rc.spans))
	}
	if got := out.Header.Get("Traceparent"); !strings.HasPrefix(got, "00-"+clientTrace+"-") || !strings.HasSuffix(got, "-00") {
		t.Errorf("upstream traceparent %q; want the client's trace, not sampled", got)
	}
	if resp.Get("X-Trace-Id") != "" {
		t.Error("X-Trace-Id set without x_trace_id")
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		name, in string
		check    func(Config) string
		err      string
	}{
		{name: "pingap gRPC port", in: "http://collector:4317", check: func(c Config) string {
			return fmt.Sprint(c.Protocol, c.Endpoint, c.Insecure, c.ServiceName, c.Timeout, c.MaxQueueSize, c.SampleRatio)
		}, err: "grpccollector:4317truesluice:main3s 2048 1"},
		{name: "http", in: "https://collector:4318/custom/traces?timeout=1s&max_queue_size=10&max_export_batch_size=50", check: func(c Config) string {
			return fmt.Sprint(c.Protocol, c.Insecure, c.URLPath, c.Timeout, c.MaxQueueSize, c.MaxExportBatchSize)
		}, err: "httpfalse/custom/traces1s 10 10"},
		{name: "grpc forced", in: "http://c:9999?protocol=grpc&service_name=edge&sample_ratio=0.25&jaeger&compression=zstd", check: func(c Config) string {
			return fmt.Sprint(c.Protocol, c.ServiceName, c.SampleRatio, len(c.Warnings))
		}, err: "grpcedge0.25 2"},
		{name: "scheme", in: "ftp://c", err: "scheme must be"},
		{name: "no host", in: "http://", err: "no host"},
		{name: "unknown", in: "grpc://c:1?max_spans=3", err: `unknown option "max_spans"`},
		{name: "ratio", in: "grpc://c:1?sample_ratio=2", err: "from 0 to 1"},
		{name: "flag", in: "grpc://c:1?baggage=maybe", err: "true or false"},
		{name: "duration", in: "grpc://c:1?scheduled_delay=-1s", err: "positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseURL(tt.in, "main")
			if tt.check != nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := tt.check(c); got != tt.err {
					t.Errorf("got %s; want %s", got, tt.err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error = %v; want %q", err, tt.err)
			}
		})
	}
}
