package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// maxInformational bounds the interim (1xx) responses before the final
// one, as net/http does.
const maxInformational = 5

// earlyResponseWait is how long a request whose body could not be written
// waits for a response the backend may have sent before it stopped reading
// (a 413, say), before reporting the write error.
const earlyResponseWait = 250 * time.Millisecond

// chunkedTE is the TransferEncoding of chunked responses; shared, never
// modified.
var chunkedTE = []string{"chunked"}

// h1 is the lean HTTP/1.1 client: pooled keep-alive connections used
// synchronously on the caller's goroutine.
type h1 struct {
	s      *settings
	tlsCfg *tls.Config // nil for plain TCP

	mu     sync.RWMutex
	pools  map[poolKey]*hostPool
	closed atomic.Bool
}

func newH1(s *settings) *h1 {
	h := &h1{s: s, pools: make(map[poolKey]*hostPool)}
	if s.tls != nil {
		h.tlsCfg = s.tls.Clone()
		h.tlsCfg.NextProtos = []string{"http/1.1"}
	}
	return h
}

// replayable reports whether a request may be sent again after failing on
// a stale connection: its body can be had again and its method is
// idempotent, or it carries an idempotency key (net/http's rule).
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

func closeBody(rb io.ReadCloser) {
	if rb != nil {
		rb.Close()
	}
}

// asTransportError returns err as an *Error; every failure of this package
// is one.
func asTransportError(err error, addr string) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Op: OpRead, Addr: addr, Sent: true, Err: err}
}

func (h *h1) roundTrip(req *http.Request, addr string, tr *Trace) (*http.Response, error) {
	start := time.Now()
	rb := req.Body
	if rb == http.NoBody {
		rb = nil
	}
	// Failures before the body is read leave req.Body untouched (and
	// Sent false), so that the caller may send the request elsewhere.
	if err := validateRequest(req); err != nil {
		return nil, &Error{Op: OpRequest, Addr: addr, Err: err}
	}
	key := poolKey{addr: addr}
	if h.s.sniFromRequest {
		key.sni = sniHost(req)
	}
	retry := replayable(req)
	ctx := req.Context()
	sent := false // the first attempt sent bytes or read the body
	for attempt := 0; ; attempt++ {
		// A request that cannot be retried checks a pooled connection
		// for a close by the backend before trusting it with its bytes.
		c, err := h.getConn(ctx, key, tr, !retry, attempt > 0)
		if err != nil {
			e := asTransportError(err, addr)
			if sent {
				closeBody(rb)
				e.Sent = true
			}
			return nil, e
		}
		resp, err := c.roundTrip(req, rb, tr, start)
		if err == nil {
			return resp, nil
		}
		e := asTransportError(err, addr)
		e.Sent = e.Sent || sent
		if attempt > 0 || !retry || !tr.Reused || !c.stale || ctx.Err() != nil {
			return nil, e
		}
		// The backend closed a pooled connection under us. Those idle
		// longer are likely closed too.
		h.dropOlder(key, c.idleAt)
		sent = e.Sent
		if c.bodyRead && req.GetBody != nil {
			if rb, err = req.GetBody(); err != nil {
				return nil, &Error{Op: OpBody, Addr: addr, Sent: true, Err: fmt.Errorf("getting the request body again: %w", err)}
			}
		}
		tr.Retried = true
	}
}

// getConn takes a pooled connection for key, or dials one. fresh skips the
// pool; probe checks a pooled connection with idleAlive first.
func (h *h1) getConn(ctx context.Context, key poolKey, tr *Trace, probe, fresh bool) (*conn, error) {
	if !fresh && h.s.maxIdle > 0 {
		if p := h.lookup(key); p != nil {
			now := time.Now()
			for {
				c := p.get(now)
				if c == nil {
					break
				}
				if probe && c.rc != nil {
					c.nc.SetReadDeadline(time.Time{})
					if !idleAlive(c.rc) {
						c.close()
						continue
					}
				}
				tr.Reused = true
				tr.Connect, tr.TLSHandshake = 0, 0
				tr.LocalAddr, tr.RemoteAddr = c.nc.LocalAddr(), c.nc.RemoteAddr()
				return c, nil
			}
		}
	}
	d, err := dial(ctx, h.s, key.addr, h.tlsCfg, key.sni)
	tr.Reused = false
	tr.Connect, tr.TLSHandshake = d.connect, d.tls
	if err != nil {
		return nil, err
	}
	tr.LocalAddr, tr.RemoteAddr = d.nc.LocalAddr(), d.nc.RemoteAddr()
	return newConn(h, key, d), nil
}

