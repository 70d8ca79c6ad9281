package abi

// Module names a plugin imports functions from.
const (
	// ModuleEnv is the module every proxy-wasm host function is imported from.
	ModuleEnv = "env"
	// ModuleWASI is the WASI preview 1 module (clocks, random, stdout, ...).
	ModuleWASI = "wasi_snapshot_preview1"
	// ModuleWASIUnstable is the older name of ModuleWASI, still imported by
	// AssemblyScript and old TinyGo modules. Hosts serve the same functions
	// under both names.
	ModuleWASIUnstable = "wasi_unstable"
)

// ABI version markers: functions a plugin exports (and the host never calls)
// to say which ABI it was built for. A host looks for the first one present.
const (
	// MarkerV0_2_1 is exported by the Rust, C++ and AssemblyScript SDKs.
	MarkerV0_2_1 = "proxy_abi_version_0_2_1"
	// MarkerV0_2_0 is exported by proxy-wasm-go-sdk (Go 1.24+ and TinyGo).
	// It differs from 0.2.1 only by the absence of FuncGetLogLevel.
	MarkerV0_2_0 = "proxy_abi_version_0_2_0"
	// MarkerV0_1_0 is the legacy ABI (two-argument header callbacks,
	// proxy_continue_request/response). sluice does not run it; the name is
	// here so that a host can refuse such a module with a precise error.
	MarkerV0_1_0 = "proxy_abi_version_0_1_0"
)

// Start functions, called once per instance before anything else (see
// proxy-wasm.md §1.2): a WASI reactor exports StartInitialize, optionally
// followed by StartMain or StartMainVoid (Emscripten); a WASI command exports
// StartStart instead.
const (
	StartInitialize = "_initialize"
	StartMain       = "main"
	StartMainVoid   = "__main_void"
	StartStart      = "_start"
)

