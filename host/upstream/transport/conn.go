package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// Buffer sizes. The reader must hold a typical response head whole, so that
// the head is parsed in place; larger heads take a slower copying path.
const (
	readBufferSize  = 8 << 10
	writeBufferSize = 4 << 10
	copyBufferSize  = 16 << 10
)

// The buffers live in pools rather than in connections, so that an idle
// pooled connection holds no buffer memory.
var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufferSize) }}
	copyPool   = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}
)

// aLongTimeAgo is a deadline in the past, used to abort blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// poolKey identifies the connections that are interchangeable: same backend
// address and, with SNIFromRequest, same TLS server name.
type poolKey struct {
	addr string
	sni  string
}

// conn is one HTTP/1.1 connection to a backend. It is used by one request at
// a time, on that request's goroutine; between requests it sits in its
// hostPool. It wraps the net.Conn as the io.Reader and io.Writer of the
// pooled bufio buffers so that every network read and write gets its
// deadline, counts the bytes sent, and notices a cancelled request.
type conn struct {
	nc       net.Conn
	rc       syscall.RawConn // for the idle probe; nil when unavailable
	tlsState *tls.ConnectionState
	key      poolKey
	h        *h1
	abortFn  func() // c.abort, bound once so arming a request does not allocate

	// The fields below belong to the request in flight.
	br           *bufio.Reader  // from readerPool, until the response ends
	fields       []h1wire.Field // scratch for the head parser
	idleAt       time.Time      // when the connection was last put in the pool
	readTimeout  time.Duration
	writeTimeout time.Duration
	fixedRead    bool // a deadline covering several reads is in force
	written      int64
	bodyRead     bool      // the request body has been read from
	gotByte      bool      // a byte of the response arrived
	firstByte    time.Time // when it did
	closeAfter   bool      // the connection must not be reused
	stale        bool      // failed the way a stale keep-alive connection fails
	ctx          context.Context
	stop         func() bool
	canceled     atomic.Bool
}

func newConn(h *h1, key poolKey, d dialed) *conn {
	c := &conn{
		nc:       d.nc,
		rc:       rawConnOf(d.nc),
		tlsState: d.tlsState,
		key:      key,
		h:        h,
	}
	c.abortFn = c.abort
	return c
}

// Read implements io.Reader for the bufio.Reader. Unless a fixed deadline is
// in force, each network read gets ReadTimeout. The deadline is set before
// the cancellation flag is checked, so an abort that lands in between still
// wins: its past deadline is set after ours.
func (c *conn) Read(p []byte) (int, error) {
	if c.readTimeout > 0 && !c.fixedRead {
		c.nc.SetReadDeadline(time.Now().Add(c.readTimeout))
	}
	if c.canceled.Load() {
		return 0, context.Canceled
	}
	n, err := c.nc.Read(p)
	if n > 0 && !c.gotByte {
		c.gotByte = true
		c.firstByte = time.Now()
	}
	return n, err
}

// Write implements io.Writer for the bufio.Writer: one deadline per write
// (WriteTimeout), and a count of the bytes the kernel accepted.
func (c *conn) Write(p []byte) (int, error) {
	if c.writeTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	}
	if c.canceled.Load() {
		return 0, context.Canceled
	}
	n, err := c.nc.Write(p)
	c.written += int64(n)
	return n, err
}

// begin prepares the connection for a request: fresh per-request state, a
// read buffer, and cancellation tied to ctx.
func (c *conn) begin(ctx context.Context) {
	c.readTimeout, c.writeTimeout = c.h.s.read, c.h.s.write
	c.fixedRead = false
	c.written = 0
	c.bodyRead = false
	c.gotByte = false
	c.firstByte = time.Time{}
	c.closeAfter = false
	c.stale = false
	if c.readTimeout == 0 {
		// Without per-read deadlines, one left by a drain must go.
		c.nc.SetReadDeadline(time.Time{})
	}
	c.ctx = ctx
	c.canceled.Store(false)
	c.stop = nil
	if ctx.Done() != nil {
		c.stop = context.AfterFunc(ctx, c.abortFn)
	}
	if c.br == nil {
		c.br = readerPool.Get().(*bufio.Reader)
		c.br.Reset(c)
	}
}

// abort runs when the request's context is done: it fails the blocked read
// or write at once. The connection is never reused afterwards.
func (c *conn) abort() {
	c.canceled.Store(true)
	c.nc.SetDeadline(aLongTimeAgo)
}

// disarm detaches the request's context. It reports false when the
// context fired, in which case the connection must be closed.
func (c *conn) disarm() bool {
	ok := true
	if c.stop != nil {
		ok = c.stop()
		c.stop = nil
	}
	return ok && !c.canceled.Load()
}

// setReadDeadline fixes one deadline for the reads that follow (the whole
// response head), instead of one per read. Zero d clears it.
func (c *conn) setReadDeadline(d time.Duration) {
	if d <= 0 {
		c.fixedRead = false
		c.nc.SetReadDeadline(time.Time{})
		return
	}
	c.fixedRead = true
	c.nc.SetReadDeadline(time.Now().Add(d))
}

// release ends the request on this connection: the connection goes back
// to the pool when reuse is true and nothing forbids it, else it is closed.
func (c *conn) release(reuse bool) {
	if !c.disarm() || c.closeAfter {
		reuse = false
	}
	if c.br != nil {
		if c.br.Buffered() > 0 {
			reuse = false // the backend sent bytes nobody asked for
		}
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
	c.ctx = nil
	if reuse {
		c.h.put(c)
		return
	}
	c.nc.Close()
}

// close closes a connection that holds no request.
func (c *conn) close() { c.nc.Close() }

// fail builds the *Error for a failure of op on this connection and records
// whether it looks like a stale keep-alive connection: a write failure or a
// read failure before any response byte, neither a timeout nor a
// cancellation. Sent also covers a body read from but not yet sent: the
// request cannot go elsewhere unchanged either way.
func (c *conn) fail(op string, err error) *Error {
	e := &Error{Op: op, Addr: c.key.addr, Sent: c.written > 0 || c.bodyRead, Err: err}
	if c.canceled.Load() && c.ctx != nil && c.ctx.Err() != nil {
		e.Err = context.Cause(c.ctx)
		e.Timeout = errors.Is(c.ctx.Err(), context.DeadlineExceeded)
		return e
	}
	e.Timeout = isTimeout(err)
	if !e.Timeout && (op == OpWrite || (op == OpRead && !c.gotByte)) {
		c.stale = true
	}
	return e
}

func getWriter(c *conn) *bufio.Writer {
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c)
	return bw
}

func putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	writerPool.Put(bw)
}
