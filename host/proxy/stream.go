package proxy

import (
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// The request state is the wasm.Stream of its request: plugins read and
// change the very maps the proxy forwards, so nothing is copied between the
// two.
var _ wasm.Stream = (*reqState)(nil)

// Headers implements wasm.Stream.
func (rs *reqState) Headers(m abi.MapType) wasm.HeaderMap {
	if int(m) >= len(rs.maps) {
		m = abi.MapHTTPRequestHeaders
	}
	hm := &rs.maps[m]
	hm.rs, hm.kind = rs, m
	return hm
}

// hmap is one of a request's four header maps seen as a proxy-wasm map:
// lower-case keys, with the pseudo-headers of its kind first.
type hmap struct {
	rs   *reqState
	kind abi.MapType
}

var _ wasm.HeaderMap = (*hmap)(nil)

// header returns the http.Header behind the map, creating it if create is
// set and it does not exist yet.
func (m *hmap) header(create bool) http.Header {
	rs := m.rs
	var p *http.Header
	switch m.kind {
	case abi.MapHTTPRequestHeaders:
		p = &rs.r.Header
	case abi.MapHTTPRequestTrailers:
		p = &rs.r.Trailer
	case abi.MapHTTPResponseHeaders:
		p = &rs.respHeader
	default:
		p = &rs.respTrailer
	}
	if *p == nil && create {
		*p = http.Header{}
	}
	return *p
}

func (m *hmap) request() bool  { return m.kind == abi.MapHTTPRequestHeaders }
func (m *hmap) response() bool { return m.kind == abi.MapHTTPResponseHeaders }

// pseudo returns the value of a pseudo-header of this map.
func (m *hmap) pseudo(key string) (string, bool) {
	rs := m.rs
	switch {
	case m.request():
		switch key {
		case ":method":
			return rs.r.Method, true
		case ":path":
			return rs.r.URL.RequestURI(), true
		case ":authority":
			return rs.r.Host, true
		case ":scheme":
			return rs.rec.Scheme, true
		case "content-length":
			// net/http keeps the request's length out of the header
			// map; plugins expect to see (and remove) it.
			if rs.r.ContentLength > 0 || (rs.r.ContentLength == 0 && rs.r.Body != nil && rs.r.Body != http.NoBody) {
				return strconv.FormatInt(rs.r.ContentLength, 10), true
			}
		}
	case m.response():
		if key == ":status" && rs.status != 0 {
			return strconv.Itoa(rs.status), true
		}
	}
	return "", false
}

// setPseudo sets a pseudo-header; false if key is not one of this map.
func (m *hmap) setPseudo(key, value string) bool {
	rs := m.rs
	switch {
	case m.request():
		switch key {
		case ":method":
			rs.r.Method = value
		case ":path":
			if u, err := url.ParseRequestURI(value); err == nil {
				rs.r.URL.Path, rs.r.URL.RawPath, rs.r.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
			}
		case ":authority":
			rs.r.Host = value
		case ":scheme":
			// The scheme to the upstream is the upstream's business
			// (sni); what the client used stays as it was.
		case "content-length":
			if n, err := strconv.ParseInt(value, 10, 64); err == nil && n >= 0 {
				rs.r.ContentLength = n
			}
		default:
			return false
		}
		return true
	case m.response():
		if key == ":status" {
			if n, err := strconv.Atoi(value); err == nil && n >= 100 && n <= 999 {
				rs.status = n
			}
			return true
		}
	}
	return false
}

func (m *hmap) isPseudo(key string) bool {
	if len(key) > 0 && key[0] == ':' {
		return true
	}
	return m.request() && key == "content-length"
}

// Len implements wasm.HeaderMap.
func (m *hmap) Len() int {
	n := 0
	for _, vv := range m.header(false) {
		n += len(vv)
	}
	switch {
	case m.request():
		n += 4
		if _, ok := m.pseudo("content-length"); ok {
			n++
		}
	case m.response():
		if m.rs.status != 0 {
			n++
		}
	}
	return n
}

// Get implements wasm.HeaderMap.
func (m *hmap) Get(key string) (string, bool) {
	if m.isPseudo(key) {
		return m.pseudo(key)
	}
	vv := m.header(false)[canonicalKey(key)]
	if len(vv) == 0 {
		return "", false
	}
	return vv[0], true
}

// AppendPairs implements wasm.HeaderMap.
func (m *hmap) AppendPairs(dst [][2]string) [][2]string {
	switch {
	case m.request():
		for _, k := range [...]string{":authority", ":path", ":method", ":scheme", "content-length"} {
			if v, ok := m.pseudo(k); ok {
				dst = append(dst, [2]string{k, v})
			}
		}
	case m.response():
		if v, ok := m.pseudo(":status"); ok {
			dst = append(dst, [2]string{":status", v})
		}
	}
	for k, vv := range m.header(false) {
		lk := lowerKey(k)
		for _, v := range vv {
			dst = append(dst, [2]string{lk, v})
		}
	}
	return dst
}

// Add implements wasm.HeaderMap.
func (m *hmap) Add(key, value string) {
	if m.isPseudo(key) {
		m.setPseudo(key, value)
		return
	}
	h := m.header(true)
	ck := canonicalKey(key)
	h[ck] = append(h[ck], value)
}

// Set implements wasm.HeaderMap.
func (m *hmap) Set(key, value string) {
	if m.isPseudo(key) {
		m.setPseudo(key, value)
		return
	}
	h := m.header(true)
	ck := canonicalKey(key)
	if vv := h[ck]; len(vv) > 0 {
		vv[0] = value
		return
	}
	h[ck] = []string{value}
}

// Remove implements wasm.HeaderMap.
func (m *hmap) Remove(key string) {
	if m.request() && key == "content-length" {
		// The body goes chunked from now on: a plugin that removes the
		// length intends to change the body.
		m.rs.r.ContentLength = -1
		return
	}
	if m.isPseudo(key) {
		return
	}
	delete(m.header(false), canonicalKey(key))
}

// Replace implements wasm.HeaderMap.
func (m *hmap) Replace(pairs [][2]string) {
	h := m.header(true)
	clear(h)
	if m.request() {
		if _, ok := m.pseudo("content-length"); ok {
			m.rs.r.ContentLength = -1
		}
	}
	for _, p := range pairs {
		m.Add(p[0], p[1])
	}
}

// Header names are canonical in net/http and lower-case in proxy-wasm; the
// conversions of the common ones are precomputed so that plugins' header
// traffic allocates no key strings.
var (
	toLower     sync.Map // canonical -> lower
	toCanonical sync.Map // lower -> canonical
)

func init() {
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Encoding", "Content-Length", "Content-Type", "Cookie", "Date", "Etag", "Expires",
		"Host", "If-Modified-Since", "If-None-Match", "Last-Modified", "Location", "Origin", "Pragma", "Range",
		"Referer", "Server", "Set-Cookie", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "User-Agent", "Vary",
		"Www-Authenticate", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip",
		"X-Request-Id"} {
		l := strings.ToLower(k)
		toLower.Store(k, l)
		toCanonical.Store(l, k)
	}
}