// Host functions (imported by the plugin from ModuleEnv). Each name's doc
// gives its parameters; every function returns a Status as i32. The
// signatures are in HostFunctions.
const (
	// FuncLog logs a message: (level LogLevel, msg_ptr, msg_len).
	FuncLog = "proxy_log"
	// FuncGetLogLevel writes the host's current log level as a u32:
	// (return_level). Since 0.2.1.
	FuncGetLogLevel = "proxy_get_log_level"
	// FuncGetCurrentTimeNanoseconds writes the wall clock as u64 nanoseconds
	// since the Unix epoch: (return_time).
	FuncGetCurrentTimeNanoseconds = "proxy_get_current_time_nanoseconds"
	// FuncSetTickPeriodMilliseconds sets the root context's tick period; 0
	// stops ticks: (period_ms).
	FuncSetTickPeriodMilliseconds = "proxy_set_tick_period_milliseconds"

	// FuncGetBufferBytes copies a window of a buffer to a fresh guest
	// allocation: (buffer BufferType, start, max_size, return_ptr,
	// return_len).
	FuncGetBufferBytes = "proxy_get_buffer_bytes"
	// FuncSetBufferBytes replaces, prepends or appends to a mutable buffer:
	// (buffer BufferType, start, size, data_ptr, data_len).
	FuncSetBufferBytes = "proxy_set_buffer_bytes"
	// FuncGetBufferStatus writes a buffer's length and flags as u32s:
	// (buffer BufferType, return_len, return_flags).
	FuncGetBufferStatus = "proxy_get_buffer_status"

	// FuncGetHeaderMapPairs returns a whole map, serialized (EncodeMap):
	// (map MapType, return_ptr, return_len).
	FuncGetHeaderMapPairs = "proxy_get_header_map_pairs"
	// FuncSetHeaderMapPairs replaces a whole map with a serialized one:
	// (map MapType, ptr, len).
	FuncSetHeaderMapPairs = "proxy_set_header_map_pairs"
	// FuncGetHeaderMapValue returns the first value of a key: (map MapType,
	// key_ptr, key_len, return_ptr, return_len).
	FuncGetHeaderMapValue = "proxy_get_header_map_value"
	// FuncAddHeaderMapValue appends a value: (map MapType, key_ptr, key_len,
	// value_ptr, value_len).
	FuncAddHeaderMapValue = "proxy_add_header_map_value"
	// FuncReplaceHeaderMapValue sets a value, overwriting the first existing
	// one: (map MapType, key_ptr, key_len, value_ptr, value_len).
	FuncReplaceHeaderMapValue = "proxy_replace_header_map_value"
	// FuncRemoveHeaderMapValue removes every value of a key: (map MapType,
	// key_ptr, key_len).
	FuncRemoveHeaderMapValue = "proxy_remove_header_map_value"
	// FuncGetHeaderMapSize writes the map's byte size (sum of key and value
	// lengths) as a u32: (map MapType, return_size).
	FuncGetHeaderMapSize = "proxy_get_header_map_size"

	// FuncContinueStream resumes a paused stream after the current callback
	// returns: (stream StreamType).
	FuncContinueStream = "proxy_continue_stream"
	// FuncCloseStream resets the stream after the current callback returns:
	// (stream StreamType).
	FuncCloseStream = "proxy_close_stream"
	// FuncSendLocalResponse answers the request from the plugin:
	// (status_code, details_ptr, details_len, body_ptr, body_len,
	// headers_ptr, headers_len, grpc_status). Headers are a serialized map;
	// grpc_status GrpcStatusNone adds no grpc-status.
	FuncSendLocalResponse = "proxy_send_local_response"
	// FuncGetStatus writes the status of the last http call of the root
	// context: (return_code, return_msg_ptr, return_msg_len).
	FuncGetStatus = "proxy_get_status"

	// FuncHTTPCall starts an asynchronous HTTP request to a named upstream:
	// (upstream_ptr, upstream_len, headers_ptr, headers_len, body_ptr,
	// body_len, trailers_ptr, trailers_len, timeout_ms, return_token). The
	// answer arrives in CallbackOnHTTPCallResponse.
	FuncHTTPCall = "proxy_http_call"

	// FuncGrpcCall, FuncGrpcStream, FuncGrpcSend, FuncGrpcCancel and
	// FuncGrpcClose are Envoy's gRPC callouts. sluice does not implement
	// them: they answer StatusUnimplemented. (The AssemblyScript SDK declares
	// different signatures for the first two, so hosts must not insist on
	// the ones in HostFunctions.)
	FuncGrpcCall   = "proxy_grpc_call"
	FuncGrpcStream = "proxy_grpc_stream"
	FuncGrpcSend   = "proxy_grpc_send"
	FuncGrpcCancel = "proxy_grpc_cancel"
	FuncGrpcClose  = "proxy_grpc_close"

	// FuncGetSharedData reads a key of the VM-wide store: (key_ptr, key_len,
	// return_value_ptr, return_value_len, return_cas).
	//
	// sluice extension: for an absent key (NOT_FOUND) it still writes a
	// fresh CAS to return_cas. Set with that CAS creates the key only if it
	// is still absent, else CAS_MISMATCH; Envoy writes nothing there and a
	// set after NOT_FOUND always stores.
	FuncGetSharedData = "proxy_get_shared_data"
	// FuncSetSharedData writes a key, with compare-and-swap when cas != 0:
	// (key_ptr, key_len, value_ptr, value_len, cas).
	FuncSetSharedData = "proxy_set_shared_data"

	// FuncRegisterSharedQueue creates or opens a queue owned by the calling
	// root context: (name_ptr, name_len, return_queue_id).
	FuncRegisterSharedQueue = "proxy_register_shared_queue"
	// FuncResolveSharedQueue finds an existing queue: (vm_id_ptr, vm_id_len,
	// name_ptr, name_len, return_queue_id).
	FuncResolveSharedQueue = "proxy_resolve_shared_queue"
	// FuncEnqueueSharedQueue appends an item: (queue_id, value_ptr,
	// value_len).
	FuncEnqueueSharedQueue = "proxy_enqueue_shared_queue"
	// FuncDequeueSharedQueue pops the first item: (queue_id, return_ptr,
	// return_len).
	FuncDequeueSharedQueue = "proxy_dequeue_shared_queue"

	// FuncDefineMetric creates a metric: (type MetricType, name_ptr,
	// name_len, return_metric_id).
	FuncDefineMetric = "proxy_define_metric"
	// FuncIncrementMetric adds a signed i64 delta: (metric_id, delta).
	FuncIncrementMetric = "proxy_increment_metric"
	// FuncRecordMetric sets a gauge, adds to a counter or records a
	// histogram sample (i64): (metric_id, value).
	FuncRecordMetric = "proxy_record_metric"
	// FuncGetMetric writes a counter or gauge value as u64: (metric_id,
	// return_value).
	FuncGetMetric = "proxy_get_metric"

	// FuncGetProperty reads an attribute by path (JoinPath): (path_ptr,
	// path_len, return_ptr, return_len).
	FuncGetProperty = "proxy_get_property"
	// FuncSetProperty stores a value under a path for the rest of the
	// stream: (path_ptr, path_len, value_ptr, value_len).
	FuncSetProperty = "proxy_set_property"

	// FuncSetEffectiveContext makes the following host calls of the current
	// callback act on another context (e.g. a stream from a root's
	// http-call response): (context_id).
	FuncSetEffectiveContext = "proxy_set_effective_context"
	// FuncDone tells the host that a root context which answered false to
	// CallbackOnDone has finished: ().
	FuncDone = "proxy_done"
	// FuncCallForeignFunction calls a named host extension (e.g. ForeignCompress):
	// (name_ptr, name_len, args_ptr, args_len, return_ptr, return_len).
	FuncCallForeignFunction = "proxy_call_foreign_function"
)

