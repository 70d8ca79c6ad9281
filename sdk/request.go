package sdk

import (
	"math"
	"strconv"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/sdk/internal/hostcall"
)

// Request is a handle on one HTTP stream (request and response). It is a
// small value: pass it around, keep it in an http-call callback or a
// per-stream struct. Once the stream has ended its methods return
// ErrStreamGone (or zero values). Calling it from a tick, a queue or an
// http-call callback is fine: the SDK switches the host to this stream
// first.
type Request struct {
	s  *stream
	id uint32
}

// ID returns the host's context id of the stream, unique within the VM.
func (r Request) ID() uint32 { return r.id }

// Live reports whether the stream is still going on.
func (r Request) Live() bool { return r.s != nil && r.s.alive && r.s.id == r.id }

// enter checks the handle and points the host at its stream.
func (r Request) enter() error {
	if !r.Live() {
		return ErrStreamGone
	}
	return vm.use(r.id)
}

// EndOfStream reports the end_of_stream flag of the current headers or body
// callback: on request headers, true means the request has no body.
func (r Request) EndOfStream() bool { return r.Live() && r.s.endOfStream }

// Header returns the request headers, pseudo-headers (:method, :path,
// :authority, :scheme) included. They can be changed until the request
// headers callback returns Continue (or, after Pause, until Resume).
func (r Request) Header() Header { return Header{r: r, m: abi.MapHTTPRequestHeaders} }

// Trailer returns the request trailers.
func (r Request) Trailer() Header { return Header{r: r, m: abi.MapHTTPRequestTrailers} }

// ResponseHeader returns the response headers, :status included.
func (r Request) ResponseHeader() Header { return Header{r: r, m: abi.MapHTTPResponseHeaders} }

// ResponseTrailer returns the response trailers.
func (r Request) ResponseTrailer() Header { return Header{r: r, m: abi.MapHTTPResponseTrailers} }

// Method returns the request's :method.
func (r Request) Method() string { return r.Header().Get(":method") }

// Path returns the request's :path: the path and the query string.
func (r Request) Path() string { return r.Header().Get(":path") }

// Authority returns the request's :authority (the Host header).
func (r Request) Authority() string { return r.Header().Get(":authority") }

// Scheme returns the request's :scheme, "http" or "https".
func (r Request) Scheme() string { return r.Header().Get(":scheme") }

// Status returns the response's :status, or 0 when there is none (yet).
func (r Request) Status() int {
	n, err := strconv.Atoi(r.ResponseHeader().Get(":status"))
	if err != nil {
		return 0
	}
	return n
}

// Body returns the request body buffer, readable and changeable during the
// request body callback.
func (r Request) Body() Body { return Body{r: r, b: abi.BufferHTTPRequestBody} }

// ResponseBody returns the response body buffer, readable and changeable
// during the response body callback.
func (r Request) ResponseBody() Body { return Body{r: r, b: abi.BufferHTTPResponseBody} }

// Respond answers the request from the plugin: status, extra headers (names
// are lower-cased) and body. It ends the request chain; the response still
// passes through the response handlers of the plugins the request went
// through, this one included. A handler that responds may return either
// action: the SDK returns Pause to the host for it, as the ABI requires.
func (r Request) Respond(status int, headers [][2]string, body []byte) error {
	if status < 100 || status > 999 {
		return &StatusError{Op: "respond with status " + strconv.Itoa(status), Status: abi.StatusBadArgument}
	}
	if err := r.enter(); err != nil {
		return err
	}
	st := hostcall.SendLocalResponse(uint32(status), "", body, encodeHeaders(headers), abi.GrpcStatusNone)
	if st != abi.StatusOK {
		return statusErr("respond", st)
	}
	r.s.respondedEpoch = vm.epoch
	r.s.paused = false
	return nil
}

// Resume lets a paused stream go on in the direction it was paused in.
// Calling it on a stream that is not paused is harmless.
func (r Request) Resume() error {
	if err := r.enter(); err != nil {
		return err
	}
	dir := abi.StreamHTTPRequest
	switch {
	case r.s.paused:
		dir = r.s.pausedDir
	case r.s.responseStarted:
		dir = abi.StreamHTTPResponse
	}
	r.s.paused = false
	return statusErr("resume", hostcall.ContinueStream(dir))
}

// Reset aborts the stream: the host resets it (the client sees the
// connection or HTTP/2 stream closed) instead of answering.
func (r Request) Reset() error {
	if err := r.enter(); err != nil {
		return err
	}
	dir := abi.StreamHTTPRequest
	if r.s.responseStarted {
		dir = abi.StreamHTTPResponse
	}
	return statusErr("reset stream", hostcall.CloseStream(dir))
}

// Property reads an attribute of this stream by dotted path, e.g.
// "source.address" (see the package Property).
func (r Request) Property(path string) ([]byte, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	return Property(path)
}

// SetProperty stores a value under path for the rest of the stream.
func (r Request) SetProperty(path string, value []byte) error {
	if err := r.enter(); err != nil {
		return err
	}
	return SetProperty(path, value)
}

// Body is a request or response body buffer. During a body callback it holds
// the chunk being delivered, or everything buffered so far when earlier
// chunks were paused. To change a body's length, delete Content-Length in
// the headers callback first (the headers leave before the body).
type Body struct {
	r Request
	b abi.BufferType
}

// Bytes returns the whole buffer.
func (b Body) Bytes() ([]byte, error) {
	if err := b.r.enter(); err != nil {
		return nil, err
	}
	data, st := hostcall.GetBufferBytes(b.b, 0, math.MaxInt32)
	return data, statusErr("read body", st)
}

// Slice returns up to n bytes from offset start.
func (b Body) Slice(start, n int) ([]byte, error) {
	if start < 0 || n < 0 || start > math.MaxInt32 || n > math.MaxInt32 {
		return nil, &StatusError{Op: "read body slice", Status: abi.StatusBadArgument}
	}
	if err := b.r.enter(); err != nil {
		return nil, err
	}
	data, st := hostcall.GetBufferBytes(b.b, uint32(start), uint32(n))
	return data, statusErr("read body", st)
}

// Len returns the buffer's length.
func (b Body) Len() (int, error) {
	if err := b.r.enter(); err != nil {
		return 0, err
	}
	n, _, st := hostcall.GetBufferStatus(b.b)
	return int(n), statusErr("body length", st)
}

// Replace replaces the whole buffer with data.
func (b Body) Replace(data []byte) error { return b.set(0, math.MaxInt32, data, "replace body") }

// Append adds data after the buffer.
func (b Body) Append(data []byte) error { return b.set(math.MaxInt32, 0, data, "append to body") }

// Prepend adds data before the buffer.
func (b Body) Prepend(data []byte) error { return b.set(0, 0, data, "prepend to body") }

func (b Body) set(start, size uint32, data []byte, op string) error {
	if err := b.r.enter(); err != nil {
		return err
	}
	return statusErr(op, hostcall.SetBufferBytes(b.b, start, size, data))
}
