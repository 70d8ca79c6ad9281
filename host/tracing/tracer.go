package tracing

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
)

// Tracer makes the spans of one server's requests and exports them.
type Tracer struct {
	cfg    Config
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// Options are the seams of New.
type Options struct {
	// Exporter replaces the OTLP exporter the Config describes (tests).
	Exporter sdktrace.SpanExporter
	// Version is the sluice version, the service.version of every span.
	Version string
}

// New builds a Tracer for c. The exporter connects lazily: a collector
// that is down makes exports fail (and spans drop when the queue is
// full), never a request wait.
func New(ctx context.Context, c Config, o Options) (*Tracer, error) {
	exp := o.Exporter
	if exp == nil {
		var err error
		if exp, err = newExporter(ctx, c); err != nil {
			return nil, err
		}
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(c.ServiceName)}
	if o.Version != "" {
		attrs = append(attrs, semconv.ServiceVersion(o.Version))
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, attrs...)
	limits := sdktrace.NewSpanLimits()
	limits.AttributeCountLimit, limits.EventCountLimit = c.MaxAttributes, c.MaxEvents
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SampleRatio))),
		sdktrace.WithRawSpanLimits(limits),
		sdktrace.WithBatcher(exp,
			sdktrace.WithMaxQueueSize(c.MaxQueueSize),
			sdktrace.WithBatchTimeout(c.ScheduledDelay),
			sdktrace.WithMaxExportBatchSize(c.MaxExportBatchSize),
			sdktrace.WithExportTimeout(c.MaxExportTimeout),
		),
	)
	props := []propagation.TextMapPropagator{propagation.TraceContext{}}
	if c.Baggage {
		props = append(props, propagation.Baggage{})
	}
	return &Tracer{
		cfg:    c,
		tp:     tp,
		tracer: tp.Tracer("github.com/sluice-proxy/sluice/host/tracing"),
		prop:   propagation.NewCompositeTextMapPropagator(props...),
	}, nil
}

func newExporter(ctx context.Context, c Config) (sdktrace.SpanExporter, error) {
	switch c.Protocol {
	case "grpc":
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(c.Endpoint), otlptracegrpc.WithTimeout(c.Timeout)}
		if c.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		if c.Compression == "gzip" {
			opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp_exporter: %w", err)
		}
		return exp, nil
	case "http":
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(c.Endpoint), otlptracehttp.WithTimeout(c.Timeout)}
		if c.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		if c.URLPath != "" {
			opts = append(opts, otlptracehttp.WithURLPath(c.URLPath))
		}
		if c.Compression == "gzip" {
			opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp_exporter: %w", err)
		}
		return exp, nil
	}
	return nil, fmt.Errorf("otlp_exporter: unknown protocol %q", c.Protocol)
}

// Config returns the tracer's configuration.
func (t *Tracer) Config() Config { return t.cfg }

// Flush exports the spans that have ended so far.
func (t *Tracer) Flush(ctx context.Context) error { return t.tp.ForceFlush(ctx) }

// Shutdown exports what is left and closes the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error { return t.tp.Shutdown(ctx) }

// Request is the tracing state of one request.
type Request struct {
	ctx      context.Context // carries the server span
	server   trace.Span
	upstream trace.Span
	upCtx    context.Context
	upStart  time.Time
}

var reqPool = sync.Pool{New: func() any { return new(Request) }}

// Start opens the server span of r, a child of the client's trace context
// when it sent one, and, with x_trace_id, sets X-Trace-Id and X-Span-Id in
// respHeader (the response's headers, not yet written).
func (t *Tracer) Start(r *http.Request, rec *reqinfo.Record, respHeader http.Header) *Request {
	q := reqPool.Get().(*Request)
	ctx := t.prop.Extract(context.Background(), propagation.HeaderCarrier(r.Header))
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs,
		semconv.HTTPRequestMethodKey.String(rec.Method),
		semconv.URLPath(rec.Path),
		semconv.URLScheme(rec.Scheme),
		semconv.ServerAddress(stripPort(rec.Host)),
		semconv.NetworkProtocolVersion(protoVersion(rec.Proto)),
		semconv.NetworkPeerAddress(stripPort(rec.Remote)),
	)
	if rec.Query != "" {
		attrs = append(attrs, semconv.URLQuery(rec.Query))
	}
	if ua := r.Header.Get("User-Agent"); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	ctx, span := t.tracer.Start(ctx, rec.Method,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(rec.Start),
		trace.WithAttributes(attrs...))
	q.ctx, q.server = ctx, span
	if t.cfg.TraceIDHeader && respHeader != nil {
		if sc := span.SpanContext(); sc.IsValid() {
			respHeader["X-Trace-Id"] = []string{sc.TraceID().String()}
			respHeader["X-Span-Id"] = []string{sc.SpanID().String()}
		}
	}
	return q
}

