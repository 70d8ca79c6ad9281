package proxy

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/host/wasm"
)

// Chain is a location's plugin chain, built once per generation.
type Chain = *wasm.Chain

// errPluginStopped ends the upstream request when a plugin answered or
// failed while the request body streamed through it; rs.pres says how.
var errPluginStopped = errors.New("a plugin stopped the request")

// The methods below run the location's plugin chain at each step of the
// request, always with rs.fmu held: the body of a request may be read by
// an HTTP/2 transport's goroutine while the handler's goroutine sees the
// response, and a Filter is for one goroutine at a time.

// pluginRequestHeaders runs the request-header callbacks. done reports that
// the request was answered (or must fail with err) and goes no further.
func (s *Site) pluginRequestHeaders(rs *reqState) (done bool, err error) {
	r := rs.r
	rs.filter = rs.loc.chain.NewFilter(rs)
	eos := r.Body == nil || r.Body == http.NoBody
	t := time.Now()
	res := rs.filter.OnRequestHeaders(r.Context(), eos)
	rs.rec.PluginsTime += time.Since(t)
	if res.Outcome != wasm.Continue {
		return true, s.pluginOutcome(rs, res)
	}
	if !eos {
		rs.pbody = pluginBody{rs: rs, src: r.Body, buf: rs.buf[:reqBufSize]}
		r.Body = &rs.pbody
	}
	return false, nil
}

// pluginOutcome acts on a result that is not Continue while nothing has
// been sent to the client.
func (s *Site) pluginOutcome(rs *reqState, res wasm.Result) error {
	switch res.Outcome {
	case wasm.Respond:
		s.sendLocal(rs, res)
		return nil
	case wasm.Reset:
		rs.rec.ErrCause = "plugin " + res.Plugin + " closed the stream"
		panic(http.ErrAbortHandler)
	default:
		if errors.Is(res.Err, errBodyTooLarge) {
			return errBodyTooLarge
		}
		return &Error{http.StatusInternalServerError, "plugin " + strconv.Quote(res.Plugin) + " failed", errors.Join(errPluginFailed, res.Err)}
	}
}

// sendLocal writes a plugin's local response, which has already passed
// through the response callbacks of the plugins the request reached.
func (s *Site) sendLocal(rs *reqState, res wasm.Result) {
	lr := res.Response
	h := rs.w.Header()
	for _, p := range lr.Headers {
		if isHopHeader(p[0]) {
			continue
		}
		k := canonicalKey(p[0])
		h[k] = append(h[k], p[1])
	}
	rs.rec.Values = setValue(rs.rec.Values, "plugin_response", res.Plugin)
	if rs.bodyFile != nil {
		s.sendFile(rs, res.Plugin, lr.Status)
		return
	}
	h["Content-Length"] = []string{strconv.Itoa(len(lr.Body))}
	rs.writeHeader(lr.Status)
	if rs.r.Method != http.MethodHead {
		n, _ := rs.w.Write(lr.Body)
		rs.rec.BytesSent += int64(n)
	}
}

// FileOpener opens a file under a plugin's granted root (host/files).
type FileOpener interface {
	Open(plugin, path string) (*os.File, error)
}

// sendFile streams the file range of a local response (sluice.respond_file)
// after its headers, through the response-body callbacks of the plugins
// the request reached. The headers are the plugin's (Content-Length
// included, unless a plugin on the way removed it).
func (s *Site) sendFile(rs *reqState, plugin string, status int) {
	fr := rs.bodyFile
	f, err := s.files.Open(plugin, fr.path)
	if err != nil {
		// The plugin looked at the file a moment ago: it is gone or was
		// replaced by something that is not a regular file.
		s.fail(rs, &Error{http.StatusInternalServerError, "the file to send cannot be opened", err})
		return
	}
	defer f.Close()
	rs.writeHeader(status)
	if rs.r.Method == http.MethodHead || status == http.StatusNotModified {
		return
	}
	body := io.NewSectionReader(f, fr.off, fr.size)
	buf := rs.buf[reqBufSize:]
	for {
		n, err := io.ReadFull(body, buf)
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			rs.rec.Err = err
			panic(http.ErrAbortHandler) // a truncated body must not pass for whole
		}
		out := buf[:n]
		if rs.filter != nil {
			out = s.pluginResponseBody(rs, out, eof, false)
		}
		if len(out) > 0 {
			w, werr := rs.w.Write(out)
			rs.rec.BytesSent += int64(w)
			if werr != nil {
				rs.rec.Err = werr
				return
			}
		}
		if eof {
			// A file that shrank since the plugin looked ends short of
			// its Content-Length: net/http then closes the connection,
			// so the client cannot take it for whole.
			return
		}
	}
}

