package h1

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/h1wire"
)

// holdLimit is how much body a response holds back before it commits to a
// framing: a handler that writes less and returns gets a Content-Length
// instead of chunks.
const holdLimit = 4096

// response is the http.ResponseWriter of one request.
type response struct {
	c      *conn
	req    *http.Request
	header http.Header
	status int

	wroteHeader  bool  // the final status is set
	headSent     bool  // the head is in the write buffer
	noBody       bool  // HEAD, 1xx, 204, 304: nothing may follow the head
	chunked      bool  // the body goes out in chunks
	declared     int64 // the handler's Content-Length; -1 when none
	written      int64 // body bytes accepted from the handler
	held         []byte
	closeAfter   bool
	hijacked     bool
	err          error     // sticky write error
	readDeadline time.Time // the handler's, via http.ResponseController
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ http.Hijacker       = (*response)(nil)
)

func newResponse(c *conn, req *http.Request) *response {
	return &response{c: c, req: req, header: make(http.Header, 8), declared: -1,
		closeAfter: req.Close || c.s.shutdown.Load()}
}

func (w *response) Header() http.Header { return w.header }

// WriteHeader sends 1xx responses at once; any other status is held until
// the first body write or the end of the handler.
func (w *response) WriteHeader(code int) {
	if w.wroteHeader || w.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	if v := w.header["Content-Length"]; len(v) > 0 {
		if n, err := h1wire.ParseContentLength(v); err == nil {
			w.declared = n
		} else {
			delete(w.header, "Content-Length")
		}
	}
}

func (w *response) writeInformational(code int) {
	bw := w.c.bw
	bw.WriteString(statusLine(code))
	writeFields(bw, w.header, false)
	bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil {
		w.err = err
	}
}

// Write implements http.ResponseWriter.
func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	if !w.headSent {
		if w.declared < 0 && len(w.held)+len(p) <= holdLimit {
			if w.held == nil {
				// One hold buffer per connection, not per response.
				if w.c.hold == nil {
					w.c.hold = make([]byte, 0, holdLimit)
				}
				w.held = w.c.hold[:0]
			}
			w.held = append(w.held, p...)
			return len(p), nil
		}
		w.sendHead(false)
	}
	return w.writeBody(p)
}

func (w *response) writeBody(p []byte) (int, error) {
	bw := w.c.bw
	var err error
	if w.chunked {
		bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		bw.WriteString("\r\n")
		bw.Write(p)
		_, err = bw.WriteString("\r\n")
	} else {
		_, err = bw.Write(p)
	}
	if err != nil {
		w.err = err
		return 0, err
	}
	return len(p), nil
}

// sendHead commits to a framing and writes the head into the buffer, with
// what the handler wrote so far. done means the handler has returned, so
// the held body is all of it.
func (w *response) sendHead(done bool) {
	w.headSent = true
	h := w.header
	delete(h, "Transfer-Encoding") // the framing is this server's to choose
	isHead := w.req.Method == http.MethodHead
	switch {
	case !bodyAllowed(w.status):
		w.noBody = true
		if w.status != http.StatusNotModified {
			delete(h, "Content-Length")
		}
	case w.declared >= 0:
		// The handler's Content-Length stands (also for HEAD).
	case done && !isHead && !hasTrailers(h):
		h["Content-Length"] = []string{strconv.Itoa(len(w.held))}
	case done && isHead && w.written > 0:
		// The length the GET would have had.
		h["Content-Length"] = []string{strconv.FormatInt(w.written, 10)}
	case isHead:
		// A HEAD response whose length is unknown says nothing about it.
	case w.req.ProtoMinor == 1:
		w.chunked = true
	default:
		// An HTTP/1.0 client reads to the end of the connection.
		w.closeAfter = true
	}
	if isHead {
		w.noBody = true
	}
	if h1wire.HasToken(h["Connection"], "close") || w.c.s.shutdown.Load() {
		w.closeAfter = true
	}
	delete(h, "Connection")

	bw := w.c.bw
	bw.WriteString(statusLine(w.status))
	writeFields(bw, h, false)
	if _, ok := h["Date"]; !ok {
		bw.Write(dateLine())
	}
	switch {
	case w.closeAfter:
		bw.WriteString("Connection: close\r\n")
	case w.req.ProtoMinor == 0:
		bw.WriteString("Connection: keep-alive\r\n")
	}
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	bw.WriteString("\r\n")
	if len(w.held) > 0 && !w.noBody {
		held := w.held
		w.held = nil
		w.writeBody(held)
	}
}