// BeforeUpstream opens the client span of an attempt to reach backend
// rec.UpstreamAddr of upstream rec.Upstream, and injects its context
// (traceparent, tracestate, baggage) into out's headers. A previous
// attempt's span ends as failed.
func (t *Tracer) BeforeUpstream(q *Request, out *http.Request, rec *reqinfo.Record) {
	if q.upstream != nil {
		q.upstream.SetStatus(codes.Error, "retried on another backend")
		q.upstream.End()
	}
	host, port := splitHostPort(rec.UpstreamAddr)
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(out.Method),
		semconv.ServerAddress(host),
		semconv.NetworkPeerAddress(host),
		attribute.String("upstream.addr", rec.UpstreamAddr),
		attribute.String("upstream.name", rec.Upstream),
	}
	if port > 0 {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	q.upStart = time.Now()
	q.upCtx, q.upstream = t.tracer.Start(q.ctx, "upstream."+rec.Upstream,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(q.upStart),
		trace.WithAttributes(attrs...))
	t.prop.Inject(q.upCtx, propagation.HeaderCarrier(out.Header))
}

// PluginCall records a span for one plugin callback that started at start
// and took d.
func (t *Tracer) PluginCall(q *Request, plugin, phase string, start time.Time, d time.Duration) {
	_, span := t.tracer.Start(q.ctx, "plugin."+plugin,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(start),
		trace.WithAttributes(attribute.String("plugin.name", plugin), attribute.String("plugin.phase", phase)))
	span.End(trace.WithTimestamp(start.Add(d)))
}

// End closes the request's spans with what rec says of it, and gives q
// back to the pool.
func (t *Tracer) End(q *Request, rec *reqinfo.Record) {
	end := rec.Start.Add(rec.Latency)
	if q.upstream != nil {
		u := q.upstream
		u.SetAttributes(attribute.Bool("upstream.reused", rec.UpstreamReused))
		if rec.UpstreamStatus != 0 {
			u.SetAttributes(
				semconv.HTTPResponseStatusCodeKey.Int(rec.UpstreamStatus),
				attribute.Int64("upstream.processing_time", rec.UpstreamProcessing.Milliseconds()),
				attribute.Int64("upstream.response_time", rec.UpstreamResponse.Milliseconds()),
			)
			if rec.UpstreamStatus >= 500 {
				u.SetStatus(codes.Error, "")
			}
		} else {
			u.SetStatus(codes.Error, "no response from the backend")
		}
		if !rec.UpstreamReused && rec.UpstreamConnect > 0 {
			u.SetAttributes(attribute.Int64("upstream.connect_time", (rec.UpstreamConnect + rec.UpstreamTLS).Milliseconds()))
		}
		upEnd := end
		if rec.UpstreamResponse > 0 {
			upEnd = q.upStart.Add(rec.UpstreamResponse)
		}
		u.End(trace.WithTimestamp(upEnd))
	}
	s := q.server
	name := rec.Method
	if rec.Location != "" {
		// Semantic conventions: "{method} {route}"; the location is
		// sluice's route.
		name = rec.Method + " " + rec.Location
		s.SetAttributes(semconv.HTTPRoute(rec.Location), attribute.String("http.location", rec.Location))
	}
	s.SetName(name)
	s.SetAttributes(
		semconv.HTTPResponseBodySize(int(rec.BytesSent)),
		semconv.HTTPRequestBodySize(int(rec.BytesReceived)),
		semconv.ClientAddress(rec.ClientIP),
		attribute.String("sluice.request_id", rec.RequestID),
	)
	if rec.Status != 0 {
		s.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(rec.Status))
	}
	if rec.Upstream != "" {
		s.SetAttributes(attribute.String("upstream.name", rec.Upstream))
	}
	if rec.Status >= 500 || rec.Status == 0 {
		// Semantic conventions: a server span fails on 5xx only.
		cause := rec.ErrCause
		if cause == "" {
			cause = strconv.Itoa(rec.Status)
		}
		s.SetAttributes(semconv.ErrorTypeKey.String(errorType(rec)))
		s.SetStatus(codes.Error, cause)
	}
	s.End(trace.WithTimestamp(end))
	*q = Request{}
	reqPool.Put(q)
}

func errorType(rec *reqinfo.Record) string {
	if rec.Status != 0 {
		return strconv.Itoa(rec.Status)
	}
	return "_OTHER"
}

func protoVersion(p string) string {
	switch p {
	case "HTTP/1.1":
		return "1.1"
	case "HTTP/1.0":
		return "1.0"
	case "HTTP/2.0", "HTTP/2":
		return "2"
	}
	return strings.TrimPrefix(p, "HTTP/")
}

func stripPort(hp string) string {
	if h, _, err := net.SplitHostPort(hp); err == nil {
		return h
	}
	return hp
}

func splitHostPort(hp string) (string, int) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return hp, 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}
