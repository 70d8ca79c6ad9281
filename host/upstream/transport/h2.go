package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"sync/atomic"
	"time"
)

// HTTP/2 (and ALPN negotiation) goes through net/http's Transport, which
// multiplexes streams on few connections; allocation per request matters
// less there than in the HTTP/1.1 hot path. The net/http Transport dials
// through this package's dial, so timeouts, socket options and the Dialer
// seam are the same.

// maxSNITransports bounds the net/http Transports kept for SNIFromRequest,
// one per server name, since the names come from clients.
const maxSNITransports = 64

// errReadTimeout is the cancel cause when a body read outlives ReadTimeout.
var errReadTimeout = errors.New("response body read timeout")

type h2 struct {
	s      *settings
	scheme string
	base   *http.Transport // nil with SNIFromRequest

	mu     sync.Mutex
	bySNI  map[string]*http.Transport
	closed atomic.Bool
}

func newH2(s *settings) *h2 {
	h := &h2{s: s, scheme: "http"}
	if s.tls != nil {
		h.scheme = "https"
	}
	if s.sniFromRequest {
		h.bySNI = make(map[string]*http.Transport)
	} else {
		h.base = h.newTransport("")
	}
	return h
}

// dialTraceKey carries the *h2state of a request to the dial functions.
type dialTraceKey struct{}

// newTransport builds the net/http Transport for one server name (empty:
// the fixed one from Options.TLS).
func (h *h2) newTransport(sni string) *http.Transport {
	s := h.s
	p := new(http.Protocols)
	var cfg *tls.Config
	switch {
	case s.tls == nil:
		p.SetUnencryptedHTTP2(true)
	case s.protocol == H2:
		p.SetHTTP2(true)
		cfg = s.tls.Clone()
		cfg.NextProtos = []string{"h2"}
	default:
		p.SetHTTP1(true)
		p.SetHTTP2(true)
		cfg = s.tls.Clone()
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	t := &http.Transport{
		Proxy:                  nil, // never the environment's proxy
		Protocols:              p,
		MaxIdleConnsPerHost:    max(s.maxIdle, 1),
		DisableKeepAlives:      s.maxIdle == 0,
		IdleConnTimeout:        s.idle,
		ResponseHeaderTimeout:  s.read,
		ExpectContinueTimeout:  s.expectContinue,
		MaxResponseHeaderBytes: int64(s.maxHeader),
		DisableCompression:     true, // the proxy forwards Accept-Encoding as is
		HTTP2:                  &http.HTTP2Config{WriteByteTimeout: s.write},
	}
	record := func(ctx context.Context, d dialed) {
		if st, ok := ctx.Value(dialTraceKey{}).(*h2state); ok {
			st.mu.Lock()
			st.connect, st.tls = d.connect, d.tls
			st.mu.Unlock()
		}
	}
	if cfg == nil {
		t.DialContext = func(ctx context.Context, _, addr string) (net.Conn, error) {
			d, err := dial(ctx, s, addr, nil, "")
			record(ctx, d)
			if err != nil {
				return nil, err
			}
			return d.nc, nil
		}
		return t
	}
	t.DialTLSContext = func(ctx context.Context, _, addr string) (net.Conn, error) {
		d, err := dial(ctx, s, addr, cfg, sni)
		record(ctx, d)
		if err != nil {
			return nil, err
		}
		if s.protocol == H2 && d.tlsState.NegotiatedProtocol != "h2" {
			d.nc.Close()
			return nil, &Error{Op: OpTLS, Addr: addr, Err: fmt.Errorf("backend did not negotiate h2 (got %q)", d.tlsState.NegotiatedProtocol)}
		}
		return d.nc, nil
	}
	return t
}

// transportFor returns the Transport of a server name, creating it and, at
// the bound, evicting another.
func (h *h2) transportFor(sni string) *http.Transport {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.bySNI[sni]; t != nil {
		return t
	}
	if len(h.bySNI) >= maxSNITransports {
		for k, old := range h.bySNI {
			old.CloseIdleConnections()
			delete(h.bySNI, k)
			break
		}
	}
	t := h.newTransport(sni)
	h.bySNI[sni] = t
	return t
}

func (h *h2) each(f func(*http.Transport)) {
	if h.base != nil {
		f(h.base)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.bySNI {
		f(t)
	}
}

func (h *h2) closeIdle() { h.each((*http.Transport).CloseIdleConnections) }

func (h *h2) close() {
	h.closed.Store(true)
	h.closeIdle()
}

// h2state gathers trace events, which net/http may report from its own
// goroutines, until RoundTrip copies them to the caller's Trace.
type h2state struct {
	mu        sync.Mutex
	reused    bool
	connect   time.Duration
	tls       time.Duration
	firstByte time.Time
	local     net.Addr
	remote    net.Addr
	sent      bool
}

func (st *h2state) clientTrace(got1xx func(int, http.Header)) *httptrace.ClientTrace {
	ct := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			st.mu.Lock()
			defer st.mu.Unlock()
			st.reused = info.Reused
			if info.Conn != nil {
				st.local, st.remote = info.Conn.LocalAddr(), info.Conn.RemoteAddr()
			}
		},
		WroteHeaders: func() {
			st.mu.Lock()
			st.sent = true
			st.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			st.mu.Lock()
			st.firstByte = time.Now()
			st.mu.Unlock()
		},
	}
	if got1xx != nil {
		ct.Got1xxResponse = func(code int, hdr textproto.MIMEHeader) error {
			got1xx(code, http.Header(hdr).Clone())
			return nil
		}
	}
	return ct
}

