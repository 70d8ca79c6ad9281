package transport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// Request writing. The transport writes the framing itself: the
// Content-Length, Transfer-Encoding, Trailer and Host fields of req.Header
// are never copied, so a client's conflicting framing cannot reach the
// backend (request smuggling). Every name and value is checked before the
// first byte is sent.

// validTarget reports whether s can be a request-target or Host value: no
// space, control byte or DEL, which would split the request line.
func validTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// framingHeader reports whether the transport writes header k itself, in
// any letter case.
func framingHeader(k string) bool {
	switch len(k) {
	case 4:
		return h1wire.EqualFold(k, "Host")
	case 7:
		return h1wire.EqualFold(k, "Trailer")
	case 14:
		return h1wire.EqualFold(k, "Content-Length")
	case 17:
		return h1wire.EqualFold(k, "Transfer-Encoding")
	}
	return false
}

// requestHost is the Host the backend sees: req.Host, else the URL's host.
func requestHost(req *http.Request) string {
	if req.Host != "" {
		return req.Host
	}
	if req.URL != nil {
		return req.URL.Host
	}
	return ""
}

// sniHost is requestHost without its port, for SNIFromRequest.
func sniHost(req *http.Request) string {
	h := requestHost(req)
	if h == "" {
		return ""
	}
	if h[0] == '[' {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// validateRequest checks everything writeHead will write, so that an
// invalid request is refused before a connection is even taken.
func validateRequest(req *http.Request) error {
	if req.URL == nil {
		return fmt.Errorf("%w: no URL", ErrInvalidRequest)
	}
	if req.Method != "" && !h1wire.ValidToken(req.Method) {
		return fmt.Errorf("%w: method %q is not a token", ErrInvalidRequest, req.Method)
	}
	if h := requestHost(req); !validTarget(h) {
		return fmt.Errorf("%w: host %q", ErrInvalidRequest, h)
	}
	// The path needs no check: EscapedPath percent-encodes what a raw
	// path cannot hold. The query and an opaque target are sent as they
	// are.
	if !validTarget(req.URL.RawQuery) || !validTarget(req.URL.Opaque) || !validTarget(req.URL.Host) {
		return fmt.Errorf("%w: request target holds a space or control byte", ErrInvalidRequest)
	}
	for k, vv := range req.Header {
		if !h1wire.ValidToken(k) {
			return fmt.Errorf("%w: header name %q", ErrInvalidRequest, k)
		}
		for _, v := range vv {
			if !h1wire.ValidValue(v) {
				return fmt.Errorf("%w: value of header %q holds a control byte", ErrInvalidRequest, k)
			}
		}
	}
	for k := range req.Trailer {
		if !h1wire.ValidToken(k) || framingHeader(k) {
			return fmt.Errorf("%w: trailer name %q", ErrInvalidRequest, k)
		}
	}
	return nil
}

// methodHasBody lists the methods for which net/http sends
// "Content-Length: 0" when there is no body; backends expect it.
func methodHasBody(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}

// outBody is the body to send and how it is framed.
type outBody struct {
	r       io.Reader // nil: no body
	length  int64     // bytes to send when not chunked
	chunked bool
}

// planBody decides the framing of the request body. A ContentLength of 0
// with a body that is not http.NoBody means "unknown" (as in net/http), so
// one byte is read to tell an empty body from a streamed one.
func planBody(req *http.Request, rb io.Reader) (outBody, error) {
	if rb == nil || rb == http.NoBody {
		return outBody{}, nil
	}
	n := req.ContentLength
	if n == 0 {
		var one [1]byte
		m, err := io.ReadFull(rb, one[:])
		if m == 0 {
			if err == io.EOF {
				return outBody{}, nil
			}
			return outBody{}, err
		}
		rb = io.MultiReader(bytes.NewReader([]byte{one[0]}), rb)
		n = -1
	}
	if n < 0 || len(req.Trailer) > 0 {
		return outBody{r: rb, length: -1, chunked: true}, nil
	}
	return outBody{r: rb, length: n}, nil
}

// writeHead writes the request line and header section. validateRequest
// must have accepted req. closeConn adds "Connection: close". addr is the
// Host when the request names none.
func writeHead(bw *bufio.Writer, req *http.Request, b *outBody, closeConn bool, addr string) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	host := requestHost(req)
	if host == "" {
		host = addr
	}
	switch {
	case method == http.MethodConnect:
		if req.URL.Host != "" {
			bw.WriteString(req.URL.Host)
		} else {
			bw.WriteString(host)
		}
	case req.URL.Opaque != "":
		bw.WriteString(req.URL.RequestURI())
	default:
		p := req.URL.EscapedPath()
		if p == "" {
			p = "/"
		}
		bw.WriteString(p)
		if req.URL.RawQuery != "" || req.URL.ForceQuery {
			bw.WriteByte('?')
			bw.WriteString(req.URL.RawQuery)
		}
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	for k, vv := range req.Header {
		if framingHeader(k) {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(h1wire.TrimOWS(v))
			bw.WriteString("\r\n")
		}
	}
	switch {
	case b.chunked:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		if len(req.Trailer) > 0 {
			bw.WriteString("Trailer: ")
			first := true
			for k := range req.Trailer {
				if !first {
					bw.WriteString(", ")
				}
				first = false
				bw.WriteString(k)
			}
			bw.WriteString("\r\n")
		}
	case b.r != nil || methodHasBody(method):
		bw.WriteString("Content-Length: ")
		writeInt(bw, b.length, 10)
		bw.WriteString("\r\n")
	}
	if closeConn && !h1wire.HasToken(req.Header["Connection"], "close") {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
}

// writeInt appends n in base to bw without allocating.
func writeInt(bw *bufio.Writer, n int64, base int) {
	if bw.Available() < 24 {
		bw.Flush() // an error sticks in bw and is seen at the final Flush
	}
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, base))
}

// errBodyShort is the cause when the request body ends before its
// Content-Length.
var errBodyShort = errors.New("request body shorter than its Content-Length")

// bodySide tells which side of a body copy failed.
type bodySide uint8

const (
	sideNone   bodySide = iota
	sideSource          // reading the request body (the client)
	sideSink            // writing to the backend
)

// writeBody copies the body to bw with the framing of b, then the
// trailers. It does not flush the final bytes.
func writeBody(bw *bufio.Writer, b *outBody, trailer http.Header) (bodySide, error) {
	if b.chunked {
		return writeChunked(bw, b.r, trailer)
	}
	remaining := b.length
	for remaining > 0 {
		if bw.Available() == 0 {
			if err := bw.Flush(); err != nil {
				return sideSink, err
			}
		}
		buf := bw.AvailableBuffer()
		buf = buf[:min(int64(cap(buf)), remaining)]
		n, err := b.r.Read(buf)
		if n > 0 {
			// Write copies buf onto itself: it is bw's own free space.
			if _, werr := bw.Write(buf[:n]); werr != nil {
				return sideSink, werr
			}
			remaining -= int64(n)
		}
		if err != nil {
			if err == io.EOF {
				if remaining > 0 {
					return sideSource, errBodyShort
				}
				break
			}
			return sideSource, err
		}
	}
	return sideNone, nil
}

// writeChunked sends r as chunks, flushing after each one so that a
// streamed body reaches the backend as it comes, then the last chunk and
// the trailers (read from trailer after the body's EOF, as net/http does).
func writeChunked(bw *bufio.Writer, r io.Reader, trailer http.Header) (bodySide, error) {
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	buf := *bp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			writeInt(bw, int64(n), 16)
			bw.WriteString("\r\n")
			bw.Write(buf[:n])
			bw.WriteString("\r\n")
			if ferr := bw.Flush(); ferr != nil {
				return sideSink, ferr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return sideSource, err
		}
	}
	bw.WriteString("0\r\n")
	for k, vv := range trailer {
		for _, v := range vv {
			if !h1wire.ValidValue(v) {
				return sideSource, fmt.Errorf("%w: value of trailer %q holds a control byte", ErrInvalidRequest, k)
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(h1wire.TrimOWS(v))
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("\r\n")
	return sideNone, nil
}
