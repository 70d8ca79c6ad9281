// Package tracing exports OpenTelemetry traces of the requests a server
// proxies, for servers with an otlp_exporter URL.
//
// # Model
//
// ParseURL turns the URL and Pingap's query options into a Config, at load
// time; New builds a Tracer on it: an OTLP exporter (gRPC or HTTP), a
// batch span processor, a sampler and the W3C propagators. A Tracer is
// meant to live across config generations that keep the same URL (host/app
// shares them), since it owns a connection and a queue of spans.
//
// Per request, Start opens the server span, continuing the trace of the
// client's traceparent/tracestate (and baggage, when asked for);
// BeforeUpstream opens a client span for each attempt to reach a backend
// and injects its context into the outbound request, so that the trace
// goes on in the backend (Pingap does not do this); PluginCall records a
// span per plugin callback; End closes them with the request's figures
// from reqinfo.Record: HTTP semantic-convention attributes and Pingap's
// upstream.* timings.
//
// A server without otlp_exporter has no Tracer and pays nothing: the
// observers never call into this package.
//
// # Concurrency
//
// A Tracer is safe for concurrent use. A Request belongs to one request
// and is used from the goroutine serving it.
package tracing
