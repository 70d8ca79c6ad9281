package sdktest

import (
	"strconv"

	"github.com/sluice-proxy/sluice/abi"
)

// Stream is one HTTP stream driven by the test through the plugin's
// callbacks, in the order a host calls them.
type Stream struct {
	h    *Host
	id   uint32
	root uint32

	reqHeaders, reqTrailers, respHeaders, respTrailers [][2]string

	// Header maps are open (readable and writable) during their headers
	// callback and while it stays paused, read-only during OnLog.
	reqHeadersOpen, respHeadersOpen bool
	respHeadersSent                 bool
	inLog                           bool

	reqBody, respBody body

	paused  [2]bool // by direction
	resumed [2]int

	local *LocalResponse
	reset bool
	done  bool
	props map[string][]byte
}

type body struct {
	buf        []byte // what the current (or paused) body callback sees
	sent       []byte // what went on to the next filter
	buffering  bool
	inCallback bool
}

// LocalResponse is a response a plugin sent with proxy_send_local_response.
type LocalResponse struct {
	Status  int
	Headers [][2]string
	Body    []byte
	Details string
}

// Header returns the first value of the response header key.
func (l *LocalResponse) Header(key string) string { return get(l.Headers, key) }

// Pairs returns the response headers with :status first, ready for
// Stream.SendResponseHeaders (sluice runs the response callbacks for a local
// response too).
func (l *LocalResponse) Pairs() [][2]string {
	return append([][2]string{{":status", strconv.Itoa(l.Status)}}, l.Headers...)
}

// NewStream creates a stream context under the current root, as the host
// does when a request reaches the plugin.
func (h *Host) NewStream() *Stream {
	if h.root == 0 {
		h.t.Helper()
		h.t.Fatal("sdktest: NewStream before a successful Configure")
	}
	s := &Stream{h: h, id: h.newID(), root: h.root, props: map[string][]byte{}}
	h.streams[s.id] = s
	h.callback(s.id, func() { h.guest.OnContextCreate(s.id, h.root) })
	return s
}

// ID returns the stream's context id.
func (s *Stream) ID() uint32 { return s.id }

// SetProperty sets a host attribute for this stream, e.g.
// SetProperty("source.address", []byte("10.0.0.1:5000")).
func (s *Stream) SetProperty(path string, value []byte) { s.props[dotted(path)] = value }

// Request builds request headers: method, path and authority as
// pseudo-headers (scheme http), then extra "Name", "value" pairs.
func Request(method, path, authority string, extra ...string) [][2]string {
	h := [][2]string{{":method", method}, {":path", path}, {":authority", authority}, {":scheme", "http"}}
	for i := 0; i+1 < len(extra); i += 2 {
		h = append(h, [2]string{extra[i], extra[i+1]})
	}
	return h
}

// Get builds the headers of a GET request for path to example.com, with
// extra "Name", "value" pairs.
func Get(path string, extra ...string) [][2]string {
	return Request("GET", path, "example.com", extra...)
}

// Response builds response headers with :status and extra "Name", "value"
// pairs.
func Response(status int, extra ...string) [][2]string {
	h := [][2]string{{":status", strconv.Itoa(status)}}
	for i := 0; i+1 < len(extra); i += 2 {
		h = append(h, [2]string{extra[i], extra[i+1]})
	}
	return h
}

func (s *Stream) live() {
	if s.done {
		s.h.t.Helper()
		s.h.t.Fatalf("sdktest: stream %d used after Complete", s.id)
	}
}

// SendRequestHeaders delivers request headers (endOfStream: no body
// follows) and returns the plugin's action.
func (s *Stream) SendRequestHeaders(headers [][2]string, endOfStream bool) abi.Action {
	s.live()
	s.reqHeaders, s.reqHeadersOpen = lowerPairs(headers), true
	var a abi.Action
	s.h.callback(s.id, func() { a = s.h.guest.OnRequestHeaders(s.id, uint32(len(headers)), endOfStream) })
	if a == abi.ActionContinue && !s.paused[0] {
		s.reqHeadersOpen = false
	} else if a != abi.ActionContinue {
		s.paused[0] = true
	}
	return a
}

// SendRequestBody delivers a request body chunk. After a Pause the host
// buffers: the next call's callback sees everything so far.
func (s *Stream) SendRequestBody(chunk []byte, endOfStream bool) abi.Action {
	s.live()
	return s.sendBody(&s.reqBody, 0, chunk, endOfStream, s.h.guest.OnRequestBody)
}

