package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// conn is one client connection and the state its requests share.
type conn struct {
	s      *Server
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	ctx    context.Context
	remote string
	tls    *tls.ConnectionState
	state  atomic.Int32
	born   time.Time      // when the connection was accepted, for Shutdown
	fields []h1wire.Field // scratch for the head parser
	hold   []byte         // body a response holds back (response.held)
	served int            // requests read so far
	// readDeadline is set while a read deadline may be armed.
	readDeadline bool
	// gone is set when nc left this server's hands: hijacked by a handler
	// or handed to the HTTP/2 server.
	gone bool

	// The client watch (watch.go). wmu guards the fields after it.
	watchTimer *time.Timer
	aborting   atomic.Bool
	wmu        sync.Mutex
	active     bool               // a handler is running
	body       *body              // its request body, if any
	cancel     context.CancelFunc // its context's
	watching   bool               // a pending read runs
	watchDone  chan struct{}      // closed when it ends
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, remote: nc.RemoteAddr().String(), ctx: context.Background(), born: time.Now()}
	c.state.Store(stateNew)
	if s.ConnContext != nil {
		c.ctx = s.ConnContext(c.ctx, nc)
	}
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tls = &st
	}
	return c
}

func (c *conn) serve() {
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(c.nc)
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset(c.nc)
	defer c.close()
	for c.awaitRequest() {
		if !c.serveRequest() || c.s.shutdown.Load() {
			return
		}
		c.state.Store(stateIdle)
		c.s.setState(c, http.StateIdle)
	}
}

func (c *conn) close() {
	c.s.untrack(c)
	if c.gone {
		// The buffers went with the connection.
		return
	}
	c.nc.Close()
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.bw.Reset(nil)
	writerPool.Put(c.bw)
	c.s.setState(c, http.StateClosed)
}

// awaitRequest waits for the first byte of the next request, within the
// idle timeout (the header timeout for a connection's first request).
func (c *conn) awaitRequest() bool {
	if c.br.Buffered() == 0 {
		d := c.s.IdleTimeout
		if c.served == 0 || d == 0 {
			d = c.headerTimeout()
		}
		c.setReadDeadline(d)
		if _, err := c.br.Peek(1); err != nil {
			// EOF, a timeout or Shutdown closing an idle connection:
			// nothing to answer, as in net/http.
			return false
		}
	}
	if !c.state.CompareAndSwap(stateIdle, stateActive) && !c.state.CompareAndSwap(stateNew, stateActive) {
		return false // Shutdown closed it
	}
	c.s.setState(c, http.StateActive)
	return true
}

func (c *conn) headerTimeout() time.Duration {
	if c.s.ReadHeaderTimeout > 0 {
		return c.s.ReadHeaderTimeout
	}
	return c.s.ReadTimeout
}

// setReadDeadline arms a read deadline d from now, or clears one that may
// be armed when d is zero.
func (c *conn) setReadDeadline(d time.Duration) {
	switch {
	case d > 0:
		c.nc.SetReadDeadline(time.Now().Add(d))
		c.readDeadline = true
	case c.readDeadline:
		c.nc.SetReadDeadline(time.Time{})
		c.readDeadline = false
	}
}

// serveRequest reads one request, runs the handler and finishes the
// response. It reports whether the connection may serve another request.
func (c *conn) serveRequest() bool {
	start := time.Now()
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	req, err := c.readRequest(ctx)
	if err != nil {
		var he *httpError
		if errors.As(err, &he) {
			c.writeError(he)
		}
		return false
	}
	c.served++
	if d := c.s.ReadTimeout; d > 0 {
		c.nc.SetReadDeadline(start.Add(d))
		c.readDeadline = true
	} else if req.Body != http.NoBody {
		// The header deadline must not cut an upload short.
		c.setReadDeadline(0)
	}
	if d := c.s.WriteTimeout; d > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(d))
	}

	w := newResponse(c, req)
	b, _ := req.Body.(*body)
	c.beginWatch(b, cancel)
	ok := c.runHandler(w, req)
	if w.hijacked {
		return false // Hijack ended the watch
	}
	_ = c.endWatch()
	if !ok {
		// A panicking handler leaves the response in an unknown state:
		// the client must not take it for a whole one.
		return false
	}
	keep := w.finish()
	if b != nil {
		keep = b.finish(keep && !w.closeAfter) && keep
	}
	return keep && !w.closeAfter
}