// Callbacks (exported by the plugin, called by the host). The first
// parameter is always a context id.
const (
	// FuncMalloc and FuncOnMemoryAllocate are the guest allocators, (size) ->
	// ptr. Hosts prefer FuncMalloc when both exist (as Envoy does); the Go
	// SDK exports only FuncOnMemoryAllocate.
	FuncMalloc           = "malloc"
	FuncOnMemoryAllocate = "proxy_on_memory_allocate"

	// CallbackOnContextCreate creates a context: (context_id, parent_id).
	// parent_id 0 creates a root (plugin) context, otherwise a stream
	// context under that root.
	CallbackOnContextCreate = "proxy_on_context_create"
	// CallbackOnVMStart starts a root context: (root_id, vm_config_size) ->
	// bool. false means the VM cannot be used.
	CallbackOnVMStart = "proxy_on_vm_start"
	// CallbackValidateConfiguration checks a plugin configuration without
	// applying it: (root_id, config_size) -> bool.
	CallbackValidateConfiguration = "proxy_validate_configuration"
	// CallbackOnConfigure configures a root context; the configuration is in
	// BufferPluginConfiguration: (root_id, config_size) -> bool. false
	// rejects the configuration.
	CallbackOnConfigure = "proxy_on_configure"
	// CallbackOnTick is called every tick period: (root_id).
	CallbackOnTick = "proxy_on_tick"
	// CallbackOnQueueReady is called after an item was enqueued on a queue
	// the root registered: (root_id, queue_id).
	CallbackOnQueueReady = "proxy_on_queue_ready"

	// TCP callbacks (not driven by sluice, which runs HTTP filters only).
	CallbackOnNewConnection             = "proxy_on_new_connection"
	CallbackOnDownstreamData            = "proxy_on_downstream_data"
	CallbackOnUpstreamData              = "proxy_on_upstream_data"
	CallbackOnDownstreamConnectionClose = "proxy_on_downstream_connection_close"
	CallbackOnUpstreamConnectionClose   = "proxy_on_upstream_connection_close"

	// CallbackOnRequestHeaders: (context_id, num_headers, end_of_stream) ->
	// Action. end_of_stream is 1 when the request has no body.
	CallbackOnRequestHeaders = "proxy_on_request_headers"
	// CallbackOnRequestBody: (context_id, body_size, end_of_stream) ->
	// Action. body_size is the whole buffered body, not just the new chunk.
	CallbackOnRequestBody = "proxy_on_request_body"
	// CallbackOnRequestTrailers: (context_id, num_trailers) -> Action.
	CallbackOnRequestTrailers = "proxy_on_request_trailers"
	// CallbackOnRequestMetadata: (context_id, num_elements) -> Action.
	// HTTP/2 METADATA; never called by sluice.
	CallbackOnRequestMetadata = "proxy_on_request_metadata"
	// CallbackOnResponseHeaders, CallbackOnResponseBody,
	// CallbackOnResponseTrailers and CallbackOnResponseMetadata mirror the
	// request side.
	CallbackOnResponseHeaders  = "proxy_on_response_headers"
	CallbackOnResponseBody     = "proxy_on_response_body"
	CallbackOnResponseTrailers = "proxy_on_response_trailers"
	CallbackOnResponseMetadata = "proxy_on_response_metadata"

	// CallbackOnHTTPCallResponse delivers an http call's answer to the
	// root context that made it: (root_id, token, num_headers, body_size,
	// num_trailers). All three counts are 0 when the call failed.
	CallbackOnHTTPCallResponse = "proxy_on_http_call_response"

	// gRPC callbacks (never called by sluice, see FuncGrpcCall).
	CallbackOnGrpcReceiveInitialMetadata  = "proxy_on_grpc_receive_initial_metadata"
	CallbackOnGrpcReceive                 = "proxy_on_grpc_receive"
	CallbackOnGrpcReceiveTrailingMetadata = "proxy_on_grpc_receive_trailing_metadata"
	CallbackOnGrpcClose                   = "proxy_on_grpc_close"

	// CallbackOnForeignFunction is a host-initiated call into the plugin:
	// (root_id, function_id, args_size).
	CallbackOnForeignFunction = "proxy_on_foreign_function"

	// CallbackOnLog is the last look at a finished stream: (context_id).
	CallbackOnLog = "proxy_on_log"
	// CallbackOnDone says the host is finished with a context: (context_id)
	// -> bool. A root may answer false and call FuncDone later.
	CallbackOnDone = "proxy_on_done"
	// CallbackOnDelete drops a context's state: (context_id).
	CallbackOnDelete = "proxy_on_delete"
)

