package proxy

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
	"github.com/sluice-proxy/sluice/host/route"
	"github.com/sluice-proxy/sluice/host/upstream"
	"github.com/sluice-proxy/sluice/host/upstream/transport"
	"golang.org/x/net/http/httpguts"
)

// ServeHTTP runs the pipeline of the package doc on one request.
func (e *Entry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := e.current()
	if s == nil {
		http.Error(w, "503 Service Unavailable: no configuration loaded yet", http.StatusServiceUnavailable)
		return
	}
	if s.gen != nil {
		defer s.gen.release()
	}
	now := time.Now()
	rs := getState()
	defer putState(rs)
	rs.init(e, s, w, r, now)
	s.obs.begin(rs)
	// The record is finished even when a broken upstream body makes us
	// abort the client connection with a panic (http.ErrAbortHandler).
	defer s.finish(rs)

	if s.metricsPath != "" && r.URL.Path == s.metricsPath {
		rs.rec.Status = http.StatusOK
		rs.wroteHeader = true
		s.metricsHandler.ServeHTTP(w, r)
		return
	}
	if err := s.serve(rs); err != nil {
		s.fail(rs, err)
	}
}

// serve routes, applies the location and forwards. It returns an error only
// while nothing has been written to the client.
func (s *Site) serve(rs *reqState) error {
	r := rs.r
	if p, ok := cleanPath(r.URL.Path); !ok {
		// "/public/../admin" must not match a /public location and then
		// reach /admin at a backend that resolves dot segments.
		r.URL.Path, r.URL.RawPath = p, ""
	}
	loc, vars := s.table.Match(r)
	if loc == nil {
		return &Error{http.StatusNotFound, "no location matches host " + strconv.Quote(rs.rec.Host) + " and path " + strconv.Quote(rs.rec.Path), errNoLocation}
	}
	l := s.locations[loc]
	rs.loc, rs.vars = l, vars
	rs.rec.Location = loc.Name
	s.obs.routed(rs)

	if n := l.inflight.Add(1); l.maxProcessing > 0 && n > l.maxProcessing {
		l.inflight.Add(-1)
		return errTooBusy
	}
	defer l.inflight.Add(-1)

	if r.Body != nil && r.Body != http.NoBody {
		if l.bodyLimit > 0 && r.ContentLength > l.bodyLimit {
			return errBodyTooLarge
		}
		rs.body = countingBody{rc: r.Body, close: r.Body.Close, limit: l.bodyLimit}
		r.Body = &rs.body
	}

	if l.chain.Len() > 0 {
		if done, err := s.pluginRequestHeaders(rs); done {
			return err
		}
	}

	if loc.HasRewrite() {
		if p, v, ok := loc.Rewrite(r.URL.Path, rs.vars); ok {
			r.URL.Path, r.URL.RawPath = p, ""
			rs.vars = v
		}
	}

	upType := upgradeType(r.Header)
	keepTE := httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers")
	removeHopHeaders(r.Header)
	if keepTE {
		r.Header["Te"] = []string{"trailers"}
	}
	if upType == "websocket" {
		// Only WebSocket may upgrade: any other token (h2c above all)
		// would open a tunnel past routing and plugins.
		r.Header["Connection"] = []string{"Upgrade"}
		r.Header["Upgrade"] = []string{"websocket"}
	}
	s.applyProxyHeaders(rs)

	up := l.up
	if rs.upOverride != nil {
		up = rs.upOverride
	} else if up == nil {
		name, ok := loc.UpstreamName(rs.vars)
		if !ok || name == "" {
			return errNoUpstream
		}
		if up = l.upstreams[name]; up == nil {
			return &Error{http.StatusBadGateway, "unknown upstream " + strconv.Quote(name), errUnknownUp}
		}
	}
	rs.up = up
	rs.rec.Upstream = up.Name()
	return s.forward(rs, upType)
}

