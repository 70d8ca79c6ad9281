package wasm

import (
	"context"
	"strconv"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/sluice-proxy/sluice/abi"
)

// hostHTTPCall implements proxy_http_call(upstream_ptr, upstream_len,
// headers_ptr, headers_len, body_ptr, body_len, trailers_ptr,
// trailers_len, timeout_ms, return_token): an asynchronous request to a
// named upstream through Options.HTTPCaller, started once the callback
// returns. The answer is delivered to the calling context's root as
// proxy_on_http_call_response(root, token, num_headers, body_size,
// num_trailers), serialized with the VM's other calls, with the response
// readable through map types 6 and 7 and buffer type 4; a failure delivers
// zeros and makes proxy_get_status report (11, "reset"). Tokens are
// per-VM, never 0.
//
// Statuses: OK; BAD_ARGUMENT when :method, :path or :authority is missing,
// the timeout is negative, the upstream is unknown or no caller is
// configured; INVALID_MEMORY_ACCESS.
func hostHTTPCall(ctx context.Context, _ api.Module, stack []uint64) {
	v := vmFrom(ctx)
	up, ok1 := v.read(u32(stack, 0), u32(stack, 1))
	hb, ok2 := v.read(u32(stack, 2), u32(stack, 3))
	body, ok3 := v.read(u32(stack, 4), u32(stack, 5))
	tb, ok4 := v.read(u32(stack, 6), u32(stack, 7))
	tokPtr := u32(stack, 9)
	if !ok1 || !ok2 || !ok3 || !ok4 || !v.putU32(tokPtr, 0) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	timeout := int32(u32(stack, 8))
	headers, err := abi.DecodeMap(hb)
	if err != nil {
		headers = nil
	}
	trailers, err := abi.DecodeMap(tb)
	if err != nil {
		trailers = nil
	}
	var method, path, authority bool
	for i := range headers {
		headers[i][0] = lowerString(headers[i][0])
		switch headers[i][0] {
		case ":method":
			method = headers[i][1] != ""
		case ":path":
			path = headers[i][1] != ""
		case ":authority":
			authority = headers[i][1] != ""
		}
	}
	upstream := string(up)
	caller := v.rt.opts.HTTPCaller
	h := v.current()
	if !method || !path || !authority || timeout < 0 || caller == nil || h == nil {
		ret(stack, abi.StatusBadArgument)
		return
	}
	if c, ok := caller.(UpstreamChecker); ok && !c.HasUpstream(upstream) {
		ret(stack, abi.StatusBadArgument)
		return
	}
	root := h.rootOf()
	tok := v.newToken()
	v.calls[tok] = root
	bodyCopy := append([]byte(nil), body...)
	d := time.Duration(timeout) * time.Millisecond
	v.after = append(v.after, func() {
		v.rt.spawn(func() {
			status, rh, rb, rt, err := caller.Call(v.ctx, upstream, headers, bodyCopy, trailers, d)
			var resp *callResponse
			if err == nil {
				resp = &callResponse{body: rb, trailers: rt}
				resp.headers = make([][2]string, 0, len(rh)+1)
				resp.headers = append(resp.headers, [2]string{":status", strconv.Itoa(status)})
				for _, p := range rh {
					resp.headers = append(resp.headers, [2]string{lowerString(p[0]), p[1]})
				}
			}
			v.post(func() { v.deliverCall(tok, resp) })
		})
	})
	if !v.putU32(tokPtr, tok) {
		ret(stack, abi.StatusInvalidMemoryAccess)
		return
	}
	ret(stack, abi.StatusOK)
}

// newToken returns an unused callout token, never 0.
func (v *vm) newToken() uint32 {
	for {
		v.nextTok++
		if v.nextTok == 0 {
			continue
		}
		if _, used := v.calls[v.nextTok]; !used {
			return v.nextTok
		}
	}
}

// deliverCall calls proxy_on_http_call_response for callout tok (resp nil:
// it failed), if its root context still exists.
func (v *vm) deliverCall(tok uint32, resp *callResponse) {
	v.mu.Lock()
	defer v.mu.Unlock()
	root := v.calls[tok]
	delete(v.calls, tok)
	if v.dead.Load() || root == nil || v.contexts[root.id] != root {
		return
	}
	var nh, nb, nt int
	if resp == nil {
		root.statusCode, root.statusMsg = uint32(abi.StatusBrokenConnection), "reset"
	} else {
		root.statusCode, root.statusMsg = 0, ""
		nh, nb, nt = len(resp.headers), len(resp.body), len(resp.trailers)
	}
	v.callResp = resp
	_, _ = v.call(root, v.fns.onHTTPCallResponse, uint64(root.id), uint64(tok), uint64(nh), uint64(nb), uint64(nt))
	v.callResp = nil
	root.statusMsg = ""
}