// Foreign functions (FuncCallForeignFunction) every sluice host provides.
const (
	// ForeignCompress compresses its argument with zlib (RFC 1950), as
	// Envoy's "compress".
	ForeignCompress = "compress"
	// ForeignUncompress reverses ForeignCompress.
	ForeignUncompress = "uncompress"
)

// CallbackStreamCallbacks is a sluice extension to the ABI: an optional
// export, (root_id) -> i32, that a plugin's SDK may provide to tell the host
// which stream callbacks the plugin at root_id does something in, as a
// StreamCallbacks mask. The host asks once, after proxy_on_configure
// accepted the configuration, and then skips the callbacks outside the
// mask (the same as calling them and getting Continue); a mask of 0 means
// the plugin takes no part in streams, so no stream context is created for
// it at all. Each call into a guest costs about a microsecond with the
// per-call time budget on, and most plugins use two or three of the eight
// stream callbacks, so the saving is most of a plugin's cost per request.
// Hosts that do not know the export ignore it, so a plugin exporting it
// still runs everywhere.
const CallbackStreamCallbacks = "sluice_stream_callbacks"

// StreamCallbacks is the mask CallbackStreamCallbacks returns: which stream
// callbacks a plugin needs. proxy_on_context_create and proxy_on_delete are
// called for every stream of a plugin whose mask is not 0.
type StreamCallbacks uint32

// The bits of StreamCallbacks.
const (
	StreamRequestHeaders StreamCallbacks = 1 << iota
	StreamRequestBody
	StreamRequestTrailers
	StreamResponseHeaders
	StreamResponseBody
	StreamResponseTrailers
	StreamLog
	StreamDone

	// StreamAll is what a host assumes of a plugin without the export.
	StreamAll StreamCallbacks = 1<<iota - 1
)
