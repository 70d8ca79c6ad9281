package abi

import "strings"

// ValType is a WebAssembly value type, numbered as in the binary format (so
// it converts directly to wazero's api.ValueType).
type ValType byte

// The value types the ABI uses.
const (
	I32 ValType = 0x7f
	I64 ValType = 0x7e
)

// String returns the type's WebAssembly text name.
func (t ValType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case 0x7d:
		return "f32"
	case 0x7c:
		return "f64"
	}
	return "unknown"
}

// Signature is a function's WebAssembly type.
type Signature struct {
	Params  []ValType
	Results []ValType
}

// Equal reports whether s and o have the same parameter and result types.
func (s Signature) Equal(o Signature) bool {
	return equalTypes(s.Params, o.Params) && equalTypes(s.Results, o.Results)
}

func equalTypes(a, b []ValType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// String writes the signature as "(i32, i32) -> i32".
func (s Signature) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, t := range s.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.String())
	}
	b.WriteString(") -> ")
	switch len(s.Results) {
	case 0:
		b.WriteString("()")
	case 1:
		b.WriteString(s.Results[0].String())
	default:
		b.WriteByte('(')
		for i, t := range s.Results {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(t.String())
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Func describes one function crossing the boundary: its name, its
// parameter names (for traces and docs) and its signature.
type Func struct {
	Name       string
	ParamNames []string
	Signature
}

// fn builds a Func whose parameters are i32, except those whose name ends
// in ":i64".
func fn(name string, results []ValType, params ...string) Func {
	f := Func{Name: name, Signature: Signature{Results: results}}
	f.ParamNames = make([]string, len(params))
	f.Params = make([]ValType, len(params))
	for i, p := range params {
		f.ParamNames[i], f.Params[i] = p, I32
		if n, ok := strings.CutSuffix(p, ":i64"); ok {
			f.ParamNames[i], f.Params[i] = n, I64
		}
	}
	return f
}

var (
	i32Result = []ValType{I32}
	none      []ValType
)

// HostFunctions lists the proxy-wasm v0.2.1 host functions of ModuleEnv with
// Envoy's signatures, in the order of proxy-wasm.md §3. Every one returns a
// Status. The gRPC functions are absent: see FuncGrpcCall.
var HostFunctions = []Func{
	fn(FuncLog, i32Result, "level", "message_ptr", "message_len"),
	fn(FuncGetLogLevel, i32Result, "return_level"),
	fn(FuncGetCurrentTimeNanoseconds, i32Result, "return_time"),
	fn(FuncSetTickPeriodMilliseconds, i32Result, "period_ms"),
	fn(FuncGetBufferBytes, i32Result, "buffer", "start", "max_size", "return_ptr", "return_len"),
	fn(FuncSetBufferBytes, i32Result, "buffer", "start", "size", "data_ptr", "data_len"),
	fn(FuncGetBufferStatus, i32Result, "buffer", "return_len", "return_flags"),
	fn(FuncGetHeaderMapPairs, i32Result, "map", "return_ptr", "return_len"),
	fn(FuncSetHeaderMapPairs, i32Result, "map", "ptr", "len"),
	fn(FuncGetHeaderMapValue, i32Result, "map", "key_ptr", "key_len", "return_ptr", "return_len"),
	fn(FuncAddHeaderMapValue, i32Result, "map", "key_ptr", "key_len", "value_ptr", "value_len"),
	fn(FuncReplaceHeaderMapValue, i32Result, "map", "key_ptr", "key_len", "value_ptr", "value_len"),
	fn(FuncRemoveHeaderMapValue, i32Result, "map", "key_ptr", "key_len"),
	fn(FuncGetHeaderMapSize, i32Result, "map", "return_size"),
	fn(FuncContinueStream, i32Result, "stream"),
	fn(FuncCloseStream, i32Result, "stream"),
	fn(FuncSendLocalResponse, i32Result, "status_code", "details_ptr", "details_len", "body_ptr", "body_len", "headers_ptr", "headers_len", "grpc_status"),
	fn(FuncGetStatus, i32Result, "return_code", "return_message_ptr", "return_message_len"),
	fn(FuncHTTPCall, i32Result, "upstream_ptr", "upstream_len", "headers_ptr", "headers_len", "body_ptr", "body_len", "trailers_ptr", "trailers_len", "timeout_ms", "return_token"),
	fn(FuncGetSharedData, i32Result, "key_ptr", "key_len", "return_value_ptr", "return_value_len", "return_cas"),
	fn(FuncSetSharedData, i32Result, "key_ptr", "key_len", "value_ptr", "value_len", "cas"),
	fn(FuncRegisterSharedQueue, i32Result, "name_ptr", "name_len", "return_queue_id"),
	fn(FuncResolveSharedQueue, i32Result, "vm_id_ptr", "vm_id_len", "name_ptr", "name_len", "return_queue_id"),
	fn(FuncEnqueueSharedQueue, i32Result, "queue_id", "value_ptr", "value_len"),
	fn(FuncDequeueSharedQueue, i32Result, "queue_id", "return_ptr", "return_len"),
	fn(FuncDefineMetric, i32Result, "type", "name_ptr", "name_len", "return_metric_id"),
	fn(FuncIncrementMetric, i32Result, "metric_id", "delta:i64"),
	fn(FuncRecordMetric, i32Result, "metric_id", "value:i64"),
	fn(FuncGetMetric, i32Result, "metric_id", "return_value"),
	fn(FuncGetProperty, i32Result, "path_ptr", "path_len", "return_ptr", "return_len"),
	fn(FuncSetProperty, i32Result, "path_ptr", "path_len", "value_ptr", "value_len"),
	fn(FuncSetEffectiveContext, i32Result, "context_id"),
	fn(FuncDone, i32Result),
	fn(FuncCallForeignFunction, i32Result, "name_ptr", "name_len", "args_ptr", "args_len", "return_ptr", "return_len"),
}

// Callbacks lists the exports of a plugin the host may call, with their
// signatures. All are optional except an allocator (FuncMalloc or
// FuncOnMemoryAllocate). Start functions and TCP, gRPC and metadata
// callbacks are included so that a host can check every export it knows.
var Callbacks = []Func{
	fn(FuncMalloc, i32Result, "size"),
	fn(FuncOnMemoryAllocate, i32Result, "size"),
	fn(CallbackOnContextCreate, none, "context_id", "parent_id"),
	fn(CallbackOnVMStart, i32Result, "root_id", "vm_config_size"),
	fn(CallbackValidateConfiguration, i32Result, "root_id", "config_size"),
	fn(CallbackOnConfigure, i32Result, "root_id", "config_size"),
	fn(CallbackOnTick, none, "root_id"),
	fn(CallbackOnQueueReady, none, "root_id", "queue_id"),
	fn(CallbackOnNewConnection, i32Result, "context_id"),
	fn(CallbackOnDownstreamData, i32Result, "context_id", "data_size", "end_of_stream"),
	fn(CallbackOnUpstreamData, i32Result, "context_id", "data_size", "end_of_stream"),
	fn(CallbackOnDownstreamConnectionClose, none, "context_id", "peer_type"),
	fn(CallbackOnUpstreamConnectionClose, none, "context_id", "peer_type"),
	fn(CallbackOnRequestHeaders, i32Result, "context_id", "num_headers", "end_of_stream"),
	fn(CallbackOnRequestBody, i32Result, "context_id", "body_size", "end_of_stream"),
	fn(CallbackOnRequestTrailers, i32Result, "context_id", "num_trailers"),
	fn(CallbackOnRequestMetadata, i32Result, "context_id", "num_elements"),
	fn(CallbackOnResponseHeaders, i32Result, "context_id", "num_headers", "end_of_stream"),
	fn(CallbackOnResponseBody, i32Result, "context_id", "body_size", "end_of_stream"),
	fn(CallbackOnResponseTrailers, i32Result, "context_id", "num_trailers"),
	fn(CallbackOnResponseMetadata, i32Result, "context_id", "num_elements"),
	fn(CallbackOnHTTPCallResponse, none, "root_id", "token", "num_headers", "body_size", "num_trailers"),
	fn(CallbackOnGrpcReceiveInitialMetadata, none, "root_id", "token", "num_elements"),
	fn(CallbackOnGrpcReceive, none, "root_id", "token", "message_size"),
	fn(CallbackOnGrpcReceiveTrailingMetadata, none, "root_id", "token", "num_elements"),
	fn(CallbackOnGrpcClose, none, "root_id", "token", "status_code"),
	fn(CallbackOnForeignFunction, none, "root_id", "function_id", "args_size"),
	fn(CallbackOnLog, none, "context_id"),
	fn(CallbackOnDone, i32Result, "context_id"),
	fn(CallbackOnDelete, none, "context_id"),
	fn(CallbackStreamCallbacks, i32Result, "root_id"),
}

// Lookup returns the entry of list (HostFunctions or Callbacks) named name.
func Lookup(list []Func, name string) (Func, bool) {
	for _, f := range list {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}
