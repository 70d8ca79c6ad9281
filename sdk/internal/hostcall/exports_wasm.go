//go:build wasm

package hostcall

import (
	"unsafe"

	"github.com/sluice-proxy/sluice/abi"
)

// The exports. Every callback the host drives for HTTP filters is here and
// forwards to the registered Guest; TCP, gRPC and metadata callbacks are
// not exported, so a host never creates such contexts for an SDK plugin.
// Booleans cross as uint32 (i32) so that any non-zero value means true.

// abiVersion marks the module as built for proxy-wasm 0.2.1.
//
//go:wasmexport proxy_abi_version_0_2_1
func abiVersion() {}

//go:wasmexport proxy_on_memory_allocate
func onMemoryAllocate(size uint32) unsafe.Pointer { return allocate(size) }

//go:wasmexport proxy_on_context_create
func onContextCreate(contextID, parentID uint32) { guest.OnContextCreate(contextID, parentID) }

//go:wasmexport proxy_on_vm_start
func onVMStart(rootID, vmConfigSize uint32) uint32 {
	return b2u(guest.OnVMStart(rootID, vmConfigSize))
}

//go:wasmexport proxy_on_configure
func onConfigure(rootID, configSize uint32) uint32 {
	return b2u(guest.OnConfigure(rootID, configSize))
}

//go:wasmexport proxy_on_tick
func onTick(rootID uint32) { guest.OnTick(rootID) }

//go:wasmexport proxy_on_queue_ready
func onQueueReady(rootID, queueID uint32) { guest.OnQueueReady(rootID, queueID) }

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(contextID, numHeaders, endOfStream uint32) abi.Action {
	return guest.OnRequestHeaders(contextID, numHeaders, endOfStream != 0)
}

//go:wasmexport proxy_on_request_body
func onRequestBody(contextID, bodySize, endOfStream uint32) abi.Action {
	return guest.OnRequestBody(contextID, bodySize, endOfStream != 0)
}

//go:wasmexport proxy_on_request_trailers
func onRequestTrailers(contextID, numTrailers uint32) abi.Action {
	return guest.OnRequestTrailers(contextID, numTrailers)
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(contextID, numHeaders, endOfStream uint32) abi.Action {
	return guest.OnResponseHeaders(contextID, numHeaders, endOfStream != 0)
}

//go:wasmexport proxy_on_response_body
func onResponseBody(contextID, bodySize, endOfStream uint32) abi.Action {
	return guest.OnResponseBody(contextID, bodySize, endOfStream != 0)
}

//go:wasmexport proxy_on_response_trailers
func onResponseTrailers(contextID, numTrailers uint32) abi.Action {
	return guest.OnResponseTrailers(contextID, numTrailers)
}

//go:wasmexport proxy_on_http_call_response
func onHTTPCallResponse(rootID, token, numHeaders, bodySize, numTrailers uint32) {
	guest.OnHTTPCallResponse(rootID, token, numHeaders, bodySize, numTrailers)
}

//go:wasmexport proxy_on_log
func onLog(contextID uint32) { guest.OnLog(contextID) }

//go:wasmexport proxy_on_done
func onDone(contextID uint32) uint32 { return b2u(guest.OnDone(contextID)) }

//go:wasmexport proxy_on_delete
func onDelete(contextID uint32) { guest.OnDelete(contextID) }

// streamCallbacks lets sluice skip the callbacks a plugin has no handler
// for (abi.CallbackStreamCallbacks); other hosts never call it.
//
//go:wasmexport sluice_stream_callbacks
func streamCallbacks(rootID uint32) uint32 { return uint32(guest.StreamCallbacks(rootID)) }

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
