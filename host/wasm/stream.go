package wasm

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/sluice-proxy/sluice/abi"
)

// Stream is what the plugins of one request see of it: its four header maps
// and the attributes the host cannot derive from them. host/proxy implements
// it over the real request and response; wasmtest.Stream is an in-memory
// implementation, and wasmtest.CheckStream checks any implementation.
//
// The host calls a Stream from one goroutine at a time (the one driving the
// Filter, or a VM delivering an asynchronous callback while that goroutine
// waits), never concurrently.
type Stream interface {
	// Headers returns one of the four maps of the stream: m is
	// abi.MapHTTPRequestHeaders, abi.MapHTTPRequestTrailers,
	// abi.MapHTTPResponseHeaders or abi.MapHTTPResponseTrailers. It never
	// returns nil: a map that does not exist yet (the response headers before
	// the response, trailers of a request without any) is empty, and what a
	// plugin adds to it is what the proxy sends (a local response's headers,
	// trailers created at the end of a body). The host decides when a plugin
	// may read or change each map; the Stream does not check phases.
	Headers(m abi.MapType) HeaderMap

	// Attribute returns an Envoy attribute that is not a header, by its
	// dotted name: "source.address" ("ip:port"), "source.port",
	// "destination.address", "destination.port", "connection.id",
	// "connection.mtls", "connection.tls_version",
	// "connection.requested_server_name", "request.time",
	// "request.protocol" ("HTTP/1.1", "HTTP/2"), "request.duration",
	// "request.size", "request.total_size", "response.code_details",
	// "response.size", "response.total_size", "upstream.address",
	// "upstream.port", "xds.route_name", "xds.cluster_name", ... The host
	// answers itself the attributes derived from the header maps
	// (request.path, request.url_path, request.host, request.scheme,
	// request.method, request.headers, request.referer, request.useragent,
	// request.id, request.query, response.code, response.headers,
	// response.trailers) and the plugin_* ones. ok is false for an unknown
	// or unavailable attribute.
	Attribute(name string) (v Value, ok bool)
}

// AttributeSetter may be implemented by a Stream to receive the properties
// plugins set with proxy_set_property, by dotted name (path segments joined
// with "."). It returns false to refuse a value (the plugin gets
// BAD_ARGUMENT). Names it does not know it must accept and ignore: the value
// is kept for the plugin either way.
type AttributeSetter interface {
	SetAttribute(name, value string) bool
}

// CallObserver may be implemented by a Stream to be told of every plugin
// callback made for it, for metrics and tracing: the plugin, the callback
// (its proxy-wasm name without "proxy_on_", e.g. "request_headers"), when it
// started and how long it took. It is called on the VM's goroutine and must
// be quick.
type CallObserver interface {
	PluginCall(plugin, callback string, start time.Time, d time.Duration)
}

// LocalBodyStreamer may be implemented by a Stream whose local responses can
// carry a body the host streams itself (a file a plugin named), instead of
// bytes the plugin passed. When LocalBodyFollows reports true as a local
// response is made in the request phase, the response-header callbacks run
// without end of stream and the host then passes the body through
// OnResponseBody, chunk by chunk, as it would an upstream's.
type LocalBodyStreamer interface {
	LocalBodyFollows() bool
}

// HeaderMap is one ordered multi-map of a Stream. Keys are lower-case ASCII:
// the host lower-cases what plugins pass, and AppendPairs returns lower-case
// keys. Request headers include the pseudo-headers :method, :path (path and
// query as sent upstream), :authority and :scheme; response headers include
// :status. Pseudo-headers come first in AppendPairs, cannot be removed, and
// Add of a pseudo-header sets it.
type HeaderMap interface {
	// Len is the number of pairs, pseudo-headers included.
	Len() int
	// Get returns the first value of key.
	Get(key string) (value string, ok bool)
	// AppendPairs appends every pair, in order, to dst and returns it.
	AppendPairs(dst [][2]string) [][2]string
	// Add appends a value, keeping the existing ones.
	Add(key, value string)
	// Set overwrites the first value of key, keeping later duplicates (as
	// Envoy's setCopy), or adds the key if it is absent.
	Set(key, value string)
	// Remove deletes every value of key.
	Remove(key string)
	// Replace makes the map exactly pairs. Pseudo-headers missing from
	// pairs keep their value.
	Replace(pairs [][2]string)
}