func (c *conn) runHandler(w *response, req *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
			if p != http.ErrAbortHandler {
				c.s.logger().Error("panic serving request", "remote", c.remote, "method", req.Method,
					"uri", req.RequestURI, "panic", p, "stack", string(debug.Stack()))
			}
		}
	}()
	c.s.Handler.ServeHTTP(w, req)
	return true
}

// httpError is a request refused before the handler: its status and a
// short reason for the client.
type httpError struct {
	status int
	reason string
}

func (e *httpError) Error() string { return http.StatusText(e.status) + ": " + e.reason }

func badRequest(reason string) error { return &httpError{http.StatusBadRequest, reason} }

// writeError answers a request that could not be read; the connection is
// closed afterwards.
func (c *conn) writeError(e *httpError) {
	if d := c.s.WriteTimeout; d > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(d))
	} else {
		c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	}
	body := http.StatusText(e.status) + ": " + e.reason + "\n"
	c.bw.WriteString(statusLine(e.status))
	c.bw.Write(dateLine())
	c.bw.WriteString("Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ")
	c.bw.WriteString(strconv.Itoa(len(body)))
	c.bw.WriteString("\r\n\r\n")
	c.bw.WriteString(body)
	if c.bw.Flush() != nil {
		return
	}
	// Closing with unread request bytes makes the kernel send a reset,
	// which can destroy the answer before the client reads it: half-close
	// and read a little first, as net/http does.
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		io.CopyN(io.Discard, c.nc, 256<<10)
	}
}

// h2Preface opens every HTTP/2 connection (RFC 9113 §3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// readRequest reads and checks one request head and sets up its body.
// Errors that deserve an answer are *httpError; others (EOF, timeouts)
// just end the connection.
func (c *conn) readRequest(ctx context.Context) (*http.Request, error) {
	br := c.br
	// RFC 9112 §2.2: empty lines before a request line are ignored (some
	// clients send a CRLF after a POST body).
	for i := 0; i < 8 && br.Buffered() > 0; i++ {
		p, _ := br.Peek(1)
		if p[0] != '\r' && p[0] != '\n' {
			break
		}
		br.Discard(1)
	}
	if c.served == 0 {
		// The HTTP/2 preface, possibly split across packets: read on
		// while what arrived could still be its start.
		for {
			p, _ := br.Peek(br.Buffered())
			n := min(len(p), len(h2Preface))
			if string(p[:n]) != h2Preface[:n] {
				break
			}
			if n == len(h2Preface) {
				return nil, c.handOffH2()
			}
			if _, err := br.Peek(len(p) + 1); err != nil {
				return nil, err
			}
		}
	}

	if c.served > 0 && c.s.IdleTimeout > 0 {
		// The idle timeout ran until the first byte; the rest of the
		// head gets the header timeout, unless it is all here already.
		if p, _ := br.Peek(br.Buffered()); !headIn(p) {
			c.setReadDeadline(c.headerTimeout())
		}
	}
	b, consumed, err := h1wire.ReadHead(br, c.s.maxHeaderBytes())
	if err != nil {
		if err == h1wire.ErrTooLarge {
			return nil, &httpError{http.StatusRequestHeaderFieldsTooLarge, "request head over the limit"}
		}
		return nil, err
	}

	line, _, pos := h1wire.NextLine(b, 0)
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		return nil, badRequest("malformed request line")
	}
	minor, err := parseVersion(line[sp2+1:])
	if err != nil {
		return nil, err
	}
	for _, ch := range line[:sp1] {
		if !h1wire.TokenByte(ch) {
			return nil, badRequest("invalid method")
		}
	}
	for _, ch := range line[sp1+1 : sp2] {
		if ch <= ' ' || ch == 0x7f {
			return nil, badRequest("invalid request target")
		}
	}
	fs, err := h1wire.ParseFields(b, pos, c.fields[:0], false)
	c.fields = fs[:0]
	if err != nil {
		return nil, badRequest(err.Error())
	}
	// One string holds the whole head; method, target, names and values
	// are substrings of it.
	s := string(b)
	br.Discard(consumed)
	method, target := s[:sp1], s[sp1+1:sp2]
	h := h1wire.BuildHeader(s, fs)

	// WithContext is the only way to set a request's context; on a
	// zero template that stays on the stack it costs one allocation.
	var tmpl http.Request
	req := tmpl.WithContext(ctx)
	req.Method, req.RequestURI = method, target
	req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.1", 1, minor
	req.Header, req.Body = h, http.NoBody
	req.RemoteAddr, req.TLS = c.remote, c.tls
	if minor == 0 {
		req.Proto = "HTTP/1.0"
	}
	if method == http.MethodConnect && target[0] != '/' {
		req.URL = &url.URL{Host: target}
	} else if req.URL, err = url.ParseRequestURI(target); err != nil {
		return nil, badRequest("invalid request target")
	}

	hosts, hasHost := h["Host"]
	switch {
	case len(hosts) > 1:
		return nil, badRequest("more than one Host header")
	case !hasHost && minor == 1:
		return nil, badRequest("missing Host header")
	case hasHost && !httpguts.ValidHostHeader(hosts[0]):
		return nil, badRequest("malformed Host header")
	}
	if req.Host = req.URL.Host; req.Host == "" && hasHost {
		req.Host = hosts[0]
	}
	delete(h, "Host")

	if minor == 0 {
		req.Close = !h1wire.HasToken(h["Connection"], "keep-alive")
	} else {
		req.Close = h1wire.HasToken(h["Connection"], "close")
	}
	if err := c.frameBody(req); err != nil {
		return nil, err
	}
	return req, nil
}

