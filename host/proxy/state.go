package proxy

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/sluice-proxy/sluice/host/internal/conninfo"
	"github.com/sluice-proxy/sluice/host/internal/reqinfo"
	"github.com/sluice-proxy/sluice/host/route"
	"github.com/sluice-proxy/sluice/host/upstream"
	"github.com/sluice-proxy/sluice/host/upstream/transport"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// reqState is everything one request needs on its way, pooled so that the
// hot path allocates as little as possible.
type reqState struct {
	rec    reqinfo.Record
	w      http.ResponseWriter
	r      *http.Request
	entry  *Entry
	site   *Site
	loc    *Location
	vars   route.Vars
	conn   *conninfo.Conn
	peer   netip.AddrPort
	client netip.Addr

	// out is the upstream request: a shallow copy of r, kept here so that
	// it costs no allocation of its own.
	out     http.Request
	trace   transport.Trace
	tried   []*upstream.Backend
	up      *upstream.Upstream
	backend *upstream.Backend
	// backendDone is set once Done was called for backend.
	backendDone bool

	wroteHeader bool
	body        countingBody
	// buf is the copy buffer: the first 16 KiB for the request body going
	// through plugins, the rest for the response body (both may run at
	// once with an HTTP/2 upstream).
	buf []byte

	// Plugins: the filter of the location's chain (nil without plugins),
	// its four header maps, the response as plugins see it, and the result
	// that stopped a request body.
	filter      *wasm.Filter
	fmu         sync.Mutex
	maps        [4]hmap
	respHeader  http.Header
	respTrailer http.Header
	status      int
	pbody       pluginBody
	pres        wasm.Result
	// hbuf is scratch space for expanding header templates.
	hbuf []byte
	// bodyFile is the file range a plugin's local response sends
	// (sluice.respond_file).
	bodyFile *fileRange
	// upOverride is the upstream a plugin chose (sluice.upstream).
	upOverride *upstream.Upstream
}

const reqBufSize = 16 << 10

var statePool = sync.Pool{New: func() any {
	return &reqState{buf: make([]byte, reqBufSize+32<<10), hbuf: make([]byte, 0, 256)}
}}

func getState() *reqState { return statePool.Get().(*reqState) }

func putState(rs *reqState) {
	buf, tried, plugins, hbuf := rs.buf, rs.tried[:0], rs.rec.Plugins[:0], rs.hbuf[:0]
	*rs = reqState{buf: buf, tried: tried, hbuf: hbuf}
	rs.rec.Plugins = plugins
	statePool.Put(rs)
}

// init fills the record with what the client sent, before anything changes
// the request.
func (rs *reqState) init(e *Entry, s *Site, w http.ResponseWriter, r *http.Request, now time.Time) {
	rs.entry, rs.site, rs.w, rs.r = e, s, w, r
	rec := &rs.rec
	rec.Start = now
	rec.Server = s.Name
	rec.RequestID = newRequestID()
	rec.Req = r
	rec.Method = r.Method
	rec.Host = r.Host
	rec.Path = r.URL.Path
	rec.Query = r.URL.RawQuery
	rec.Proto = r.Proto
	rec.Scheme = "http"
	if r.TLS != nil {
		rec.Scheme = "https"
	}
	rec.Remote = r.RemoteAddr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		rs.peer = ap
	}
	rs.client = clientIP(rs.peer.Addr(), r.Header, s.trusted)
	if c := conninfo.From(r.Context()); c != nil {
		rs.conn = c
		n := c.Requests.Add(1)
		rec.ConnID = c.ID
		rec.ConnReused = n > 1
		rec.ConnTime = now.Sub(c.Accepted)
		rec.TLSVersion, rec.TLSCipher, rec.TLSHandshake = c.TLSVersion, c.TLSCipher, c.Handshake
	}
}

// countingBody counts the request body bytes read, and enforces
// client_max_body_size on bodies whose length is not known in advance.
type countingBody struct {
	rc    interface{ Read([]byte) (int, error) }
	close func() error
	n     int64
	limit int64 // 0 = none
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.limit > 0 && b.n > b.limit {
		return n, errBodyTooLarge
	}
	return n, err
}

func (b *countingBody) Close() error { return b.close() }
