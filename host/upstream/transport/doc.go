// Package transport sends proxied requests to upstream backends.
//
// One Transport serves one upstream; host/upstream picks the backend address
// and host/proxy calls RoundTrip with it:
//
//	t, err := transport.New(transport.Options{ReadTimeout: 5 * time.Second})
//	var tr transport.Trace
//	resp, err := t.RoundTrip(outreq, "10.0.0.7:8080", &tr)
//
// # HTTP/1.1
//
// net/http's Transport runs two goroutines per connection and allocates
// heavily per request; with httputil.ReverseProxy it reaches about a quarter
// of nginx's throughput per core (DESIGN.md §6). The HTTP/1.1 client here is
// lean instead:
//
//   - Per backend address, a LIFO pool of idle keep-alive connections, capped
//     at Options.MaxIdlePerHost and reaped after Options.IdleTimeout by one
//     timer per pool. Idle connections hold no buffers.
//   - The request runs synchronously on the caller's goroutine: the head is
//     written through a pooled bufio.Writer without fmt or
//     http.Request.Write (which would add User-Agent), the body is streamed
//     (Content-Length when known, else chunked with req.Trailer as
//     trailers), and the response head is parsed in place from a pooled
//     bufio.Reader with one allocation for all its text.
//   - The response Body hands the connection back to the pool at EOF, or at
//     Close after draining a small, quickly available rest; otherwise the
//     connection is closed. Response trailers are in resp.Trailer at EOF.
//   - 100 Continue and other interim responses are skipped (Trace.Got1xx
//     sees them); "Expect: 100-continue" waits ExpectContinueTimeout for the
//     backend before sending the body. A 101 response's Body is an
//     io.ReadWriteCloser over the raw connection, for WebSocket tunnels.
//   - HEAD, 204 and 304 responses have no body.
//
// The request is written in full before the response is read; HTTP/1.1
// through this client is not full-duplex. When the backend stops reading and
// answers early (a 413, say), that answer is still returned.
//
// # Safety
//
// The transport writes the message framing itself: Content-Length,
// Transfer-Encoding, Trailer and Host in req.Header are ignored, so a
// client's conflicting framing never reaches a backend. Header names must be
// tokens and values free of CR, LF, NUL and other control bytes, or nothing
// is sent (ErrInvalidRequest). The response parser accepts a strict subset
// of what net/http accepts (checked by a fuzz target): one Transfer-Encoding,
// chunked; identical Content-Length values only; no obsolete line folding;
// CRLF in the chunked coding; the head capped at MaxResponseHeaderBytes.
// Removing hop-by-hop headers is the caller's job.
//
// # Failures and retries
//
// Errors are *Error: Op says what failed (dial, tls, write, body, read),
// Sent whether any request byte reached the backend (or any of the body was
// read), and Timeout (also errors.Is(err, ErrTimeout)) whether a limit
// expired, so that the proxy answers 504 rather than 502. When Sent is false
// the request body has been neither read nor closed, so the proxy may send
// the same request to another backend. A pooled connection the backend has closed
// is retried once on a fresh connection when the request can be replayed; a
// request that cannot is sent only after a non-blocking check that the
// pooled connection is still open (Linux). Other retries are for the caller
// to decide from Sent and Connecting.
//
// The request context cancels a blocked connect, write or read at once
// (also while the body is read after RoundTrip returned); such a
// connection is never reused.
//
// # HTTP/2
//
// Protocol H2 (HTTP/2 over TLS, or h2c with prior knowledge when there is no
// TLS) and H2H1 (ALPN negotiation) use net/http's Transport, one per
// Transport (one per server name with SNIFromRequest), dialing through the
// same dialer and timeouts. ReadTimeout bounds the response head and each
// body read.
//
// # Concurrency
//
// A Transport is safe for concurrent use. A response Body is for one reader;
// Close may be called from another goroutine to abort a blocked Read.
package transport