func lowerKey(k string) string {
	if v, ok := toLower.Load(k); ok {
		return v.(string)
	}
	return strings.ToLower(k)
}

func canonicalKey(k string) string {
	if v, ok := toCanonical.Load(k); ok {
		return v.(string)
	}
	return textproto.CanonicalMIMEHeaderKey(k)
}

// Attribute implements wasm.Stream.
func (rs *reqState) Attribute(name string) (wasm.Value, bool) {
	rec := &rs.rec
	switch name {
	case "source.address":
		return wasm.StringValue(rs.r.RemoteAddr), true
	case "source.port":
		return wasm.IntValue(int64(rs.peer.Port())), true
	case "destination.address":
		if rs.conn != nil && rs.conn.Local != nil {
			return wasm.StringValue(rs.conn.Local.String()), true
		}
	case "destination.port":
		if a, ok := rs.localAddr(); ok {
			return wasm.IntValue(int64(a.Port())), true
		}
	case "connection.id":
		return wasm.UintValue(rec.ConnID), true
	case "connection.mtls":
		return wasm.BoolValue(false), true
	case "connection.tls_version":
		if rec.TLSVersion != "" {
			return wasm.StringValue(rec.TLSVersion), true
		}
	case "connection.requested_server_name":
		if rs.r.TLS != nil {
			return wasm.StringValue(rs.r.TLS.ServerName), true
		}
	case "request.time":
		return wasm.TimeValue(rec.Start), true
	case "request.protocol":
		return wasm.StringValue(rs.r.Proto), true
	case "request.duration":
		return wasm.DurationValue(time.Since(rec.Start)), true
	case "request.size":
		if rs.r.ContentLength >= 0 {
			return wasm.IntValue(rs.r.ContentLength), true
		}
		return wasm.IntValue(rs.body.n), true
	case "request.total_size":
		return wasm.IntValue(rs.body.n), true
	case "response.size", "response.total_size":
		return wasm.IntValue(rec.BytesSent), true
	case "upstream.address":
		if rec.UpstreamAddr != "" {
			return wasm.StringValue(rec.UpstreamAddr), true
		}
	case "upstream.port":
		if _, p, err := net.SplitHostPort(rec.UpstreamAddr); err == nil {
			n, _ := strconv.Atoi(p)
			return wasm.IntValue(int64(n)), true
		}
	case "xds.route_name", "route_name":
		return wasm.StringValue(rec.Location), true
	case "xds.cluster_name", "cluster_name":
		if rec.Upstream != "" {
			return wasm.StringValue(rec.Upstream), true
		}
	case "client.ip", "sluice.client_ip":
		return wasm.StringValue(rs.client.String()), true
	case "sluice.server":
		return wasm.StringValue(rec.Server), true
	case "sluice.request_id":
		return wasm.StringValue(rec.RequestID), true
	}
	return wasm.Value{}, false
}

