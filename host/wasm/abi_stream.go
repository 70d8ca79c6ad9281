package wasm

import (
	"context"
	"strconv"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// hostContinueStream implements proxy_continue_stream(stream): resumes the
// current stream after the callback returns. As in Envoy it also ends
// access to the request's headers, body and trailers for this plugin. On a
// root context it does nothing.
//
// Statuses: OK for HttpRequest, HttpResponse and Downstream; UNIMPLEMENTED
// for Upstream; BAD_ARGUMENT above.
func hostContinueStream(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	switch t := abi.StreamType(u32(stack, 0)); t {
	case abi.StreamHTTPRequest, abi.StreamHTTPResponse:
		if h := v.current(); h != nil && h.st != nil {
			st := h.st
			st.cont[t] = true
			st.open[abi.MapHTTPRequestHeaders] = false
			st.open[abi.MapHTTPRequestTrailers] = false
			v.touch(st)
		}
	case abi.StreamDownstream:
	case abi.StreamUpstream:
		ret(stack, abi.StatusUnimplemented)
		return
	default:
		ret(stack, abi.StatusBadArgument)
		return
	}
	ret(stack, abi.StatusOK)
}

// hostCloseStream implements proxy_close_stream(stream): after the
// callback returns, the stream is reset (the Filter returns Reset). On a
// root context it does nothing.
//
// Statuses: OK for the four stream types; BAD_ARGUMENT above.
func hostCloseStream(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	if abi.StreamType(u32(stack, 0)) > abi.StreamUpstream {
		ret(stack, abi.StatusBadArgument)
		return
	}
	if h := v.current(); h != nil && h.st != nil {
		h.st.reset = true
		v.touch(h.st)
	}
	ret(stack, abi.StatusOK)
}

// hostSendLocalResponse implements proxy_send_local_response(status_code,
// details_ptr, details_len, body_ptr, body_len, headers_ptr, headers_len,
// grpc_status): after the callback returns, the stream is answered with
// this response instead of being proxied (the callback's own result is
// ignored). headers are a serialized map added to the response; a
// grpc_status in 0..16 adds grpc-status. On a root context it does
// nothing. A second local response on the same stream is ignored.
//
// Statuses: OK; BAD_ARGUMENT for a status code outside 100..999 or an
// invalid header; INVALID_MEMORY_ACCESS.
func hostSendLocalResponse(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	code := u32(stack, 0)
	details, ok1 := v.read(u32(stack, 1), u32(stack, 2))
	body, ok2 := v.read(u32(stack, 3), u32(stack, 4))
	hdrs, ok3 := v.read(u32(stack, 5), u32(stack, 6))
	if !ok1 || !ok2 || !ok3 {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	if code < 100 || code > 999 {
		ret(stack, abi.StatusBadArgument)
		return
	}
	pairs, err := abi.DecodeMap(hdrs)
	if err != nil {
		pairs = nil
	}
	for i := range pairs {
		pairs[i][0] = lowerString(pairs[i][0])
		if !validKey(pairs[i][0]) || pairs[i][0][0] == ':' || !validValue(pairs[i][1]) {
			ret(stack, abi.StatusBadArgument)
			return
		}
	}
	h := v.current()
	if h == nil || h.st == nil {
		ret(stack, abi.StatusOK)
		return
	}
	grpc := int32(u32(stack, 7))
	if grpc >= 0 && grpc <= 16 {
		pairs = append(pairs, [2]string{"grpc-status", strconv.Itoa(int(grpc))})
	}
	if h.st.local == nil {
		h.st.local = &pendingLocal{
			status: int(code), details: detailsOf(string(details)), body: append([]byte(nil), body...),
			headers: pairs, grpc: grpc, plugin: h.cfg.name,
		}
	}
	v.touch(h.st)
	ret(stack, abi.StatusOK)
}

// hostGetStatus implements proxy_get_status(return_code,
// return_message_ptr, return_message_len): the outcome of the root
// context's last http callout: 0 and "" after a success, 11
// (BROKEN_CONNECTION) and "reset" after a failure.
//
// Statuses: OK; INVALID_MEMORY_ACCESS.
func hostGetStatus(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	var code uint32
	var msg string
	if h := v.current(); h != nil {
		r := h.rootOf()
		code, msg = r.statusCode, r.statusMsg
	}
	if !v.putU32(u32(stack, 0), code) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, v.returnString(msg, u32(stack, 1), u32(stack, 2)))
}