// roundTrip runs one request on c. On success the response owns c until
// its body ends; on failure c is closed. rb is closed once it has been read
// from (c.bodyRead), or on success; a failure before that leaves it alone.
func (c *conn) roundTrip(req *http.Request, rb io.ReadCloser, tr *Trace, start time.Time) (*http.Response, error) {
	c.begin(req.Context())
	c.closeAfter = c.h.s.maxIdle == 0 || req.Close || h1wire.HasToken(req.Header["Connection"], "close")
	if rb != nil && req.ContentLength == 0 {
		c.bodyRead = true // planBody reads a byte to tell empty from streamed
	}
	ob, err := planBody(req, rb)
	if err != nil {
		closeBody(rb)
		return nil, c.abandon(c.fail(OpBody, fmt.Errorf("reading the request body: %w", err)))
	}
	budget := c.h.s.maxHeader
	bw := getWriter(c)
	writeHead(bw, req, &ob, c.closeAfter, c.key.addr)
	if ob.r != nil && c.h.s.expectContinue > 0 && h1wire.HasToken(req.Header["Expect"], "100-continue") {
		if err := bw.Flush(); err != nil {
			putWriter(bw)
			c.closeBodyIfRead(rb)
			return nil, c.abandon(c.fail(OpWrite, err))
		}
		resp, err := c.awaitContinue(req, tr, start, &budget)
		if err != nil {
			putWriter(bw)
			c.closeBodyIfRead(rb)
			return nil, c.abandon(err)
		}
		if resp != nil {
			// The backend answered without asking for the body, so the
			// connection is out of step with the framing we announced
			// (awaitContinue marked it closeAfter).
			putWriter(bw)
			closeBody(rb)
			return resp, nil
		}
	}
	var side bodySide
	if ob.r != nil {
		c.bodyRead = true
		side, err = writeBody(bw, &ob, req.Trailer)
	}
	if err == nil {
		if err = bw.Flush(); err != nil {
			side = sideSink
		}
	}
	putWriter(bw)
	c.closeBodyIfRead(rb)
	switch side {
	case sideSource:
		return nil, c.abandon(c.fail(OpBody, fmt.Errorf("reading the request body: %w", err)))
	case sideSink:
		werr := c.fail(OpWrite, err)
		if c.canceled.Load() {
			return nil, c.abandon(werr)
		}
		// The backend may have answered and stopped reading.
		stale := c.stale
		c.closeAfter = true
		wait := earlyResponseWait
		if c.readTimeout > 0 && c.readTimeout < wait {
			wait = c.readTimeout
		}
		c.setReadDeadline(wait)
		resp, _, rerr := c.readResponse(req, tr, start, &budget, false)
		if rerr != nil {
			c.stale = stale
			return nil, c.abandon(werr)
		}
		return resp, nil
	}
	c.setReadDeadline(c.readTimeout)
	resp, _, err := c.readResponse(req, tr, start, &budget, false)
	if err != nil {
		return nil, c.abandon(err)
	}
	return resp, nil
}

// closeBodyIfRead closes the request body once this request has read from
// it: from then on the request cannot be sent again as it was.
func (c *conn) closeBodyIfRead(rb io.ReadCloser) {
	if c.bodyRead {
		closeBody(rb)
	}
}

// abandon closes c after a failed request and returns err.
func (c *conn) abandon(err error) error {
	c.release(false)
	return err
}

