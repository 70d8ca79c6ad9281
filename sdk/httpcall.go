package sdk

import (
	"math"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// CallResponse is the answer to an HTTPCall.
type CallResponse struct {
	// Status is the response's :status; 0 when the call failed.
	Status int
	// Headers are the response headers, :status included.
	Headers [][2]string
	// Body is the response body.
	Body []byte
	// Trailers are the response trailers, if any.
	Trailers [][2]string
	// Err is non-nil (a *CallError) when no response arrived: connection
	// refused or reset, timeout, unknown upstream at send time.
	Err error
}

// Header returns the first value of the response header key (lower-case),
// or "".
func (c CallResponse) Header(key string) string {
	key = lower(key)
	for _, p := range c.Headers {
		if p[0] == key {
			return p[1]
		}
	}
	return ""
}

// CallError is a failed HTTPCall.
type CallError struct {
	Upstream string
	// Code and Message are what the host reported (proxy_get_status).
	Code    uint32
	Message string
}

// Error implements error.
func (e *CallError) Error() string {
	msg := "http call to upstream " + strconv.Quote(e.Upstream) + " failed"
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

type pendingCall struct {
	upstream string
	fn       func(CallResponse)
}

// HTTPCall sends a request to the upstream named upstream (an
// [upstreams.NAME] of the sluice configuration) without blocking, and calls
// fn with the answer later, from the plugin instance's context. headers
// must include :method, :path and :authority; timeout 0 means none.
//
// To hold the request meanwhile, return Pause from the handler that makes
// the call, then call Resume or Respond on the Request from fn. If the
// stream ended before the answer, those return ErrStreamGone.
func HTTPCall(upstream string, headers [][2]string, body []byte, timeout time.Duration, fn func(CallResponse)) error {
	op := func() string { return "http call to upstream " + strconv.Quote(upstream) }
	if fn == nil {
		return &StatusError{Op: op() + ": nil callback", Status: abi.StatusBadArgument}
	}
	if timeout < 0 {
		return &StatusError{Op: op() + ": negative timeout", Status: abi.StatusBadArgument}
	}
	for _, want := range [...]string{":method", ":path", ":authority"} {
		found := false
		for _, p := range headers {
			if p[0] == want && p[1] != "" {
				found = true
				break
			}
		}
		if !found {
			return &StatusError{Op: op() + ": headers lack " + want, Status: abi.StatusBadArgument}
		}
	}
	ms := uint32(math.MaxUint32)
	if timeout < time.Duration(math.MaxUint32)*time.Millisecond {
		ms = uint32((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	token, st := hostcall.HTTPCall(upstream, encodeHeaders(headers), body, nil, ms)
	if st != abi.StatusOK {
		return statusErr(op(), st)
	}
	vm.calls[token] = pendingCall{upstream: upstream, fn: fn}
	return nil
}

// OnHTTPCallResponse implements hostcall.Guest.
func (v *vmState) OnHTTPCallResponse(rootID, token, numHeaders, bodySize, numTrailers uint32) {
	v.enter(rootID)
	call, ok := v.calls[token]
	if !ok {
		return
	}
	delete(v.calls, token)
	var resp CallResponse
	if numHeaders == 0 && bodySize == 0 && numTrailers == 0 {
		code, msg, _ := hostcall.GetStatus()
		resp.Err = &CallError{Upstream: call.upstream, Code: code, Message: string(msg)}
		call.fn(resp)
		return
	}
	if numHeaders > 0 {
		b, st := hostcall.GetHeaderMapPairs(abi.MapHTTPCallResponseHeaders)
		if st == abi.StatusOK {
			resp.Headers, _ = decodePairs(nil, b)
		}
	}
	if bodySize > 0 {
		resp.Body, _ = hostcall.GetBufferBytes(abi.BufferHTTPCallResponseBody, 0, bodySize)
	}
	if numTrailers > 0 {
		b, st := hostcall.GetHeaderMapPairs(abi.MapHTTPCallResponseTrailers)
		if st == abi.StatusOK {
			resp.Trailers, _ = decodePairs(nil, b)
		}
	}
	resp.Status, _ = strconv.Atoi(resp.Header(":status"))
	call.fn(resp)
}