func headIn(p []byte) bool {
	end, _ := h1wire.FindHeadEnd(p, 0)
	return end > 0
}

// parseVersion accepts HTTP/1.0 and HTTP/1.1 and returns the minor version.
func parseVersion(p []byte) (int, error) {
	switch string(p) {
	case "HTTP/1.1":
		return 1, nil
	case "HTTP/1.0":
		return 0, nil
	}
	if bytes.HasPrefix(p, []byte("HTTP/")) {
		return 0, &httpError{http.StatusHTTPVersionNotSupported, "unsupported HTTP version"}
	}
	return 0, badRequest("malformed HTTP version")
}

// frameBody picks the request body by RFC 9112 §6.3. A request with both
// Transfer-Encoding and Content-Length is refused: a proxy that guesses
// which one its client meant is how requests get smuggled.
func (c *conn) frameBody(req *http.Request) error {
	h := req.Header
	te, hasTE := h["Transfer-Encoding"]
	cl, hasCL := h["Content-Length"]
	switch {
	case hasTE && hasCL:
		return badRequest("both Transfer-Encoding and Content-Length")
	case hasTE && req.ProtoMinor == 0:
		return badRequest("Transfer-Encoding in an HTTP/1.0 request")
	case hasTE:
		if len(te) != 1 || !h1wire.EqualFold(te[0], "chunked") {
			return &httpError{http.StatusNotImplemented, "unsupported Transfer-Encoding"}
		}
		delete(h, "Transfer-Encoding")
		tr, err := h1wire.AnnouncedTrailers(h["Trailer"])
		if err != nil {
			return badRequest(err.Error())
		}
		delete(h, "Trailer")
		req.Trailer = tr
		req.TransferEncoding = []string{"chunked"}
		req.ContentLength = -1
		req.Body = &body{c: c, req: req, chunked: true, remaining: -1}
	case hasCL:
		n, err := h1wire.ParseContentLength(cl)
		if err != nil {
			return badRequest(err.Error())
		}
		req.ContentLength = n
		if n > 0 {
			req.Body = &body{c: c, req: req, remaining: n}
		}
	}

	if ev, ok := h["Expect"]; ok && req.ProtoMinor == 1 {
		if len(ev) != 1 || !h1wire.EqualFold(ev[0], "100-continue") {
			return &httpError{http.StatusExpectationFailed, "unsupported Expect"}
		}
		// The server answers the expectation itself, when the handler
		// first reads the body; the backend never sees it.
		delete(h, "Expect")
		if b, ok := req.Body.(*body); ok {
			b.needContinue = true
		}
	}
	return nil
}

// handOffH2 gives the connection, with what was read of it, to the HTTP/2
// server; without one the client is told its version is not supported.
func (c *conn) handOffH2() error {
	if c.s.H2 == nil {
		return &httpError{http.StatusHTTPVersionNotSupported, "HTTP/2 is not enabled on this server"}
	}
	c.setReadDeadline(0)
	c.gone = true
	// It is no longer this server's connection to count.
	c.s.setState(c, http.StateHijacked)
	c.s.H2(&bufferedConn{Conn: c.nc, r: c.br})
	return io.EOF
}

// bufferedConn is a connection whose first bytes were already read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }
