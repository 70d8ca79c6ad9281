package transport

import (
	"context"
	"errors"
	"os"
	"strings"
)

// Sentinel errors. Test for them with errors.Is; the *Error returned by
// RoundTrip wraps the cause.
var (
	// ErrTimeout matches every *Error whose Timeout field is set: a connect,
	// TLS handshake, write or read that ran out of time. The proxy answers
	// these with 504 and other upstream failures with 502.
	ErrTimeout = errors.New("upstream timeout")

	// ErrInvalidRequest means the request cannot be written as HTTP/1.1:
	// a header name that is not a token, a value holding CR, LF, NUL or
	// another control byte, or a bad method or target. Nothing was sent.
	ErrInvalidRequest = errors.New("invalid upstream request")

	// ErrMalformedResponse means the backend's response broke HTTP/1.1
	// framing or syntax. The connection is closed.
	ErrMalformedResponse = errors.New("malformed upstream response")

	// ErrHeaderTooLarge means the response head (status line and headers,
	// or the trailers) exceeded Options.MaxResponseHeaderBytes.
	ErrHeaderTooLarge = errors.New("upstream response header too large")

	// ErrClosedBeforeResponse means the backend closed the connection
	// after the request was written and before the first byte of a
	// response. On a reused keep-alive connection this is what a stale
	// connection looks like.
	ErrClosedBeforeResponse = errors.New("upstream closed connection before response")

	// ErrBodyClosed is returned by a response body's Read after Close.
	ErrBodyClosed = errors.New("read on closed upstream response body")
)

// Operations named in Error.Op.
const (
	OpRequest = "request" // the request was refused before anything was sent
	OpDial    = "dial"    // TCP connect
	OpTLS     = "tls"     // TLS handshake
	OpWrite   = "write"   // writing the request to the backend
	OpBody    = "body"    // reading the request body from the caller
	OpRead    = "read"    // reading the response (head or body)
)

// Error is the error type of RoundTrip and of response body reads. It says
// what failed, against which backend, and what the proxy needs to decide on a
// retry and a status code.
type Error struct {
	// Op is the operation that failed: one of the Op* constants.
	Op string
	// Addr is the backend address ("ip:port") the request was for.
	Addr string
	// Sent is true when at least one byte of the request reached the
	// backend's socket, so the backend may have acted on it, or when any
	// of the request body has been read. When Sent is false the request is
	// untouched, its body neither read nor closed, and it may be sent to
	// another backend whatever its method.
	Sent bool
	// Timeout is true when the operation ran out of time (connect, TLS,
	// write, read or the request context's deadline).
	Timeout bool
	// Err is the underlying cause.
	Err error
}

// Error returns "upstream OP ADDR: CAUSE".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("upstream ")
	b.WriteString(e.Op)
	if e.Addr != "" {
		b.WriteByte(' ')
		b.WriteString(e.Addr)
	}
	if e.Timeout {
		b.WriteString(" (timeout)")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTimeout) true for timeouts.
func (e *Error) Is(target error) bool { return target == ErrTimeout && e.Timeout }

// Connecting reports whether the failure happened while establishing the
// connection (TCP connect or TLS handshake), before any request byte could
// have been sent.
func (e *Error) Connecting() bool { return e.Op == OpDial || e.Op == OpTLS }

// isTimeout reports whether err is a deadline expiry of a net.Conn or a
// context, or any error that says it is a timeout.
func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
