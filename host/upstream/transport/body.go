package transport

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// Draining: when a body is closed before its end, the rest is read and
// thrown away so the connection can be reused, if that rest is small and
// arrives quickly; otherwise the connection is closed.
const (
	maxDrain     = 64 << 10
	drainTimeout = 100 * time.Millisecond
)

// Chunked coding limits, as in net/http's internal chunked reader.
const (
	maxChunkLine   = 4096
	maxChunkExcess = 16 << 10
	maxChunkSize   = 1 << 62
)

type bodyKind uint8

const (
	kindLength  bodyKind = iota // Content-Length bytes
	kindChunked                 // chunked coding, then trailers
	kindEOF                     // until the backend closes (no framing)
)

// Body states. Read and Close may race (Close unblocks a Read by closing the
// connection); the state machine makes sure exactly one of them hands the
// connection back, and never while the other still uses it.
const (
	stIdle    int32 = iota // between Reads
	stReading              // a Read is in progress
	stDone                 // the body ended (EOF or error); connection released
	stClosed               // Close was called
)

// body is the Body of an HTTP/1.1 response. The http.Response lives inside
// it, so a response costs one allocation for both.
type body struct {
	resp      http.Response
	c         *conn
	kind      bodyKind
	reuse     bool  // the connection may be pooled once the body is read
	remaining int64 // kindLength: bytes left; kindChunked: bytes left in the chunk
	chunkCRLF bool  // kindChunked: the CRLF after a chunk's data is due
	ended     bool  // kindChunked: last chunk and trailers read
	excess    int64 // kindChunked: framing bytes beyond a fair share of data
	budget    int   // bytes allowed for the trailers
	state     atomic.Int32
	err       error // why the body ended early; set before stDone
}

var _ io.ReadCloser = (*body)(nil)

// Read reads body data. At the end it returns io.EOF (with the last data
// when it can) and the connection goes back to the pool; response trailers
// are in resp.Trailer by then. Failures are *Error with Op OpRead.
func (b *body) Read(p []byte) (int, error) {
	if !b.state.CompareAndSwap(stIdle, stReading) {
		return 0, b.stateErr()
	}
	if len(p) == 0 {
		if !b.state.CompareAndSwap(stReading, stIdle) {
			b.c.release(false)
		}
		return 0, nil
	}
	n, err := b.read(p)
	if err == nil {
		if !b.state.CompareAndSwap(stReading, stIdle) {
			// Close ran during the read and closed the connection.
			b.c.release(false)
		}
		return n, nil
	}
	if err != io.EOF {
		b.err = err
	}
	if b.state.CompareAndSwap(stReading, stDone) {
		b.c.release(err == io.EOF && b.reuse)
	} else {
		b.c.release(false)
	}
	return n, err
}

func (b *body) stateErr() error {
	switch b.state.Load() {
	case stDone:
		if b.err != nil {
			return b.err
		}
		return io.EOF
	case stClosed:
		return ErrBodyClosed
	}
	return errors.New("concurrent reads of an upstream response body")
}

// Close ends the body. Unread data is drained when little is left and the
// connection could be reused; otherwise the connection is closed. A Close
// during a Read closes the connection, which unblocks the Read.
func (b *body) Close() error {
	for {
		switch b.state.Load() {
		case stIdle:
			if b.state.CompareAndSwap(stIdle, stClosed) {
				b.c.release(b.drain())
				return nil
			}
		case stReading:
			if b.state.CompareAndSwap(stReading, stClosed) {
				b.c.nc.Close()
				return nil
			}
		default:
			return nil
		}
	}
}

