// Package reqinfo defines the record that the proxy keeps for each request
// and hands, once the response is done, to the observability leaves
// (host/accesslog, host/metrics, host/tracing). It lives in host/internal
// because those leaves may not import host/proxy, and the proxy should not
// import a particular leaf just to describe a request.
package reqinfo

import (
	"net/http"
	"time"
)

// Record is everything known about a finished (or finishing) request. The
// proxy reuses Records from a pool: a consumer must not keep a Record or
// anything it points to after its hook returns (copy what it needs).
type Record struct {
	// Start is when the proxy began handling the request.
	Start time.Time
	// Latency is the time from Start until the response was finished.
	Latency time.Duration

	// Server and Location are config names; Location is "" when no location
	// matched.
	Server, Location string
	// Upstream is the upstream's config name, "" if the request did not
	// reach one.
	Upstream string
	// RequestID is the proxy's id of the request (also in error bodies).
	RequestID string

	// Req is the request as the handler received it. Its header map is the
	// one forwarded upstream (with proxy headers applied); the fields below
	// keep what the client sent before any rewrite.
	Req *http.Request
	// Method, Host, Path, Query, Proto and Scheme are as the client sent
	// them (Proto like "HTTP/1.1"; Scheme "http" or "https").
	Method, Host, Path, Query, Proto, Scheme string
	// Remote is the TCP peer ("ip:port"); ClientIP is the client's address
	// after trusted_proxies.
	Remote, ClientIP string

	// Status is the status sent to the client (0 if none was sent);
	// RespHeader the headers sent.
	Status     int
	RespHeader http.Header
	// BytesSent counts response body bytes written to the client;
	// BytesReceived counts request body bytes read from it.
	BytesSent, BytesReceived int64
	// ErrCause is the short cause of a proxy-made error response, "" if the
	// response came from the upstream or a plugin.
	ErrCause string
	// Err is the underlying error, if any (for the process log).
	Err error

	// ConnID numbers the client connection; ConnReused is true from its
	// second request on; ConnTime is how long the connection has been open.
	ConnID     uint64
	ConnReused bool
	ConnTime   time.Duration
	// TLSVersion and TLSCipher describe a TLS client connection ("" if
	// plain); TLSHandshake is how long its handshake took.
	TLSVersion, TLSCipher string
	TLSHandshake          time.Duration

	// UpstreamAddr is the backend's address; UpstreamStatus its status.
	UpstreamAddr   string
	UpstreamStatus int
	// UpstreamReused is true when a pooled connection carried the request.
	UpstreamReused bool
	// UpstreamConnect, UpstreamTLS are the TCP connect and TLS handshake
	// times of a new upstream connection; UpstreamProcessing is from the
	// request written to the response headers read; UpstreamResponse is the
	// whole upstream exchange including the body.
	UpstreamConnect, UpstreamTLS, UpstreamProcessing, UpstreamResponse time.Duration
	// Retries counts further backends tried after the first.
	Retries int

	// Plugins are the plugin phases run, in order, with their durations.
	Plugins []PluginTiming
	// PluginsTime is the time spent in plugin callbacks in all (including
	// waits for a paused plugin, e.g. an http callout).
	PluginsTime time.Duration
	// Values are further context values set by plugins (e.g. cache
	// status, compression ratio), by key. Nil when none.
	Values map[string]string

	// Processing is how many requests the server was handling when this
	// one arrived, itself included (the access log's {:processing}). The
	// observers (host/proxy/observe.go) set it.
	Processing int64
	// Obs is the observers' own state for the request; the proxy never
	// reads it.
	Obs Obs
}

// Obs is per-request state of the observers (host/proxy/observe.go),
// kept in the pooled Record so that observing costs no allocation.
type Obs struct {
	// Trace is host/tracing's state for the request, nil when the server
	// has no tracing.
	Trace any
	// Counted is set while the request is counted in its location's
	// in-flight gauge, so that it is uncounted exactly once.
	Counted bool
}

// PluginTiming is the time one plugin spent in one request.
type PluginTiming struct {
	Name string
	Dur  time.Duration
}

// Reset clears r for reuse, keeping its slices' capacity.
func (r *Record) Reset() {
	plugins := r.Plugins[:0]
	*r = Record{Plugins: plugins}
}

// PluginTotal is the sum of the plugin times.
func (r *Record) PluginTotal() time.Duration {
	var d time.Duration
	for _, p := range r.Plugins {
		d += p.Dur
	}
	return d
}
