package wasm

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// buffer returns buffer t as the current context sees it: available says
// whether it exists now (NOT_FOUND otherwise); target is where a new content
// goes when it is mutable (nil for read-only buffers).
//
// The request (response) body is the body of the current body callback,
// accumulated over the chunks the plugin paused on, and stays readable
// while the plugin holds it; the http-call response body exists during
// proxy_on_http_call_response; the plugin configuration during
// proxy_on_configure; the VM configuration (always empty in sluice)
// always.
func (v *vm) buffer(t abi.BufferType) (data []byte, available bool, target *[]byte) {
	switch t {
	case abi.BufferHTTPRequestBody, abi.BufferHTTPResponseBody:
		h := v.current()
		if h == nil || h.st == nil {
			return nil, false, nil
		}
		st, dir := h.st, int8(t)
		if st.bodyDir == dir {
			return st.body, true, &st.body
		}
		if held := st.held[dir]; held != nil {
			return held, true, &st.held[dir]
		}
	case abi.BufferHTTPCallResponseBody:
		if v.callResp != nil {
			return v.callResp.body, true, nil
		}
	case abi.BufferVMConfiguration:
		return nil, true, nil
	case abi.BufferPluginConfiguration:
		if v.configuring != nil {
			return v.configuring.cfg.json, true, nil
		}
	}
	return nil, false, nil
}

// hostGetBufferBytes implements proxy_get_buffer_bytes(buffer, start,
// max_size, return_ptr, return_len): bytes [start, start+max_size) of the
// buffer, clamped to its length, in a fresh guest allocation (an empty
// window is (0, 0)). SDKs ask for (0, MaxInt32) to mean "everything".
//
// Statuses: OK; NOT_FOUND for a buffer not available now; BAD_ARGUMENT for
// a buffer type above 8; INVALID_MEMORY_ACCESS.
func hostGetBufferBytes(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	t := abi.BufferType(u32(stack, 0))
	if !t.Valid() {
		ret(stack, abi.StatusBadArgument)
		return
	}
	data, ok, _ := v.buffer(t)
	if !ok {
		ret(stack, abi.StatusNotFound)
		return
	}
	start, end := uint64(u32(stack, 1)), uint64(u32(stack, 1))+uint64(u32(stack, 2))
	size := uint64(len(data))
	if start > size {
		start = size
	}
	if end > size {
		end = size
	}
	ret(stack, v.returnBytes(data[start:end], u32(stack, 3), u32(stack, 4)))
}

// hostSetBufferBytes implements proxy_set_buffer_bytes(buffer, start,
// size, data_ptr, data_len) with Envoy's rules for a body: start 0 drops
// the first size bytes (all of them if size covers the buffer) and
// prepends data, so (0, 0) prepends and (0, len) replaces; start at or
// past the end appends; anything in between is refused.
//
// Statuses: OK; NOT_FOUND for a buffer not available now; BAD_ARGUMENT for
// a read-only buffer, a start inside the buffer or a type above 8;
// INVALID_MEMORY_ACCESS.
func hostSetBufferBytes(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	t := abi.BufferType(u32(stack, 0))
	if !t.Valid() {
		ret(stack, abi.StatusBadArgument)
		return
	}
	cur, ok, target := v.buffer(t)
	if !ok {
		ret(stack, abi.StatusNotFound)
		return
	}
	if target == nil {
		ret(stack, abi.StatusBadArgument)
		return
	}
	in, ok := v.read(u32(stack, 3), u32(stack, 4))
	if !ok {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	start, size := uint64(u32(stack, 1)), uint64(u32(stack, 2))
	n := uint64(len(cur))
	var out []byte
	switch {
	case start == 0:
		rest := cur[min(size, n):]
		out = make([]byte, 0, len(in)+len(rest))
		out = append(append(out, in...), rest...)
	case start >= n:
		out = make([]byte, 0, len(cur)+len(in))
		out = append(append(out, cur...), in...)
	default:
		ret(stack, abi.StatusBadArgument)
		return
	}
	*target = out // never nil: a held body stays held
	ret(stack, abi.StatusOK)
}

// hostGetBufferStatus implements proxy_get_buffer_status(buffer,
// return_len, return_flags): the buffer's length and flags (always 0, as
// Envoy).
//
// Statuses: OK; NOT_FOUND for a buffer not available now; BAD_ARGUMENT for
// a type above 8; INVALID_MEMORY_ACCESS.
func hostGetBufferStatus(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	t := abi.BufferType(u32(stack, 0))
	if !t.Valid() {
		ret(stack, abi.StatusBadArgument)
		return
	}
	data, ok, _ := v.buffer(t)
	if !ok {
		ret(stack, abi.StatusNotFound)
		return
	}
	if !v.putU32(u32(stack, 1), uint32(len(data))) || !v.putU32(u32(stack, 2), 0) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}
