package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP/1.x connections. Its fields must not change once
// ServeConn has been called.
type Server struct {
	// Handler serves every request.
	Handler http.Handler
	// ReadTimeout bounds reading a whole request, head and body;
	// ReadHeaderTimeout the head alone (ReadTimeout when zero);
	// WriteTimeout writing the response; IdleTimeout the wait for the next
	// request on a kept-alive connection (the header timeout when zero).
	// Zero disables the one concerned.
	ReadTimeout, ReadHeaderTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes caps a request head; default http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ConnContext, if set, derives the base context of a connection's
	// requests, as http.Server.ConnContext does.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// ConnState, if set, is told the connection's states as in
	// http.Server: New, Active, Idle, Hijacked, Closed.
	ConnState func(net.Conn, http.ConnState)
	// H2, if set, takes connections that speak HTTP/2: TLS with ALPN "h2",
	// or plain ones opening with the HTTP/2 preface (h2c prior knowledge).
	// Without it such a plain connection gets 505.
	H2 func(net.Conn)
	// Logger receives handler panics and other server errors.
	Logger *slog.Logger

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutdown atomic.Bool
}

// Connection states for Shutdown. A connection is new until the first
// byte of its first request, idle while it waits for the first byte of a
// later one. Shutdown closes idle ones at once and lets the others finish
// their request. A new one may have its request on the wire already: the
// client has had no answer, so it could not tell a close from a failure
// and would not retry. Shutdown closes it only once it has been silent for
// newConnGrace, as net/http does.
const (
	stateActive int32 = iota
	stateNew
	stateIdle
	stateClosed
)

// newConnGrace is how long Shutdown waits for a new connection's first
// request (net/http waits 5 s too). A variable for tests.
var newConnGrace = 5 * time.Second

// ServeConn serves nc until the client closes it, a request asks for the
// connection to close, or the server shuts down. It returns when it is done
// with nc (a hijacked connection then belongs to the handler).
func (s *Server) ServeConn(nc net.Conn) {
	if tc, ok := nc.(*tls.Conn); ok && s.H2 != nil && tc.ConnectionState().NegotiatedProtocol == "h2" {
		s.H2(nc)
		return
	}
	c := newConn(s, nc)
	if !s.track(c) {
		nc.Close()
		return
	}
	s.setState(c, http.StateNew)
	c.serve()
}

// track registers c; false once the server has shut down.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) setState(c *conn, st http.ConnState) {
	if s.ConnState != nil {
		s.ConnState(c.nc, st)
	}
}

// closeIdle closes the connections waiting for a request, and the new ones
// silent for newConnGrace, and reports whether any connection is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) ||
			time.Since(c.born) > newConnGrace && c.state.CompareAndSwap(stateNew, stateClosed) {
			c.nc.Close()
		}
	}
	return len(s.conns) > 0
}

// Shutdown stops serving gracefully: idle connections are closed at once,
// busy ones after their current response. It returns when none is left, or
// with ctx's error when ctx ends first (the rest stay open; see Close).
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if !s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes every connection at once.
func (s *Server) Close() error {
	s.shutdown.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.state.Store(stateClosed)
		c.nc.Close()
	}
	return nil
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return http.DefaultMaxHeaderBytes
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Read and write buffers outlive their connection in these pools, so that
// connection churn does not churn memory.
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)