// Value is an attribute value, typed as proxy-wasm encodes it (see
// proxy-wasm.md §4.3). The zero Value is the empty string.
type Value struct {
	kind valueKind
	s    string
	n    uint64
}

type valueKind uint8

const (
	kindString valueKind = iota
	kindInt
	kindBool
)

// StringValue is a string or bytes attribute, passed as its raw bytes.
func StringValue(s string) Value { return Value{kind: kindString, s: s} }

// IntValue is an integer attribute (ports, sizes, ids), passed as 8 bytes
// little-endian.
func IntValue(n int64) Value { return Value{kind: kindInt, n: uint64(n)} }

// UintValue is an unsigned integer attribute, passed as 8 bytes
// little-endian.
func UintValue(n uint64) Value { return Value{kind: kindInt, n: n} }

// BoolValue is a boolean attribute, passed as one byte.
func BoolValue(b bool) Value {
	v := Value{kind: kindBool}
	if b {
		v.n = 1
	}
	return v
}

// TimeValue is a timestamp attribute, passed as int64 nanoseconds since the
// Unix epoch.
func TimeValue(t time.Time) Value { return IntValue(t.UnixNano()) }

// DurationValue is a duration attribute, passed as int64 nanoseconds.
func DurationValue(d time.Duration) Value { return IntValue(int64(d)) }

// FloatValue is a double attribute, passed as 8 bytes IEEE 754
// little-endian.
func FloatValue(f float64) Value { return Value{kind: kindInt, n: math.Float64bits(f)} }

// AppendEncoded appends the proxy-wasm encoding of v to dst.
func (v Value) AppendEncoded(dst []byte) []byte {
	switch v.kind {
	case kindInt:
		return binary.LittleEndian.AppendUint64(dst, v.n)
	case kindBool:
		return append(dst, byte(v.n))
	}
	return append(dst, v.s...)
}

// String returns the value as text, for logs and tests: strings as they
// are, integers in decimal, booleans as true or false.
func (v Value) String() string {
	switch v.kind {
	case kindInt:
		return formatInt(int64(v.n))
	case kindBool:
		if v.n != 0 {
			return "true"
		}
		return "false"
	}
	return v.s
}

func formatInt(n int64) string {
	var b [20]byte
	i := len(b)
	u := uint64(n)
	if n < 0 {
		u = uint64(-n)
	}
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if n < 0 {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Outcome is how a Filter call ended.
type Outcome uint8

// Outcomes.
const (
	// Continue: go on with the request (or response).
	Continue Outcome = iota
	// Respond: a plugin answered. Send Result.Response instead of what was
	// in progress: in the request phase the upstream is not contacted; in the
	// response phase the upstream response is dropped. The response has
	// already passed through the response callbacks of the plugins entered,
	// and the Stream's response headers hold its final headers (with
	// :status).
	Respond
	// Fail: a plugin failed (its VM trapped, timed out or is gone and its
	// fail_policy is "closed"), or the request's context ended while a plugin
	// held it. Answer 500 if nothing was sent yet; Result.Err says why.
	Fail
	// Reset: a plugin closed the stream (proxy_close_stream). Reset it (or
	// close the connection) without a response.
	Reset
)

var outcomeNames = [...]string{"Continue", "Respond", "Fail", "Reset"}

// String returns the outcome's name, e.g. "Respond".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "Outcome(" + formatInt(int64(o)) + ")"
}

// Result is what every Filter call returns. Its zero value is Continue.
type Result struct {
	Outcome Outcome
	// Plugin names the plugin that answered, failed or reset the stream.
	Plugin string
	// Response is set when Outcome is Respond.
	Response *LocalResponse
	// Err is set when Outcome is Fail.
	Err error
}

// LocalResponse is a response made by a plugin
// (proxy_send_local_response), after the response callbacks of the plugins
// entered have seen it.
type LocalResponse struct {
	// Status is the HTTP status code (the final :status).
	Status int
	// Headers are the final response headers, without :status.
	Headers [][2]string
	// Body is the final body.
	Body []byte
	// Details is the plugin's reason (Envoy's response code details), for the
	// access log; whitespace is replaced by '_'.
	Details string
}