// SendRequestTrailers delivers request trailers.
func (s *Stream) SendRequestTrailers(trailers [][2]string) abi.Action {
	s.live()
	s.reqTrailers = lowerPairs(trailers)
	var a abi.Action
	s.h.callback(s.id, func() { a = s.h.guest.OnRequestTrailers(s.id, uint32(len(trailers))) })
	if a != abi.ActionContinue {
		s.paused[0] = true
	}
	return a
}

// SendResponseHeaders delivers response headers and returns the action.
func (s *Stream) SendResponseHeaders(headers [][2]string, endOfStream bool) abi.Action {
	s.live()
	s.respHeaders, s.respHeadersOpen = lowerPairs(headers), true
	var a abi.Action
	s.h.callback(s.id, func() { a = s.h.guest.OnResponseHeaders(s.id, uint32(len(headers)), endOfStream) })
	if a == abi.ActionContinue && !s.paused[1] {
		s.respHeadersOpen, s.respHeadersSent = false, true
	} else if a != abi.ActionContinue {
		s.paused[1] = true
	}
	return a
}

// SendResponseBody delivers a response body chunk, as SendRequestBody.
func (s *Stream) SendResponseBody(chunk []byte, endOfStream bool) abi.Action {
	s.live()
	return s.sendBody(&s.respBody, 1, chunk, endOfStream, s.h.guest.OnResponseBody)
}

// SendResponseTrailers delivers response trailers.
func (s *Stream) SendResponseTrailers(trailers [][2]string) abi.Action {
	s.live()
	s.respTrailers = lowerPairs(trailers)
	var a abi.Action
	s.h.callback(s.id, func() { a = s.h.guest.OnResponseTrailers(s.id, uint32(len(trailers))) })
	if a != abi.ActionContinue {
		s.paused[1] = true
	}
	return a
}

func (s *Stream) sendBody(b *body, dir int, chunk []byte, eos bool, cb func(uint32, uint32, bool) abi.Action) abi.Action {
	if b.buffering {
		b.buf = append(b.buf, chunk...)
	} else {
		b.buf = append([]byte(nil), chunk...)
	}
	b.inCallback = true
	var a abi.Action
	s.h.callback(s.id, func() { a = cb(s.id, uint32(len(b.buf)), eos) })
	b.inCallback = false
	if a == abi.ActionContinue {
		// Continue releases everything buffered by earlier pauses.
		b.sent = append(b.sent, b.buf...)
		b.buf, b.buffering, s.paused[dir] = nil, false, false
	} else {
		b.buffering, s.paused[dir] = true, true
	}
	return a
}

// Complete ends the stream: OnLog, OnDone and OnDelete, in Envoy's order.
func (s *Stream) Complete() {
	s.live()
	s.inLog = true
	s.h.callback(s.id, func() { s.h.guest.OnLog(s.id) })
	s.inLog = false
	s.h.callback(s.id, func() { s.h.guest.OnDone(s.id) })
	s.h.callback(s.id, func() { s.h.guest.OnDelete(s.id) })
	s.done = true
	delete(s.h.streams, s.id)
}

// RequestHeaders returns the request headers as the plugin left them.
func (s *Stream) RequestHeaders() [][2]string { return s.reqHeaders }

// RequestHeader returns the first value of request header key.
func (s *Stream) RequestHeader(key string) string { return get(s.reqHeaders, key) }

// RequestTrailers returns the request trailers.
func (s *Stream) RequestTrailers() [][2]string { return s.reqTrailers }

// ResponseHeaders returns the response headers as the plugin left them.
func (s *Stream) ResponseHeaders() [][2]string { return s.respHeaders }

// ResponseHeader returns the first value of response header key.
func (s *Stream) ResponseHeader(key string) string { return get(s.respHeaders, key) }

// ResponseTrailers returns the response trailers.
func (s *Stream) ResponseTrailers() [][2]string { return s.respTrailers }

// RequestBody returns the request body forwarded so far (what the upstream
// would receive).
func (s *Stream) RequestBody() []byte { return s.reqBody.sent }

// ResponseBody returns the response body forwarded so far.
func (s *Stream) ResponseBody() []byte { return s.respBody.sent }

// LocalResponse returns the local response the plugin sent, or nil.
func (s *Stream) LocalResponse() *LocalResponse { return s.local }

// Resumed returns how often the plugin called continue on direction dir.
func (s *Stream) Resumed(dir abi.StreamType) int {
	if dir > abi.StreamHTTPResponse {
		return 0
	}
	return s.resumed[dir]
}

// Paused reports whether direction dir is paused.
func (s *Stream) Paused(dir abi.StreamType) bool {
	return dir <= abi.StreamHTTPResponse && s.paused[dir]
}

// WasReset reports whether the plugin closed (reset) the stream.
func (s *Stream) WasReset() bool { return s.reset }