// finish completes the response after the handler returns and sends it.
// It reports whether the connection can carry another request.
func (w *response) finish() bool {
	if w.hijacked {
		return false
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		w.sendHead(true)
	}
	bw := w.c.bw
	if w.chunked {
		bw.WriteString("0\r\n")
		writeTrailers(bw, w.header)
		bw.WriteString("\r\n")
	}
	if err := bw.Flush(); err != nil || w.err != nil {
		return false
	}
	if w.declared >= 0 && w.written < w.declared && !w.noBody {
		// The client waits for bytes that will never come.
		return false
	}
	return true
}

// Flush implements http.Flusher.
func (w *response) Flush() { w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headSent {
		w.sendHead(false)
	}
	if err := w.c.bw.Flush(); err != nil {
		w.err = err
		return err
	}
	return w.err
}

// Hijack implements http.Hijacker. What was written so far is sent first.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.headSent {
		if err := w.c.bw.Flush(); err != nil {
			return nil, nil, err
		}
	}
	c := w.c
	if c.endWatch() {
		c.nc.SetReadDeadline(w.readDeadline)
	}
	w.hijacked = true
	c.gone = true
	c.s.setState(c, http.StateHijacked)
	return c.nc, bufio.NewReadWriter(c.br, c.bw), nil
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.readDeadline = true
	w.readDeadline = t // restored after a client watch (see Hijack)
	return w.c.nc.SetReadDeadline(t)
}

func (w *response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// EnableFullDuplex serves http.ResponseController: reading the request body
// while writing the response always works here.
func (w *response) EnableFullDuplex() error { return nil }

// hasTrailers reports whether the handler announced trailers or set
// http.TrailerPrefix ones: they need the chunked coding.
func hasTrailers(h http.Header) bool {
	if len(h["Trailer"]) > 0 {
		return true
	}
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// writeFields writes the fields of h, or with trailers the ones announced
// in the Trailer field and the http.TrailerPrefix ones. Names that are not
// tokens are dropped and control bytes in values become spaces, so no
// handler can split the head.
func writeFields(bw *bufio.Writer, h http.Header, trailers bool) {
	for k, vv := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) != trailers {
			continue
		}
		if trailers {
			k = k[len(http.TrailerPrefix):]
		}
		if !h1wire.ValidToken(k) {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			writeValue(bw, v)
			bw.WriteString("\r\n")
		}
	}
}

func writeTrailers(bw *bufio.Writer, h http.Header) {
	for _, decl := range h["Trailer"] {
		for _, k := range strings.Split(decl, ",") {
			k = http.CanonicalHeaderKey(h1wire.TrimOWS(k))
			if !h1wire.ValidToken(k) {
				continue
			}
			switch k {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				continue
			}
			for _, v := range h[k] {
				bw.WriteString(k)
				bw.WriteString(": ")
				writeValue(bw, v)
				bw.WriteString("\r\n")
			}
		}
	}
	writeFields(bw, h, true)
}

func writeValue(bw *bufio.Writer, v string) {
	v = h1wire.TrimOWS(v)
	if h1wire.ValidValue(v) {
		bw.WriteString(v)
		return
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !h1wire.ValidValueByte(c) {
			c = ' '
		}
		bw.WriteByte(c)
	}
}

// writeContinue answers Expect: 100-continue when the handler first reads
// the body.
func (c *conn) writeContinue() error {
	c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	return c.bw.Flush()
}

// statusLines caches the status lines of the codes net/http knows.
var statusLines = func() (t [600]string) {
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			t[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return t
}()

func statusLine(code int) string {
	if code < len(statusLines) && statusLines[code] != "" {
		return statusLines[code]
	}
	return "HTTP/1.1 " + strconv.Itoa(code) + " status code " + strconv.Itoa(code) + "\r\n"
}

// The Date field is formatted once a second, not per response.
var date atomic.Pointer[dateCache]

type dateCache struct {
	sec  int64
	line []byte
}

func dateLine() []byte {
	now := time.Now()
	if d := date.Load(); d != nil && d.sec == now.Unix() {
		return d.line
	}
	d := &dateCache{sec: now.Unix(), line: []byte("Date: " + now.UTC().Format(http.TimeFormat) + "\r\n")}
	date.Store(d)
	return d.line
}
