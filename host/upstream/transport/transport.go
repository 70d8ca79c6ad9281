package transport

import (
	"net"
	"net/http"
	"time"
)

// Trace collects what RoundTrip learned about one request, for access logs
// and metrics. The caller owns it and passes it in, so that collecting it
// costs no allocation and no context value. RoundTrip resets every output
// field before it starts.
type Trace struct {
	// Got1xx, when not nil, is an input: it is called with each interim
	// response (100 Continue, 103 Early Hints, ...) except 101. The header
	// is the callback's to keep. With HTTP/2 it may run on another
	// goroutine, but always before RoundTrip returns.
	Got1xx func(code int, header http.Header)

	// Reused is true when the request went out on a pooled keep-alive
	// connection.
	Reused bool
	// Retried is true when a first attempt failed on a stale pooled
	// connection and the request was sent again on a new one.
	Retried bool
	// Connect is the time the TCP connect took; zero when reused.
	Connect time.Duration
	// TLSHandshake is the time the TLS handshake took; zero when reused or
	// plain.
	TLSHandshake time.Duration
	// FirstByte is the time from the start of RoundTrip to the first byte
	// of the response.
	FirstByte time.Duration
	// LocalAddr and RemoteAddr are the connection's addresses (nil when
	// no connection was made). Call String only when logging.
	LocalAddr, RemoteAddr net.Addr
}

// Transport sends requests to the backends of one upstream. It is safe for
// concurrent use. Build one per upstream (per generation), not per request.
type Transport struct {
	s  settings
	h1 *h1
	h2 *h2
}

// New checks o and builds a Transport. The error names every problem.
func New(o Options) (*Transport, error) {
	s, err := o.resolve()
	if err != nil {
		return nil, err
	}
	t := &Transport{s: s}
	if s.protocol == H1 || (s.protocol == H2H1 && s.tls == nil) {
		t.h1 = newH1(&t.s)
	} else {
		t.h2 = newH2(&t.s)
	}
	return t, nil
}

// RoundTrip sends req to the backend at addr ("ip:port", as chosen by the
// balancer) and returns its response. The request's URL supplies the path
// and query; its Host (or URL.Host, or else addr) becomes the Host header.
// Hop-by-hop headers are the caller's to remove; the transport writes the
// framing (Content-Length, Transfer-Encoding, Trailer) itself.
//
// RoundTrip closes req.Body, as an http.RoundTripper does, except when it
// fails before reading it (Error.Sent false): then the body is untouched,
// for the caller to send the request to another backend or close it. The
// caller must close the response body. With HTTP/1.1 the connection
// returns to the pool when the body has been read to EOF or closed. A 101
// Switching Protocols response (or a 2xx answer to CONNECT) has a Body that
// is an io.ReadWriteCloser over the connection.
//
// Errors are *Error. A request that failed on a stale pooled connection is
// sent once more on a fresh one if it can be replayed (no body or GetBody,
// idempotent method or Idempotency-Key); any other retry is the caller's
// decision, guided by Error.Sent and Error.Connecting.
//
// tr may be nil.
func (t *Transport) RoundTrip(req *http.Request, addr string, tr *Trace) (*http.Response, error) {
	if tr == nil {
		tr = new(Trace)
	} else {
		*tr = Trace{Got1xx: tr.Got1xx}
	}
	if t.h1 != nil {
		return t.h1.roundTrip(req, addr, tr)
	}
	return t.h2.roundTrip(req, addr, tr)
}

// CloseIdle closes every idle connection.
func (t *Transport) CloseIdle() {
	if t.h1 != nil {
		t.h1.closeIdle(func(poolKey) bool { return true })
		return
	}
	t.h2.closeIdle()
}

// CloseIdleAddr closes the idle connections to one backend, for example
// when discovery removed it. With HTTP/2 it closes every idle connection,
// since net/http's pool cannot be addressed per backend.
func (t *Transport) CloseIdleAddr(addr string) {
	if t.h1 != nil {
		t.h1.closeIdle(func(k poolKey) bool { return k.addr == addr })
		return
	}
	t.h2.closeIdle()
}

// Close retires the transport, as when its generation is replaced: idle
// connections close now, connections in use close when their response
// ends. RoundTrip keeps working afterwards (a request of the old generation
// may still retry) but no longer pools connections.
func (t *Transport) Close() {
	if t.h1 != nil {
		t.h1.closed.Store(true)
		t.h1.closeIdle(func(poolKey) bool { return true })
		return
	}
	t.h2.close()
}