// awaitContinue waits up to ExpectContinueTimeout for the backend's
// answer to "Expect: 100-continue". It returns (nil, nil) when the body
// should be sent (a 100 came, or nothing did in time), or the final
// response the backend sent instead.
func (c *conn) awaitContinue(req *http.Request, tr *Trace, start time.Time, budget *int) (*http.Response, error) {
	c.setReadDeadline(c.h.s.expectContinue)
	if _, err := c.br.Peek(1); err != nil {
		if isTimeout(err) && !c.canceled.Load() {
			return nil, nil
		}
		if err == io.EOF {
			err = ErrClosedBeforeResponse
		}
		return nil, c.fail(OpRead, err)
	}
	c.setReadDeadline(c.readTimeout)
	// A final response without a 100 leaves the connection out of step
	// with the framing announced, so it must not be reused.
	closeAfter := c.closeAfter
	c.closeAfter = true
	resp, got100, err := c.readResponse(req, tr, start, budget, true)
	if got100 {
		c.closeAfter = closeAfter
		return nil, nil
	}
	return resp, err
}

// readResponse reads the response head, skipping interim responses (handed
// to tr.Got1xx), and builds the response. With wait100 it returns at a 100
// Continue with got100 set.
func (c *conn) readResponse(req *http.Request, tr *Trace, start time.Time, budget *int, wait100 bool) (resp *http.Response, got100 bool, err error) {
	for n := 0; ; n++ {
		b, consumed, err := c.readHeadBytes(*budget)
		if !c.firstByte.IsZero() && tr.FirstByte == 0 {
			tr.FirstByte = c.firstByte.Sub(start)
		}
		if err != nil {
			return nil, false, c.fail(OpRead, err)
		}
		ph, err := parseHead(b, c.fields)
		c.fields = ph.fields[:0]
		if err != nil {
			return nil, false, c.fail(OpRead, err)
		}
		*budget -= len(b)
		if ph.code >= 200 || ph.code == http.StatusSwitchingProtocols {
			// The text is copied out before the buffer is released.
			s := string(b)
			c.br.Discard(consumed)
			resp, err := c.newResponse(req, s, &ph, *budget)
			if err != nil {
				return nil, false, err
			}
			return resp, false, nil
		}
		if tr.Got1xx != nil {
			tr.Got1xx(ph.code, h1wire.BuildHeader(string(b), ph.fields))
		}
		c.br.Discard(consumed)
		if ph.code == http.StatusContinue && wait100 {
			return nil, true, nil
		}
		if n+1 > maxInformational {
			return nil, false, c.fail(OpRead, malformed("more than %d interim responses", maxInformational))
		}
	}
}

// readHeadBytes returns the next response head (see h1wire.ReadHead).
func (c *conn) readHeadBytes(budget int) (b []byte, consumed int, err error) {
	b, consumed, err = h1wire.ReadHead(c.br, budget)
	switch err {
	case io.EOF:
		err = ErrClosedBeforeResponse
	case h1wire.ErrTooLarge:
		err = ErrHeaderTooLarge
	}
	return b, consumed, err
}