// applyProxyHeaders sets the location's reverse-proxy headers,
// proxy_set_headers and proxy_add_headers on the outbound request (route
// compiled all three into SetHeaders and AddHeaders).
func (s *Site) applyProxyHeaders(rs *reqState) {
	l := rs.loc
	n := len(l.route.SetHeaders) + len(l.route.AddHeaders)
	if n == 0 {
		return
	}
	h := rs.r.Header
	src := varSource{rs}
	// One backing array for every value slice, and one scratch buffer for
	// expanding templates: the values themselves are the only other
	// allocations.
	vals := make([]string, n)
	buf := rs.hbuf[:0]
	expand := func(t route.Template) string {
		if v, ok := t.Static(); ok {
			return v
		}
		buf = t.Append(buf[:0], src, rs.vars)
		return string(buf)
	}
	for i, hr := range l.route.SetHeaders {
		v := expand(hr.Value)
		if hr.Name == "Host" {
			// net/http writes the Host line from Request.Host, never
			// from the header map.
			rs.r.Host = v
			continue
		}
		vals[i] = v
		h[hr.Name] = vals[i : i+1 : i+1]
	}
	for _, hr := range l.route.AddHeaders {
		h[hr.Name] = append(h[hr.Name], expand(hr.Value))
	}
	rs.hbuf = buf[:0]
}

// forward sends the request to a backend, retrying where that is safe, and
// streams the response back.
func (s *Site) forward(rs *reqState, upType string) error {
	r, up := rs.r, rs.up
	out := &rs.out
	*out = *r
	out.RequestURI = ""
	out.Close = false
	if upType == "" && r.ProtoMajor == 1 && r.ProtoMinor == 0 {
		// HTTP/1.0 clients get keep-alive upstream all the same.
		out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	}
	start := time.Now()
	key := upstream.Key{Req: r}
	if rs.client != rs.peer.Addr() {
		// Formatting the address costs an allocation: only when it is
		// not the peer, which hash:ip finds in RemoteAddr itself.
		key.ClientIP = rs.client.String()
	}
	var resp *http.Response
	for attempt := 0; ; attempt++ {
		b, err := up.Pick(key, rs.tried)
		if err != nil {
			if attempt > 0 && len(rs.tried) > 0 {
				// Nothing left to retry on: report what the last try
				// met, not "no backend".
				return rs.lastErr(err)
			}
			return err
		}
		rs.backend, rs.backendDone = b, false
		rs.rec.UpstreamAddr = b.Addr()
		rs.trace = transport.Trace{}
		s.obs.beforeUpstream(rs, out)
		resp, err = up.RoundTrip(out, b, &rs.trace)
		if err == nil {
			break
		}
		rs.done(0, err)
		rs.rec.Err = err
		if errors.Is(err, errPluginStopped) {
			// A plugin answered or failed on the request body.
			return s.pluginOutcome(rs, rs.pres)
		}
		if !rs.canRetry(err, attempt, start) {
			return err
		}
		rs.tried = append(rs.tried, b)
		rs.rec.Retries++
		s.log.Debug("retrying on another backend", "request_id", rs.rec.RequestID, "upstream", up.Name(), "backend", b.Addr(), "err", err)
	}
	rs.rec.Err = nil
	rs.recordTrace()
	return s.respond(rs, resp, upType)
}

// done reports the outcome of the picked backend to its upstream (passive
// stats, least_conn counts): exactly once per Pick, which finish makes sure
// of when a panic cut the response short.
func (rs *reqState) done(status int, err error) {
	if rs.backend != nil && !rs.backendDone {
		rs.backendDone = true
		rs.up.Done(rs.backend, status, err)
	}
}

func (rs *reqState) lastErr(pickErr error) error {
	if rs.rec.Err != nil {
		return rs.rec.Err
	}
	return pickErr
}

