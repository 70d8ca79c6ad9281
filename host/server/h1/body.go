package h1

import (
	"io"
	"net/http"
	"net/http/httputil"
	"sync"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// maxDrain is how much of a request body the handler left unread is read
// and thrown away to keep the connection; beyond it the connection closes.
const maxDrain = 256 << 10

// body is a request body: Content-Length or chunked. The mutex lets a
// transport read it from another goroutine and Close it from a third; after
// the handler returns the server takes it over (finish) and later reads
// fail with http.ErrBodyReadAfterClose.
type body struct {
	c            *conn
	req          *http.Request // for trailers
	mu           sync.Mutex
	chunked      bool
	remaining    int64     // Content-Length bytes left; -1 when chunked
	cr           io.Reader // chunked decoder
	needContinue bool      // send 100 Continue before the first read
	eof          bool
	closed       bool
	err          error // sticky read error
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.read(p)
}

func (b *body) read(p []byte) (n int, err error) {
	if b.eof {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.needContinue {
		b.needContinue = false
		if err := b.c.writeContinue(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if b.chunked {
		if b.cr == nil {
			b.cr = httputil.NewChunkedReader(b.c.br)
		}
		n, err = b.cr.Read(p)
		if err == io.EOF {
			if err = b.readTrailers(); err == nil {
				b.eof = true
				err = io.EOF
			}
		}
	} else {
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err = b.c.br.Read(p)
		b.remaining -= int64(n)
		switch {
		case b.remaining == 0:
			b.eof = true
			err = io.EOF
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// readTrailers reads what follows the last chunk: trailer fields, if any,
// and the blank line.
func (b *body) readTrailers() error {
	br := b.c.br
	if p, err := br.Peek(2); err == nil && p[0] == '\r' && p[1] == '\n' {
		br.Discard(2)
		return nil
	}
	block, err := h1wire.ReadBlock(br, b.c.s.maxHeaderBytes(), true)
	if err != nil {
		return err
	}
	fs, err := h1wire.ParseFields(block, 0, nil, true)
	if err != nil {
		return err
	}
	tr := h1wire.BuildHeader(string(block), fs)
	if b.req.Trailer == nil {
		b.req.Trailer = make(http.Header, len(tr))
	}
	for k, vv := range tr {
		switch k {
		case "Transfer-Encoding", "Trailer", "Content-Length", "Host":
			continue // framing and routing are never taken from trailers
		}
		b.req.Trailer[k] = vv
	}
	return nil
}

// done reports whether the handler is through with the body.
func (b *body) done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof || b.closed || b.err != nil
}

// Close implements io.Closer. The unread rest is dealt with after the
// handler returns.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// finish ends the body once the handler has returned. When the connection
// is to be kept, the unread rest is read and discarded, up to maxDrain; it
// reports whether the connection is still in step with the client.
func (b *body) finish(keep bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.eof {
		return true
	}
	if !keep || b.err != nil || b.needContinue {
		// A client that waits for 100 Continue never sent the body: the
		// connection is out of step either way.
		return false
	}
	if !b.chunked && b.remaining > maxDrain {
		return false
	}
	buf := make([]byte, 4096)
	drained := 0
	for !b.eof {
		n, err := b.read(buf)
		drained += n
		if err != nil && err != io.EOF || drained > maxDrain {
			return false
		}
	}
	return true
}