// newResponse builds the response from head text s and picks its body by
// RFC 9112 §6.3. budget is what remains for the trailers.
func (c *conn) newResponse(req *http.Request, s string, ph *parsedHead, budget int) (*http.Response, error) {
	hdr := h1wire.BuildHeader(s, ph.fields)
	b := &body{c: c, budget: budget}
	resp := &b.resp
	resp.Status = s[ph.ss:ph.se]
	resp.StatusCode = ph.code
	resp.ProtoMajor, resp.ProtoMinor = 1, ph.minor
	resp.Proto = "HTTP/1.1"
	if ph.minor == 0 {
		resp.Proto = "HTTP/1.0"
	}
	resp.Header = hdr
	resp.Request = req
	resp.TLS = c.tlsState

	closeConn := c.closeAfter
	if conns := hdr["Connection"]; ph.minor == 0 {
		closeConn = closeConn || !h1wire.HasToken(conns, "keep-alive")
	} else if h1wire.HasToken(conns, "close") {
		closeConn = true
	}

	chunked := false
	if te, ok := hdr["Transfer-Encoding"]; ok {
		delete(hdr, "Transfer-Encoding")
		switch {
		case ph.minor == 0:
			// Transfer-Encoding in HTTP/1.0 is faulty framing: ignore
			// it and close afterwards (RFC 9112 §6.1).
			closeConn = true
		case len(te) != 1 || !h1wire.EqualFold(te[0], "chunked"):
			return nil, c.fail(OpRead, malformed("unsupported transfer encoding %q", te))
		default:
			chunked = true
		}
	}
	length := int64(-1)
	if vv, ok := hdr["Content-Length"]; ok {
		n, err := parseContentLength(vv)
		if err != nil {
			return nil, c.fail(OpRead, err)
		}
		if len(vv) > 1 {
			hdr["Content-Length"] = vv[:1]
		}
		length = n
	}
	if chunked {
		if tv, ok := hdr["Trailer"]; ok {
			delete(hdr, "Trailer")
			t, err := announcedTrailers(tv)
			if err != nil {
				return nil, c.fail(OpRead, err)
			}
			resp.Trailer = t
		}
	}
	noBody := req.Method == http.MethodHead || ph.code == http.StatusNoContent || ph.code == http.StatusNotModified
	if chunked && length >= 0 && !noBody {
		// Both framings: chunked wins (RFC 9112 §6.3), and the
		// connection is not trusted afterwards.
		delete(hdr, "Content-Length")
		length = -1
		closeConn = true
	}

	switch {
	case ph.code == http.StatusSwitchingProtocols,
		req.Method == http.MethodConnect && ph.code/100 == 2:
		return c.upgrade(req, b)
	case noBody:
		resp.ContentLength = 0
		if req.Method == http.MethodHead {
			resp.ContentLength = length
		}
		resp.Body = http.NoBody
		resp.Close = closeConn
		c.release(!closeConn)
		return resp, nil
	case chunked:
		b.kind = kindChunked
		resp.ContentLength = -1
		resp.TransferEncoding = chunkedTE
	case length == 0:
		resp.Body = http.NoBody
		resp.Close = closeConn
		c.release(!closeConn)
		return resp, nil
	case length > 0:
		b.kind = kindLength
		b.remaining = length
		resp.ContentLength = length
	default:
		// No framing: the body runs until the backend closes.
		b.kind = kindEOF
		resp.ContentLength = -1
		closeConn = true
	}
	resp.Close = closeConn
	b.reuse = !closeConn
	c.fixedRead = false
	resp.Body = b
	return resp, nil
}

// upgrade hands the connection over as the body of a 101 (or of a 2xx
// CONNECT): no timeouts, no cancellation, never pooled.
func (c *conn) upgrade(req *http.Request, b *body) (*http.Response, error) {
	if req.Method != http.MethodConnect && len(req.Header["Upgrade"]) == 0 {
		return nil, c.fail(OpRead, malformed("101 Switching Protocols to a request without Upgrade"))
	}
	if !c.disarm() {
		return nil, c.fail(OpRead, context.Canceled)
	}
	c.readTimeout, c.writeTimeout, c.fixedRead = 0, 0, false
	c.ctx = nil
	c.nc.SetDeadline(time.Time{})
	b.resp.Body = &upgradeBody{c: c}
	b.resp.ContentLength = 0
	return &b.resp, nil
}

// parseContentLength accepts one or more identical values of digits only.
// parseContentLength is h1wire.ParseContentLength with its errors marked as
// a malformed response.
func parseContentLength(vv []string) (int64, error) {
	n, err := h1wire.ParseContentLength(vv)
	if err != nil {
		return 0, malformed("%v", err)
	}
	return n, nil
}

// announcedTrailers is h1wire.AnnouncedTrailers with its errors marked as
// a malformed response.
func announcedTrailers(vv []string) (http.Header, error) {
	t, err := h1wire.AnnouncedTrailers(vv)
	if err != nil {
		return nil, malformed("%v", err)
	}
	return t, nil
}