// canRetry decides whether a failed attempt may be made again on another
// backend: only while attempts and the time window last, and only if the
// backend cannot have acted on the request — it was never sent (a failed
// connect), or it is idempotent and has no body to replay.
func (rs *reqState) canRetry(err error, attempt int, start time.Time) bool {
	l := rs.loc
	if attempt >= l.maxRetries {
		return false
	}
	if l.retryWindow > 0 && time.Since(start) >= l.retryWindow {
		return false
	}
	if errors.Is(err, errBodyTooLarge) || rs.r.Context().Err() != nil {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) && !te.Sent {
		return true
	}
	bodyless := rs.r.Body == nil || rs.r.Body == http.NoBody || rs.r.ContentLength == 0
	return bodyless && idempotent(rs.r.Method)
}

func idempotent(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func (rs *reqState) recordTrace() {
	t := &rs.trace
	rec := &rs.rec
	rec.UpstreamReused = t.Reused
	rec.UpstreamConnect = t.Connect
	rec.UpstreamTLS = t.TLSHandshake
	// FirstByte counts from the start of the round trip; processing is
	// from the request written on a connection to the response head.
	rec.UpstreamProcessing = max(t.FirstByte-t.Connect-t.TLSHandshake, 0)
}

// respond streams the upstream response to the client.
func (s *Site) respond(rs *reqState, resp *http.Response, upType string) error {
	up, b := rs.up, rs.backend
	upStart := time.Now()
	rs.rec.UpstreamStatus = resp.StatusCode
	if resp.StatusCode == http.StatusSwitchingProtocols {
		err := s.tunnel(rs, resp, upType)
		rs.done(resp.StatusCode, nil)
		return err
	}
	defer resp.Body.Close()

	if rs.filter != nil {
		if done, err := s.pluginResponseHeaders(rs, resp); done {
			rs.done(resp.StatusCode, nil)
			return err
		}
	}
	removeHopHeaders(resp.Header)
	h := rs.w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	if n := len(resp.Trailer); n > 0 {
		keys := make([]string, 0, n)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h["Trailer"] = keys
	}
	rs.writeHeader(resp.StatusCode)

	// Flush as data arrives for bodies of unknown length (streams, server
	// sent events); known-length bodies go through the server's buffer.
	flush := resp.ContentLength < 0 || isEventStream(resp.Header)
	var n int64
	var rerr, werr error
	if rs.filter != nil {
		n, rerr, werr = s.copyThroughPlugins(rs, resp, flush)
	} else {
		n, rerr, werr = copyBody(rs.w, resp.Body, rs.buf[reqBufSize:], flush)
	}
	rs.rec.BytesSent += n
	rs.rec.UpstreamResponse = rs.trace.FirstByte + time.Since(upStart)
	switch {
	case rerr != nil:
		// The upstream broke off mid-body: the client must not take a
		// truncated body for a whole one, so its connection is aborted.
		rs.done(resp.StatusCode, rerr)
		rs.rec.Err = rerr
		s.log.Warn("upstream body broke off", "request_id", rs.rec.RequestID, "upstream", up.Name(), "backend", b.Addr(), "err", rerr)
		panic(http.ErrAbortHandler)
	case werr != nil:
		// The client went away; not the backend's fault.
		rs.done(resp.StatusCode, nil)
		rs.rec.Err = werr
		return nil
	}
	trailers := resp.Trailer
	if rs.filter != nil {
		trailers = rs.respTrailer // plugins may have made or changed them
	}
	for k, vv := range trailers {
		if _, announced := resp.Trailer[k]; !announced {
			k = http.TrailerPrefix + k
		}
		h[k] = vv
	}
	rs.done(resp.StatusCode, nil)
	return nil
}

// copyThroughPlugins is copyBody with every chunk passing the plugins'
// response-body callbacks, and the trailers at the end.
func (s *Site) copyThroughPlugins(rs *reqState, resp *http.Response, flush bool) (n int64, rerr, werr error) {
	var fl http.Flusher
	if flush {
		fl, _ = rs.w.(http.Flusher)
	}
	buf := rs.buf[reqBufSize:]
	for {
		nr, err := resp.Body.Read(buf)
		if err != nil && err != io.EOF {
			return n, err, nil
		}
		eof := err == io.EOF
		out := s.pluginResponseBody(rs, buf[:nr], eof, eof && len(resp.Trailer) > 0)
		if len(out) > 0 {
			nw, ew := rs.w.Write(out)
			n += int64(nw)
			if ew != nil {
				return n, nil, ew
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if eof {
			return n, nil, nil
		}
	}
}

func isEventStream(h http.Header) bool {
	ct := h["Content-Type"]
	return len(ct) > 0 && len(ct[0]) >= 17 && ct[0][:17] == "text/event-stream"
}

func (rs *reqState) writeHeader(status int) {
	rs.wroteHeader = true
	rs.rec.Status = status
	rs.site.obs.beforeHeader(rs)
	rs.w.WriteHeader(status)
}

// copyBody copies src to w with buf, flushing after each write when asked.
// It tells read errors (the upstream's) from write errors (the client's).
func copyBody(w http.ResponseWriter, src io.Reader, buf []byte, flush bool) (n int64, rerr, werr error) {
	var fl http.Flusher
	if flush {
		fl, _ = w.(http.Flusher)
	}
	for {
		nr, err := src.Read(buf)
		if nr > 0 {
			nw, ew := w.Write(buf[:nr])
			n += int64(nw)
			if ew != nil {
				return n, nil, ew
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err == io.EOF {
			return n, nil, nil
		}
		if err != nil {
			return n, err, nil
		}
	}
}

// fail answers the client with the status of err, if nothing was written
// yet, and logs it.
func (s *Site) fail(rs *reqState, err error) {
	e := statusOf(err)
	rs.rec.ErrCause = e.Cause
	rs.rec.Err = err
	lvl := slog.LevelWarn
	if e.Status == 499 || e.Status == http.StatusNotFound {
		lvl = slog.LevelDebug
	}
	s.log.Log(rs.r.Context(), lvl, "request failed", "request_id", rs.rec.RequestID, "status", e.Status,
		"location", rs.rec.Location, "upstream", rs.rec.Upstream, "backend", rs.rec.UpstreamAddr, "err", err)
	if rs.wroteHeader || e.Status == 499 {
		rs.rec.Status = e.Status
		return
	}
	ct, body := s.errPage.render(e.Status, e.Cause, rs.rec.RequestID)
	h := rs.w.Header()
	h["Content-Type"] = []string{ct}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	if e.Status == http.StatusRequestEntityTooLarge || e.Status >= 500 {
		// The client may still be sending a body we will not read.
		h["Connection"] = []string{"close"}
	}
	if e.Status == http.StatusTooManyRequests {
		h["Retry-After"] = []string{"1"}
	}
	rs.writeHeader(e.Status)
	n, _ := rs.w.Write(body)
	rs.rec.BytesSent += int64(n)
}

// finish completes the record and hands it to the observers.
func (s *Site) finish(rs *reqState) {
	rec := &rs.rec
	rec.Latency = time.Since(rec.Start)
	rec.BytesReceived = rs.body.n
	rec.ClientIP = rs.client.String()
	if rec.RespHeader == nil && rs.wroteHeader {
		rec.RespHeader = rs.w.Header()
	}
	rs.done(rec.UpstreamStatus, nil) // a panic cut the response short; not the backend's fault
	if rs.filter != nil {
		// on_log, on_done, on_delete; the plugins may still read the
		// request and the response.
		rs.fmu.Lock()
		rs.filter.Timings(func(name string, d time.Duration) {
			rec.Plugins = append(rec.Plugins, reqinfo.PluginTiming{Name: name, Dur: d})
		})
		rs.filter.Done()
		rs.fmu.Unlock()
	}
	s.obs.done(rs)
}