// drain reads the unread rest of the body if that can be done cheaply, and
// reports whether the connection is then fit for reuse.
func (b *body) drain() bool {
	if !b.reuse || b.kind == kindEOF {
		return false
	}
	c := b.c
	if b.kind == kindLength {
		if b.remaining <= int64(c.br.Buffered()) {
			c.br.Discard(int(b.remaining))
			return true
		}
		if b.remaining > maxDrain {
			return false
		}
	}
	wait := drainTimeout
	if c.readTimeout > 0 && c.readTimeout < wait {
		wait = c.readTimeout
	}
	c.setReadDeadline(wait)
	for budget := int64(maxDrain); budget > 0; {
		n, err := b.skip(budget)
		budget -= n
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// avail returns how many body bytes may be consumed now, reading chunk
// framing (and at the end the trailers) as needed. It returns io.EOF at the
// end of the body.
func (b *body) avail() (int64, error) {
	switch b.kind {
	case kindLength:
		if b.remaining == 0 {
			return 0, io.EOF
		}
		return b.remaining, nil
	case kindEOF:
		return math.MaxInt64, nil
	}
	if b.ended {
		return 0, io.EOF
	}
	if b.remaining > 0 {
		return b.remaining, nil
	}
	if b.chunkCRLF {
		if err := b.readCRLF(); err != nil {
			return 0, err
		}
		b.chunkCRLF = false
	}
	size, err := b.readChunkSize()
	if err != nil {
		return 0, err
	}
	if size == 0 {
		if err := b.readTrailers(); err != nil {
			return 0, err
		}
		b.ended = true
		return 0, io.EOF
	}
	b.remaining = size
	return size, nil
}

// consumed accounts for n body bytes taken from the buffer.
func (b *body) consumed(n int) {
	if b.kind == kindEOF {
		return
	}
	b.remaining -= int64(n)
	if b.kind == kindChunked && b.remaining == 0 {
		b.chunkCRLF = true
	}
}

func (b *body) read(p []byte) (int, error) {
	a, err := b.avail()
	if err != nil {
		return 0, b.wrap(err)
	}
	if int64(len(p)) > a {
		p = p[:a]
	}
	n, err := b.c.br.Read(p)
	b.consumed(n)
	return n, b.after(err)
}

// skip discards up to max body bytes.
func (b *body) skip(max int64) (int64, error) {
	a, err := b.avail()
	if err != nil {
		return 0, b.wrap(err)
	}
	n, err := b.c.br.Discard(int(min(a, max)))
	b.consumed(n)
	return int64(n), b.after(err)
}

// after maps the error of a data read: the end of a Content-Length body is
// io.EOF, the connection's EOF ends a close-delimited body and truncates
// any other.
func (b *body) after(err error) error {
	if err == io.EOF {
		if b.kind == kindEOF {
			return io.EOF
		}
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return b.wrap(err)
	}
	if b.kind == kindLength && b.remaining == 0 {
		return io.EOF
	}
	return nil
}

func (b *body) wrap(err error) error {
	if err == io.EOF {
		return err
	}
	if _, ok := err.(*Error); ok {
		return err
	}
	return b.c.fail(OpRead, err)
}

func (b *body) readCRLF() error {
	buf, err := b.c.br.Peek(2)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if buf[0] != '\r' || buf[1] != '\n' {
		return malformed("chunk data not followed by CRLF")
	}
	b.c.br.Discard(2)
	return nil
}

// readChunkSize reads a chunk-size line. Like net/http it requires CRLF,
// ignores chunk extensions, and gives up when framing outweighs data.
func (b *body) readChunkSize() (int64, error) {
	line, err := b.c.br.ReadSlice('\n')
	if err != nil {
		switch err {
		case io.EOF:
			err = io.ErrUnexpectedEOF
		case bufio.ErrBufferFull:
			err = malformed("chunk size line too long")
		}
		return 0, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return 0, malformed("chunk size line ends with bare LF")
	}
	line = line[:len(line)-2]
	if bytes.IndexByte(line, '\r') >= 0 {
		return 0, malformed("CR in chunk size line")
	}
	if len(line) >= maxChunkLine {
		return 0, malformed("chunk size line too long")
	}
	b.excess += int64(len(line)) + 2
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	size, err := parseHex(line)
	if err != nil {
		return 0, err
	}
	b.excess = max(b.excess-16-2*size, 0)
	if b.excess > maxChunkExcess {
		return 0, malformed("chunked encoding contains too much non-data")
	}
	return size, nil
}

func parseHex(v []byte) (int64, error) {
	if len(v) == 0 {
		return 0, malformed("empty chunk size")
	}
	var n int64
	for i, c := range v {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, malformed("invalid byte in chunk size")
		}
		if i == 16 {
			return 0, malformed("chunk size too large")
		}
		n = n<<4 | int64(c)
		if n > maxChunkSize || n < 0 {
			return 0, malformed("chunk size too large")
		}
	}
	return n, nil
}

// readTrailers reads the trailer section after the last chunk into
// resp.Trailer. Lines must end in CRLF. Without trailers (the common case)
// nothing is allocated.
func (b *body) readTrailers() error {
	br := b.c.br
	buf, err := br.Peek(2)
	if err == nil && buf[0] == '\r' && buf[1] == '\n' {
		br.Discard(2)
		return nil
	}
	if err != nil && len(buf) < 2 {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	block, err := h1wire.ReadBlock(br, b.budget, true)
	if err == h1wire.ErrTooLarge {
		return ErrHeaderTooLarge
	}
	if err != nil {
		return err
	}
	fs, err := parseFields(block, 0, nil, true)
	if err != nil {
		return err
	}
	tr := h1wire.BuildHeader(string(block), fs)
	if b.resp.Trailer == nil {
		b.resp.Trailer = tr
		return nil
	}
	for k, vv := range tr {
		b.resp.Trailer[k] = vv
	}
	return nil
}

// upgradeBody is the Body of a 101 Switching Protocols response (and of a
// 2xx answer to CONNECT): the raw connection, for the caller to tunnel. Bytes
// the backend sent right after its head are read first. The connection never
// returns to the pool.
type upgradeBody struct {
	c *conn
}

var _ io.ReadWriteCloser = (*upgradeBody)(nil)

func (u *upgradeBody) Read(p []byte) (int, error)  { return u.c.br.Read(p) }
func (u *upgradeBody) Write(p []byte) (int, error) { return u.c.nc.Write(p) }
func (u *upgradeBody) Close() error                { return u.c.nc.Close() }

// CloseWrite half-closes the connection when the socket supports it, so a
// tunnel can pass on the end of one direction.
func (u *upgradeBody) CloseWrite() error {
	if cw, ok := u.c.nc.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("connection does not support half-close")
}