var _ wasm.AttributeSetter = (*reqState)(nil)

// SetAttribute implements wasm.AttributeSetter: the properties through which
// plugins steer the host.
//
//	sluice.upstream    the upstream this request goes to instead of the
//	                   location's (traffic splitting); must name an
//	                   upstream of the config
//	sluice.ctx.KEY     a value for the access log ({:KEY}), Server-Timing and
//	                   metrics, e.g. cache_status, compression_ratio
//	sluice.respond_file  "PATH\x00OFFSET\x00LENGTH": the body of the local
//	                   response the plugin is about to send is that range of
//	                   a file under the plugin's granted root, streamed by
//	                   the host (the directory plugin)
func (rs *reqState) SetAttribute(name, value string) bool {
	switch {
	case name == "sluice.respond_file":
		fr, ok := parseFileRange(value)
		if !ok || rs.site.files == nil {
			return false
		}
		rs.bodyFile = &fr
	case name == "sluice.upstream":
		u := rs.loc.upstreams[value]
		if u == nil {
			return false
		}
		rs.upOverride = u
	case strings.HasPrefix(name, "sluice.ctx."):
		rs.rec.Values = setValue(rs.rec.Values, name[len("sluice.ctx."):], value)
	}
	return true
}

var _ wasm.CallObserver = (*reqState)(nil)

// PluginCall implements wasm.CallObserver: every plugin callback goes to the
// metrics and the trace of the request.
func (rs *reqState) PluginCall(plugin, callback string, start time.Time, d time.Duration) {
	rs.site.obs.pluginCall(rs, plugin, callback, start, d)
}

var _ wasm.LocalBodyStreamer = (*reqState)(nil)

// LocalBodyFollows implements wasm.LocalBodyStreamer.
func (rs *reqState) LocalBodyFollows() bool { return rs.bodyFile != nil }

// fileRange is a range of a file a plugin asked the host to send.
type fileRange struct {
	path      string
	off, size int64
}

func parseFileRange(v string) (fileRange, bool) {
	path, rest, ok1 := strings.Cut(v, "\x00")
	off, size, ok2 := strings.Cut(rest, "\x00")
	o, err1 := strconv.ParseInt(off, 10, 64)
	n, err2 := strconv.ParseInt(size, 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || o < 0 || n < 0 || path == "" {
		return fileRange{}, false
	}
	return fileRange{path: path, off: o, size: n}, true
}
