package proxy

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/host/accesslog"
	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
	"github.com/sluice-proxy/sluice/host/metrics"
	"github.com/sluice-proxy/sluice/host/tracing"
)

// Observers are the observability of one site: access log, metrics,
// tracing and the Server-Timing header, built by host/app from
// host/accesslog, host/metrics and host/tracing. The pipeline calls, in
// this order:
//
//   - begin when a request arrives (trace context extracted, server span
//     opened, X-Trace-Id set);
//   - routed once a location matched (in-flight gauge);
//   - pluginCall after each plugin callback (call-time histogram, span);
//   - beforeUpstream for each attempt to reach a backend (client span,
//     trace context injected into the outbound request);
//   - beforeHeader right before the response headers are written
//     (Server-Timing);
//   - done once the response has ended (spans closed, metrics, access
//     log line, then Done).
//
// Each part is optional; the zero value observes nothing, and a part that
// is nil costs a nil check per hook. Per-request state lives in the pooled
// record (rec.Obs), so observing allocates nothing but what a tracer's
// spans need.
type Observers struct {
	// AccessLog writes the request's line; nil when access_log is unset.
	AccessLog AccessLog
	// Metrics records the request; nil when prometheus_metrics is unset.
	Metrics Metrics
	// MetricsHandler serves the prometheus_metrics pull path; host/app
	// passes it on as SiteConfig.Metrics.
	MetricsHandler http.Handler
	// Tracer traces the request; nil when otlp_exporter is unset.
	Tracer Tracer
	// ServerTiming adds the Server-Timing response header
	// (enable_server_timing).
	ServerTiming bool
	// Processing counts the server's requests in flight, for the access
	// log's {:processing}. host/app keeps one per server for the life of
	// the process, so that the count spans generations. Nil: not counted.
	Processing *atomic.Int64
	// Done receives the finished record, after the parts above. The
	// record is reused afterwards: copy what must outlive the call.
	Done func(rec *reqinfo.Record)
}

// AccessLog is what the observers need of an access log.
type AccessLog interface {
	// Log formats rec's line before it returns and never blocks.
	Log(rec *reqinfo.Record)
}

// Metrics is what the observers need of a metrics recorder.
type Metrics interface {
	// Routed counts a request in flight in location.
	Routed(location string)
	// Done records a finished request; counted says Routed was called.
	Done(rec *reqinfo.Record, counted bool)
	// PluginCall records one plugin callback's time.
	PluginCall(plugin, phase string, d time.Duration)
}

// Tracer is what the observers need of a tracer (host/tracing).
type Tracer interface {
	Start(r *http.Request, rec *reqinfo.Record, respHeader http.Header) *tracing.Request
	BeforeUpstream(q *tracing.Request, out *http.Request, rec *reqinfo.Record)
	PluginCall(q *tracing.Request, plugin, phase string, start time.Time, d time.Duration)
	End(q *tracing.Request, rec *reqinfo.Record)
}

var (
	_ AccessLog = (*accesslog.Logger)(nil)
	_ Metrics   = (*metrics.Server)(nil)
	_ Tracer    = (*tracing.Tracer)(nil)
)

func (o *Observers) begin(rs *reqState) {
	if o.Processing != nil {
		rs.rec.Processing = o.Processing.Add(1)
	}
	if o.Tracer != nil {
		rs.rec.Obs.Trace = o.Tracer.Start(rs.r, &rs.rec, rs.w.Header())
	}
}

// routed is called once rs.rec.Location is set.
func (o *Observers) routed(rs *reqState) {
	if o.Metrics != nil && !rs.rec.Obs.Counted {
		o.Metrics.Routed(rs.rec.Location)
		rs.rec.Obs.Counted = true
	}
}

// pluginCall is called after a plugin callback of phase (the proxy-wasm
// callback name without "proxy_on_", e.g. "request_headers") that started
// at start and took d.
func (o *Observers) pluginCall(rs *reqState, plugin, phase string, start time.Time, d time.Duration) {
	if o.Metrics != nil {
		o.Metrics.PluginCall(plugin, phase, d)
	}
	if q, ok := rs.rec.Obs.Trace.(*tracing.Request); ok && o.Tracer != nil {
		o.Tracer.PluginCall(q, plugin, phase, start, d)
	}
}

func (o *Observers) beforeUpstream(rs *reqState, out *http.Request) {
	if q, ok := rs.rec.Obs.Trace.(*tracing.Request); ok && o.Tracer != nil {
		o.Tracer.BeforeUpstream(q, out, &rs.rec)
	}
}

// beforeHeader is called right before the response's status line and
// headers are written, with rs.w.Header() complete otherwise.
func (o *Observers) beforeHeader(rs *reqState) {
	if !o.ServerTiming {
		return
	}
	var buf [256]byte
	v := accesslog.AppendServerTiming(buf[:0], &rs.rec, time.Since(rs.rec.Start))
	rs.w.Header()["Server-Timing"] = []string{string(v)}
}

func (o *Observers) done(rs *reqState) {
	rec := &rs.rec
	if q, ok := rec.Obs.Trace.(*tracing.Request); ok && o.Tracer != nil {
		o.Tracer.End(q, rec)
		rec.Obs.Trace = nil
	}
	if o.Metrics != nil {
		o.Metrics.Done(rec, rec.Obs.Counted)
		rec.Obs.Counted = false
	}
	if o.AccessLog != nil {
		o.AccessLog.Log(rec)
	}
	if o.Processing != nil && rec.Processing != 0 {
		o.Processing.Add(-1)
	}
	if o.Done != nil {
		o.Done(rec)
	}
}