func (st *h2state) copyTo(tr *Trace, start time.Time) (sent bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	tr.Reused = st.reused
	if !st.reused {
		tr.Connect, tr.TLSHandshake = st.connect, st.tls
	}
	if !st.firstByte.IsZero() {
		tr.FirstByte = st.firstByte.Sub(start)
	}
	tr.LocalAddr, tr.RemoteAddr = st.local, st.remote
	return st.sent
}

func (h *h2) roundTrip(req *http.Request, addr string, tr *Trace) (*http.Response, error) {
	start := time.Now()
	if err := validateRequest(req); err != nil {
		return nil, &Error{Op: OpRequest, Addr: addr, Err: err}
	}
	rt := h.base
	if rt == nil {
		rt = h.transportFor(sniHost(req))
	}
	parent := req.Context()
	ctx, cancel := context.WithCancelCause(parent)
	st := new(h2state)
	ctx = context.WithValue(ctx, dialTraceKey{}, st)
	ctx = httptrace.WithClientTrace(ctx, st.clientTrace(tr.Got1xx))
	out := req.WithContext(ctx)
	u := *req.URL
	u.Scheme, u.Host = h.scheme, addr
	out.URL = &u
	out.Host = requestHost(req)
	if out.Header == nil {
		out.Header = make(http.Header) // net/http refuses a nil one
	}
	var tb *trackedBody
	if req.Body != nil && req.Body != http.NoBody {
		tb = &trackedBody{rc: req.Body}
		out.Body = tb
	}

	resp, err := rt.RoundTrip(out)
	sent := st.copyTo(tr, start)
	if err != nil {
		cancel(nil)
		if tb != nil && !tb.untouched() {
			sent = true
			tb.rc.Close()
		}
		var e *Error
		if errors.As(err, &e) {
			e.Sent = e.Sent || sent
			return nil, e
		}
		e = &Error{Op: OpWrite, Addr: addr, Sent: sent, Err: err, Timeout: isTimeout(err)}
		if sent {
			e.Op = OpRead
		}
		if perr := parent.Err(); perr != nil {
			e.Err = fmt.Errorf("%w (%w)", context.Cause(parent), err)
			e.Timeout = errors.Is(perr, context.DeadlineExceeded)
		}
		return nil, e
	}
	resp.Request = req
	if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		// The tunnel belongs to the caller; no read timeout applies.
		resp.Body = &h2Tunnel{ReadWriteCloser: rwc, cancel: cancel}
		return resp, nil
	}
	b := &h2Body{rc: resp.Body, cancel: cancel, parent: parent, h: h, addr: addr, timeout: h.s.read}
	if b.timeout > 0 {
		b.timer = time.AfterFunc(time.Hour, b.expire)
		b.timer.Stop()
	}
	resp.Body = b
	return resp, nil
}

// errBodyDetached is what a request body read returns once RoundTrip has
// given up on the request without having read it.
var errBodyDetached = errors.New("request body no longer belongs to this request")

// trackedBody is the request body handed to net/http. It records whether
// net/http read from it, and ignores a Close that comes before any read,
// so that a request that failed untouched can be sent elsewhere (net/http
// closes the body on every failure, possibly later, from its own
// goroutines).
type trackedBody struct {
	rc    io.ReadCloser
	state atomic.Int32 // 0 untouched, 1 read from, 2 detached
}

func (b *trackedBody) Read(p []byte) (int, error) {
	if b.state.Load() != 1 && !b.state.CompareAndSwap(0, 1) {
		return 0, errBodyDetached
	}
	return b.rc.Read(p)
}

func (b *trackedBody) Close() error {
	if b.state.CompareAndSwap(0, 2) || b.state.Load() == 2 {
		return nil
	}
	return b.rc.Close()
}

// untouched reports whether the body was never read, and from then on
// refuses reads, so that the answer stays true.
func (b *trackedBody) untouched() bool {
	return b.state.CompareAndSwap(0, 2) || b.state.Load() == 2
}

// h2Body applies ReadTimeout to each body read (net/http has no per-read
// timeout for HTTP/2) and maps read errors to *Error.
type h2Body struct {
	rc       io.ReadCloser
	cancel   context.CancelCauseFunc
	parent   context.Context
	h        *h2
	addr     string
	timeout  time.Duration
	timer    *time.Timer
	timedOut atomic.Bool
	done     atomic.Bool
}

func (b *h2Body) expire() {
	b.timedOut.Store(true)
	b.cancel(errReadTimeout)
}

func (b *h2Body) Read(p []byte) (int, error) {
	if b.timer != nil {
		b.timer.Reset(b.timeout)
	}
	n, err := b.rc.Read(p)
	if b.timer != nil {
		b.timer.Stop()
	}
	if err == nil || err == io.EOF {
		return n, err
	}
	e := &Error{Op: OpRead, Addr: b.addr, Sent: true, Err: err, Timeout: isTimeout(err)}
	switch {
	case b.timedOut.Load():
		e.Timeout, e.Err = true, errReadTimeout
	case b.parent.Err() != nil:
		e.Err = context.Cause(b.parent)
		e.Timeout = errors.Is(b.parent.Err(), context.DeadlineExceeded)
	}
	return n, e
}

// Close ends the stream and, once the transport is closed, lets its idle
// connections go.
func (b *h2Body) Close() error {
	if !b.done.CompareAndSwap(false, true) {
		return nil
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	err := b.rc.Close()
	b.cancel(nil)
	if b.h.closed.Load() {
		b.h.closeIdle()
	}
	return err
}

// h2Tunnel is the Body of a 101 response that net/http returned (H2H1 when
// the backend chose HTTP/1.1): the connection, plus the request context to
// release at Close.
type h2Tunnel struct {
	io.ReadWriteCloser
	cancel context.CancelCauseFunc
}

func (t *h2Tunnel) Close() error {
	err := t.ReadWriteCloser.Close()
	t.cancel(nil)
	return err
}
