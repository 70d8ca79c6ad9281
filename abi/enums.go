package abi

import "strconv"

// Status is what a host function returns to the plugin (proxy_status_t,
// Envoy's WasmResult). SDKs are strict about it: the Rust SDK panics on a
// status it does not expect for a given call, so hosts return exactly the
// statuses Envoy returns.
type Status uint32

// Statuses, numbered as in proxy-wasm-cpp-host.
const (
	StatusOK Status = 0
	// StatusNotFound: a missing key, property, queue, metric or foreign
	// function, or a buffer not available in this phase.
	StatusNotFound Status = 1
	// StatusBadArgument: an unknown enum value, a map or buffer that cannot
	// be changed now, an unknown upstream, a malformed request.
	StatusBadArgument Status = 2
	// StatusSerializationFailure: a value that cannot be encoded, a foreign
	// function that failed on its input.
	StatusSerializationFailure Status = 3
	// StatusParseFailure: gRPC only (unknown upstream).
	StatusParseFailure Status = 4
	// StatusBadExpression is declared by the C++ SDK only.
	StatusBadExpression Status = 5
	// StatusInvalidMemoryAccess: a pointer or size outside linear memory, or
	// a guest allocator that returned 0.
	StatusInvalidMemoryAccess Status = 6
	// StatusEmpty: a shared queue with nothing in it.
	StatusEmpty Status = 7
	// StatusCasMismatch: shared data changed since the caller read it.
	StatusCasMismatch Status = 8
	// StatusResultMismatch is declared by the C++ SDK only.
	StatusResultMismatch Status = 9
	// StatusInternalFailure: the host failed (e.g. could not start an http
	// call).
	StatusInternalFailure Status = 10
	// StatusBrokenConnection: reported by FuncGetStatus after a failed http
	// call.
	StatusBrokenConnection Status = 11
	// StatusUnimplemented: a function the host does not provide.
	StatusUnimplemented Status = 12
)

var statusNames = [...]string{
	"OK", "NOT_FOUND", "BAD_ARGUMENT", "SERIALIZATION_FAILURE", "PARSE_FAILURE",
	"BAD_EXPRESSION", "INVALID_MEMORY_ACCESS", "EMPTY", "CAS_MISMATCH",
	"RESULT_MISMATCH", "INTERNAL_FAILURE", "BROKEN_CONNECTION", "UNIMPLEMENTED",
}

// String returns the status's proxy-wasm name, e.g. "NOT_FOUND".
func (s Status) String() string { return enumName(statusNames[:], "Status", uint32(s)) }

// Action is what an HTTP callback returns (proxy_action_t). The Rust, Go and
// AssemblyScript SDKs return only ActionContinue and ActionPause; the C++ SDK
// returns Envoy's filter statuses, whose extra values a host maps as
// described on each constant.
type Action uint32

// Actions.
const (
	// ActionContinue lets the stream go on to the next filter.
	ActionContinue Action = 0
	// ActionPause stops the stream until FuncContinueStream. On a body
	// callback it buffers the data (Envoy StopIterationAndBuffer); on a
	// headers callback it stops body delivery too.
	ActionPause Action = 1
	// ActionContinueAndEndStream (headers only, C++ SDK) is treated as
	// ActionContinue, as Envoy does. On a body callback the same number is
	// StopIterationAndWatermark, treated as ActionPause.
	ActionContinueAndEndStream Action = 2
	// ActionStopAllIterationAndBuffer (headers only, C++ SDK) is treated as
	// ActionPause. On a body callback the same number is
	// StopIterationNoBuffer, also treated as ActionPause.
	ActionStopAllIterationAndBuffer Action = 3
	// ActionStopAllIterationAndWatermark (headers only, C++ SDK) is treated
	// as ActionPause.
	ActionStopAllIterationAndWatermark Action = 4
)

var actionNames = [...]string{
	"Continue", "Pause", "ContinueAndEndStream", "StopAllIterationAndBuffer",
	"StopAllIterationAndWatermark",
}

// String returns the action's name, e.g. "Pause".
func (a Action) String() string { return enumName(actionNames[:], "Action", uint32(a)) }

// BufferType selects a buffer for FuncGetBufferBytes, FuncSetBufferBytes and
// FuncGetBufferStatus. Values above BufferForeignFunctionArguments are
// StatusBadArgument.
type BufferType uint32

// Buffer types.
const (
	// BufferHTTPRequestBody is the request body seen by the current body
	// callback: the whole buffered body if earlier chunks were paused.
	BufferHTTPRequestBody BufferType = 0
	// BufferHTTPResponseBody mirrors BufferHTTPRequestBody.
	BufferHTTPResponseBody BufferType = 1
	// BufferDownstreamData and BufferUpstreamData are TCP data.
	BufferDownstreamData BufferType = 2
	BufferUpstreamData   BufferType = 3
	// BufferHTTPCallResponseBody is the body of an http call's answer,
	// readable during CallbackOnHTTPCallResponse only.
	BufferHTTPCallResponseBody BufferType = 4
	// BufferGrpcReceiveBuffer is a received gRPC message.
	BufferGrpcReceiveBuffer BufferType = 5
	// BufferVMConfiguration is the VM configuration, always readable.
	BufferVMConfiguration BufferType = 6
	// BufferPluginConfiguration is the plugin's configuration, readable
	// during CallbackOnConfigure only. sluice passes the plugin's TOML table
	// as JSON.
	BufferPluginConfiguration BufferType = 7
	// BufferForeignFunctionArguments holds the arguments of a host-initiated
	// CallbackOnForeignFunction.
	BufferForeignFunctionArguments BufferType = 8
)