func setValue(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = make(map[string]string, 2)
	}
	m[k] = v
	return m
}

func isHopHeader(lower string) bool {
	switch lower {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer":
		return true
	}
	return false
}

// pluginBody is the request body as the plugins let it through: each chunk
// read from the client passes the request-body callbacks, which may hold
// it (to see more) or change it.
type pluginBody struct {
	rs      *reqState
	src     io.ReadCloser
	buf     []byte
	pending []byte // released by the plugins, not yet read
	eof     bool
}

func (b *pluginBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if b.eof {
			return 0, io.EOF
		}
		n, err := b.src.Read(b.buf)
		if err != nil && err != io.EOF {
			return 0, err
		}
		b.eof = err == io.EOF
		rs := b.rs
		rs.fmu.Lock()
		t := time.Now()
		var out []byte
		var res wasm.Result
		switch {
		case b.eof && len(rs.r.Trailer) > 0:
			out, res = rs.filter.OnRequestBody(rs.r.Context(), b.buf[:n], false)
			if res.Outcome == wasm.Continue {
				var tail []byte
				tail, res = rs.filter.OnRequestTrailers(rs.r.Context())
				out = append(out, tail...)
			}
		default:
			out, res = rs.filter.OnRequestBody(rs.r.Context(), b.buf[:n], b.eof)
		}
		rs.rec.PluginsTime += time.Since(t)
		rs.fmu.Unlock()
		if res.Outcome != wasm.Continue {
			rs.pres = res
			return 0, errPluginStopped
		}
		b.pending = out
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

func (b *pluginBody) Close() error { return b.src.Close() }

// pluginResponseHeaders runs the response-header callbacks over the
// upstream response; done reports that a local response replaced it (or
// err says the plugins failed).
func (s *Site) pluginResponseHeaders(rs *reqState, resp *http.Response) (done bool, err error) {
	rs.respHeader, rs.respTrailer, rs.status = resp.Header, resp.Trailer, resp.StatusCode
	eos := resp.ContentLength == 0 || rs.r.Method == http.MethodHead
	rs.fmu.Lock()
	t := time.Now()
	res := rs.filter.OnResponseHeaders(rs.r.Context(), eos)
	rs.rec.PluginsTime += time.Since(t)
	rs.fmu.Unlock()
	if res.Outcome == wasm.Continue {
		resp.StatusCode = rs.status
		return false, nil
	}
	resp.Body.Close()
	return true, s.pluginOutcome(rs, res)
}

// pluginResponseBody passes a chunk of the response body (eof: the last)
// through the response-body callbacks, and the trailers at the end.
// A plugin that answers or fails once the response has started can only
// abort it.
func (s *Site) pluginResponseBody(rs *reqState, chunk []byte, eof bool, trailers bool) []byte {
	rs.fmu.Lock()
	t := time.Now()
	var out []byte
	var res wasm.Result
	if eof && trailers {
		out, res = rs.filter.OnResponseBody(rs.r.Context(), chunk, false)
		if res.Outcome == wasm.Continue {
			var tail []byte
			tail, res = rs.filter.OnResponseTrailers(rs.r.Context())
			out = append(out, tail...)
		}
	} else {
		out, res = rs.filter.OnResponseBody(rs.r.Context(), chunk, eof)
	}
	rs.rec.PluginsTime += time.Since(t)
	rs.fmu.Unlock()
	if res.Outcome != wasm.Continue {
		rs.rec.ErrCause = "plugin " + res.Plugin + " stopped the response after it started"
		rs.rec.Err = res.Err
		panic(http.ErrAbortHandler)
	}
	return out
}