var bufferNames = [...]string{
	"HttpRequestBody", "HttpResponseBody", "DownstreamData", "UpstreamData",
	"HttpCallResponseBody", "GrpcReceiveBuffer", "VmConfiguration",
	"PluginConfiguration", "CallData",
}

// String returns the buffer type's proxy-wasm name, e.g. "HttpRequestBody".
func (b BufferType) String() string { return enumName(bufferNames[:], "BufferType", uint32(b)) }

// Valid reports whether b is a buffer type the ABI defines.
func (b BufferType) Valid() bool { return b <= BufferForeignFunctionArguments }

// MapType selects a header map. Values above MapHTTPCallResponseTrailers are
// StatusBadArgument.
type MapType uint32

// Map types.
const (
	MapHTTPRequestHeaders       MapType = 0
	MapHTTPRequestTrailers      MapType = 1
	MapHTTPResponseHeaders      MapType = 2
	MapHTTPResponseTrailers     MapType = 3
	MapGrpcReceiveInitialMeta   MapType = 4
	MapGrpcReceiveTrailingMeta  MapType = 5
	MapHTTPCallResponseHeaders  MapType = 6
	MapHTTPCallResponseTrailers MapType = 7
)

var mapNames = [...]string{
	"HttpRequestHeaders", "HttpRequestTrailers", "HttpResponseHeaders",
	"HttpResponseTrailers", "GrpcReceiveInitialMetadata",
	"GrpcReceiveTrailingMetadata", "HttpCallResponseHeaders",
	"HttpCallResponseTrailers",
}

// String returns the map type's proxy-wasm name, e.g. "HttpRequestHeaders".
func (m MapType) String() string { return enumName(mapNames[:], "MapType", uint32(m)) }

// Valid reports whether m is a map type the ABI defines.
func (m MapType) Valid() bool { return m <= MapHTTPCallResponseTrailers }

// LogLevel is the level of FuncLog and FuncGetLogLevel. Values above
// LogCritical are StatusBadArgument.
type LogLevel uint32

// Log levels.
const (
	LogTrace    LogLevel = 0
	LogDebug    LogLevel = 1
	LogInfo     LogLevel = 2
	LogWarn     LogLevel = 3
	LogError    LogLevel = 4
	LogCritical LogLevel = 5
)

var logNames = [...]string{"trace", "debug", "info", "warn", "error", "critical"}

// String returns the level's lower-case name, e.g. "warn".
func (l LogLevel) String() string { return enumName(logNames[:], "LogLevel", uint32(l)) }

// Valid reports whether l is a level the ABI defines.
func (l LogLevel) Valid() bool { return l <= LogCritical }

// StreamType selects the direction for FuncContinueStream and
// FuncCloseStream. Values above StreamUpstream are StatusBadArgument.
type StreamType uint32

// Stream types.
const (
	StreamHTTPRequest  StreamType = 0
	StreamHTTPResponse StreamType = 1
	StreamDownstream   StreamType = 2
	StreamUpstream     StreamType = 3
)

var streamNames = [...]string{"HttpRequest", "HttpResponse", "Downstream", "Upstream"}

// String returns the stream type's proxy-wasm name, e.g. "HttpRequest".
func (s StreamType) String() string { return enumName(streamNames[:], "StreamType", uint32(s)) }

// PeerType says who closed a TCP connection
// (CallbackOnDownstreamConnectionClose).
type PeerType uint32

// Peer types.
const (
	PeerUnknown PeerType = 0
	PeerLocal   PeerType = 1
	PeerRemote  PeerType = 2
)

var peerNames = [...]string{"Unknown", "Local", "Remote"}

// String returns the peer type's name, e.g. "Remote".
func (p PeerType) String() string { return enumName(peerNames[:], "PeerType", uint32(p)) }

// MetricType is the kind of a metric defined with FuncDefineMetric. Values
// above MetricHistogram are StatusBadArgument. Envoy encodes the type in the
// low two bits of metric ids; plugins must treat ids as opaque.
type MetricType uint32

// Metric types.
const (
	MetricCounter   MetricType = 0
	MetricGauge     MetricType = 1
	MetricHistogram MetricType = 2
)

var metricNames = [...]string{"counter", "gauge", "histogram"}

// String returns the metric type's lower-case name, e.g. "counter".
func (m MetricType) String() string { return enumName(metricNames[:], "MetricType", uint32(m)) }

// Valid reports whether m is a metric type the ABI defines.
func (m MetricType) Valid() bool { return m <= MetricHistogram }

// GrpcStatusNone is the grpc_status argument of FuncSendLocalResponse that
// means "not a gRPC response" (-1 as an i32). Values 0 to 16 add a
// grpc-status header.
const GrpcStatusNone int32 = -1

// enumName returns names[v], or "Type(v)" for a value without a name.
func enumName(names []string, typ string, v uint32) string {
	if int(v) < len(names) {
		return names[v]
	}
	return typ + "(" + strconv.FormatUint(uint64(v), 10) + ")"
}
