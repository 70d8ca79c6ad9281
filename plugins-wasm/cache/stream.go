package main

import (
	"bytes"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

// What the cache does with a request.
const (
	modeNone   = iota // not for the cache (a PURGE, answered already)
	modeBypass        // not looked up: x-cache-status BYPASS
	modeServed        // answered from the cache
	modeFetch         // goes upstream; the response may be stored
)

// stream is one request's way through the cache.
type stream struct {
	p   *plugin
	r   sdk.Request
	req request

	mode       int
	status     string // x-cache-status of a fetched response
	head       bool
	ranged     bool
	storable   bool // a GET without Range: its response may be stored
	authorized bool
	primary    []byte // the entry name of the key, variant ""
	keyAt      int    // where the key starts in primary
	name       []byte // where the response goes: primary, or its variant
	varyKnown  []string
	reqHeaders [][2]string // copied when needed after the callback

	token        uint64  // the lock this request holds
	stale        *stored // the expired entry: revalidated or served on error
	revalidating bool

	w       sdk.CacheWrite
	writing bool

	lookupTime, lockTime time.Duration
	waiting              bool
	waitToken            uint64
	waitStart, deadline  time.Time
	rounds               int
}

// request is what the cache reads of the request headers, in one pass
// over them: with the time budget on, every loop turn of a guest costs
// tens of nanoseconds, and a lookup per header would cost one pass each.
type request struct {
	method, path, authority           string
	rng, ifNoneMatch, ifModifiedSince string
	ifRange                           string
	hasRange, authorized              bool
}

func (q *request) read(h sdk.Header) {
	h.Range(func(k, v string) bool {
		switch k {
		case ":method":
			q.method = v
		case ":path":
			q.path = v
		case ":authority":
			q.authority = v
		case "range":
			q.rng, q.hasRange = v, true
		case "authorization":
			q.authorized = true
		case "if-none-match":
			q.ifNoneMatch = v
		case "if-modified-since":
			q.ifModifiedSince = v
		case "if-range":
			q.ifRange = v
		}
		return true
	})
}

// OnRequestHeaders looks the request up: it is answered from the cache,
// waits for another request's fetch, or goes upstream.
func (st *stream) OnRequestHeaders(r sdk.Request) sdk.Action {
	p := st.p
	h := r.Header()
	st.req.read(h)
	switch st.req.method {
	case "GET":
	case "HEAD":
		st.head = true
	case "PURGE":
		return p.purge(r)
	default:
		st.mode = modeBypass
		return sdk.Continue
	}
	if p.skip != nil && p.skip.MatchString(st.req.path) {
		st.mode = modeBypass
		return sdk.Continue
	}
	// The name is built in the plugin's scratch buffer, and kept only by
	// a request that is not answered at once: a hit allocates less.
	p.scratch, st.keyAt = p.appendName(p.scratch[:0], h, st.req.authority, st.req.path)
	st.primary = p.scratch
	st.ranged, st.authorized = st.req.hasRange, st.req.authorized
	st.storable = !st.head && !st.ranged
	a := st.lookup()
	if st.mode != modeServed {
		st.primary = bytes.Clone(st.primary)
		if bytes.Equal(st.name, p.scratch) {
			st.name = st.primary
		}
	}
	return a
}

// key returns the request's cache key.
func (st *stream) key() []byte { return st.primary[st.keyAt:] }

// requestHeaders returns a copy of the request headers, made once.
func (st *stream) requestHeaders() [][2]string {
	if st.reqHeaders == nil {
		st.reqHeaders = make([][2]string, 0, 16)
		st.r.Header().Range(func(k, v string) bool {
			st.reqHeaders = append(st.reqHeaders, [2]string{k, v})
			return true
		})
	}
	return st.reqHeaders
}

// lookup looks the key up and acts on the outcome: an answer from the
// cache (Pause: the local response ends the request), a wait (Pause), or a
// fetch (Continue).
func (st *stream) lookup() sdk.Action {
	p := st.p
	lock := p.lock > 0 && st.storable && !p.predicted(st.key())
	t0 := time.Now()
	e, err := p.store.Lookup(st.primary, lock, p.lock, p.queue)
	st.name = st.primary
	if err == nil && e.Kind.HasEntry() {
		if k, kerr := metaKind(e.Meta); kerr == nil && k == kindVary {
			// The responses vary: look up this request's variant.
			p.release(e.Token, wakeStored) // a lock on the marker is no use
			names, derr := decodeVary(e.Meta)
			if derr != nil {
				e = sdk.CacheEntry{Kind: sdk.CacheMiss}
			} else {
				st.varyKnown = names
				st.name = sdk.CacheName(nil, p.namespace, string(st.key()), variant(names, st.requestHeaders()))
				e, err = p.store.Lookup(st.name, lock, p.lock, p.queue)
			}
		}
	}
	st.lookupTime += time.Since(t0)
	if err != nil {
		sdk.Warn("cache: lookup: " + err.Error())
		st.fetch("MISS")
		return sdk.Continue
	}
	switch e.Kind {
	case sdk.CacheHit, sdk.CacheStale:
		s, derr := decodeResponse(e.Meta, e.Body, 6)
		if derr != nil {
			st.fetch("MISS") // another format: fetched and replaced
			return sdk.Continue
		}
		status := "HIT"
		if e.Kind == sdk.CacheStale {
			status = "STALE"
		}
		st.serve(s, status)
		return sdk.Pause
	case sdk.CacheWait:
		st.wait(e.Token)
		return sdk.Pause
	case sdk.CacheExpired:
		st.token = e.Token
		if s, derr := decodeResponse(e.Meta, e.Body, 6); derr == nil {
			st.stale = s
			st.revalidate()
		}
		st.fetch("EXPIRED")
		return sdk.Continue
	default:
		st.token = e.Token
		st.fetch("MISS")
		return sdk.Continue
	}
}

// fetch sends the request upstream.
func (st *stream) fetch(status string) {
	st.mode, st.status = modeFetch, status
	if st.storable {
		st.requestHeaders() // for the response's Vary, read after the callback
	}
}

// revalidate makes the upstream request conditional on the expired
// entry's validators, unless the client sent conditions of its own.
func (st *stream) revalidate() {
	s := st.stale
	if !st.storable || s.status != 200 {
		return
	}
	if st.req.ifNoneMatch != "" || st.req.ifModifiedSince != "" {
		return
	}
	h := st.r.Header()
	etag, lm := s.header("etag"), s.header("last-modified")
	if etag == "" && lm == "" {
		return
	}
	if etag != "" && h.Set("if-none-match", etag) != nil {
		return
	}
	if lm != "" && h.Set("if-modified-since", lm) != nil {
		return
	}
	st.revalidating = true
}

// wait holds the request until the lock token is released or the lock
// time runs out.
func (st *stream) wait(token uint64) {
	p := st.p
	if st.deadline.IsZero() {
		st.waitStart = sdk.Now()
		st.deadline = st.waitStart.Add(p.lock)
	}
	if !st.waiting {
		st.waiting = true
		p.waiting++
	}
	st.waitToken = token
	p.waiters[token] = append(p.waiters[token], st)
	p.ensureTick()
}

// resume goes on after the lock waited on was released.
func (st *stream) resume(outcome byte) {
	if !st.r.Live() {
		return
	}
	st.lockTime = sdk.Now().Sub(st.waitStart)
	st.rounds++
	if outcome != wakeStored || st.rounds >= maxRounds {
		st.fetch("MISS")
		_ = st.r.Resume()
		return
	}
	if st.lookup() == sdk.Continue {
		_ = st.r.Resume()
	}
}

// cacheHeaders are the stored headers a 304 carries (RFC 9110 §15.4.5).
var notModifiedHeaders = map[string]bool{
	"cache-control": true, "content-location": true, "date": true, "etag": true,
	"expires": true, "vary": true, "last-modified": true,
}

// serve answers the request from a stored response.
func (st *stream) serve(s *stored, status string) {
	r := st.r
	now := sdk.Now()
	code, body := s.status, s.body
	out := s.headers // decoded with room for the headers added here
	if st.notModified(s) {
		code, body = 304, nil
		out = out[:0]
		for _, kv := range s.headers {
			if notModifiedHeaders[kv[0]] {
				out = append(out, kv)
			}
		}
	} else {
		if st.ranged && !st.head && code == 200 && st.ifRange(s) {
			size := int64(len(body))
			if rg, ok, unsat := parseRange(st.req.rng, size); ok {
				if unsat {
					code, body = 416, nil
					out = append(out, [2]string{"content-range", "bytes */" + strconv.FormatInt(size, 10)})
				} else {
					code, body = 206, body[rg.start:rg.end+1]
					out = append(out, [2]string{"content-range", "bytes " + strconv.FormatInt(rg.start, 10) + "-" +
						strconv.FormatInt(rg.end, 10) + "/" + strconv.FormatInt(size, 10)})
				}
			}
		}
	}
	age := int64(s.initialAge) + max(now.UnixMilli()-s.storedAt, 0)/1000
	out = append(out, [2]string{"age", strconv.FormatInt(age, 10)})
	out = st.statusHeaders(out, status)
	st.mode = modeServed
	if err := r.Respond(code, out, body); err != nil {
		sdk.Error("cache: answering from the cache: " + err.Error())
		return
	}
	st.report(status)
}

// statusHeaders appends x-cache-status, x-cache-lookup and x-cache-lock.
func (st *stream) statusHeaders(out [][2]string, status string) [][2]string {
	out = append(out, [2]string{"x-cache-status", status},
		[2]string{"x-cache-lookup", string(appendMillis(st.p.prop[:0], st.lookupTime, "ms"))})
	if st.lockTime > 0 {
		out = append(out, [2]string{"x-cache-lock", string(appendMillis(st.p.prop[:0], st.lockTime, "ms"))})
	}
	return out
}

// appendMillis appends d in milliseconds with three decimals, then unit.
// (Integer arithmetic: formatting a float costs microseconds in a guest.)
func appendMillis(b []byte, d time.Duration, unit string) []byte {
	us := max(int64(d/time.Microsecond), 0)
	b = strconv.AppendInt(b, us/1000, 10)
	f := us % 1000
	b = append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
	return append(b, unit...)
}

// report gives the access log and metrics the cache's figures.
func (st *stream) report(status string) {
	r, p := st.r, st.p
	p.prop = append(p.prop[:0], status...)
	_ = r.SetProperty("sluice.ctx.cache_status", p.prop)
	if st.mode == modeBypass {
		return
	}
	p.prop = appendMillis(p.prop[:0], st.lookupTime, "")
	_ = r.SetProperty("sluice.ctx.cache_lookup_time", p.prop)
	if st.lockTime > 0 {
		p.prop = appendMillis(p.prop[:0], st.lockTime, "")
		_ = r.SetProperty("sluice.ctx.cache_lock_time", p.prop)
	}
}

// notModified reports whether the request's conditions let the stored
// response be answered 304 (RFC 9110 §13.2.2: If-None-Match first).
func (st *stream) notModified(s *stored) bool {
	if s.status != 200 {
		return false
	}
	if inm := st.req.ifNoneMatch; inm != "" {
		return etagMatch(inm, s.header("etag"))
	}
	ims := st.req.ifModifiedSince
	if ims == "" {
		return false
	}
	since, ok1 := parseHTTPDate(ims)
	lm, ok2 := parseHTTPDate(s.header("last-modified"))
	return ok1 && ok2 && !lm.After(since)
}

// ifRange reports whether a Range applies under If-Range (RFC 9110
// §13.1.5): with no If-Range, or one naming the stored response by its
// strong ETag or its Last-Modified date.
func (st *stream) ifRange(s *stored) bool {
	ir := st.req.ifRange
	switch {
	case ir == "":
		return true
	case ir[0] == '"':
		return ir == s.header("etag")
	default:
		return ir == s.header("last-modified")
	}
}

// OnResponseHeaders decides whether to store the response, and starts
// storing it; or replaces it by the stored one (a 304 to the cache's
// revalidation, an upstream error with stale-if-error).
func (st *stream) OnResponseHeaders(r sdk.Request) sdk.Action {
	switch st.mode {
	case modeBypass:
		_ = r.ResponseHeader().Set("x-cache-status", "BYPASS")
		st.report("BYPASS")
		return sdk.Continue
	case modeFetch:
	default:
		return sdk.Continue
	}
	p := st.p
	rh := r.ResponseHeader()
	status := r.Status()
	now := sdk.Now()
	if s := st.stale; s != nil {
		switch {
		case st.revalidating && status == 304:
			st.refreshed(rh, now)
			return sdk.Continue
		case status >= 500 && now.UnixMilli() < s.freshUntil+int64(s.sie)*1000:
			p.release(st.token, wakePass)
			st.token = 0
			st.serve(s, "STALE")
			return sdk.Continue
		}
	}
	for _, kv := range st.statusHeaders(nil, st.status) {
		_ = rh.Set(kv[0], kv[1])
	}
	st.report(st.status)
	if !st.storable {
		p.release(st.token, wakePass)
		st.token = 0
		return sdk.Continue
	}
	resp := readResponse(rh, status)
	life, why := p.policy.decide(&resp, st.authorized, now)
	if why != storable {
		if why != reasonTooLarge {
			p.predict(string(st.key()))
		}
		p.release(st.token, wakePass)
		st.token = 0
		return sdk.Continue
	}
	p.unpredict(string(st.key()))
	s := &stored{status: status, storedAt: now.UnixMilli(), freshUntil: now.Add(life.fresh).UnixMilli(),
		initialAge: seconds(life.initialAge), sie: seconds(life.sie), headers: storedHeaders(rh)}
	st.store(s, &resp, life, r.EndOfStream())
	return sdk.Continue
}

func seconds(d time.Duration) uint32 { return uint32(min(d/time.Second, 1<<31)) }

// readResponse reads what the policy needs of the response headers.
func readResponse(rh sdk.Header, status int) response {
	resp := response{status: status, contentLength: -1}
	var cc, vary []string
	rh.Range(func(k, v string) bool {
		switch k {
		case "cache-control":
			cc = append(cc, v)
		case "date":
			resp.date = v
		case "expires":
			resp.expires, resp.hasExpires = v, true
		case "age":
			resp.age = v
		case "vary":
			vary = append(vary, v)
		case "set-cookie":
			resp.setCookie = true
		case "content-length":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				resp.contentLength = n
			}
		}
		return true
	})
	resp.cc = parseCacheControl(cc)
	resp.vary, resp.varyStar = varyNames(vary)
	return resp
}

// storedHeaders returns the response headers worth storing: not the
// hop-by-hop ones, not those the cache makes anew (Age, its own), not
// Content-Length (the host sets it from the body).
func storedHeaders(rh sdk.Header) [][2]string {
	var out [][2]string
	rh.Range(func(k, v string) bool {
		switch k {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer",
			"age", "content-length", "x-cache-status", "x-cache-lookup", "x-cache-lock":
		default:
			if k != "" && k[0] != ':' {
				out = append(out, [2]string{k, v})
			}
		}
		return true
	})
	return out
}

// markerTimes are the times of a Vary marker: it outlives the variants it
// points to, so that their requests keep finding them.
func markerTimes(l lifetime) sdk.CacheTimes {
	d := max(l.keep, time.Hour)
	return sdk.CacheTimes{Fresh: d, Keep: d}
}

// store starts storing the response (a Vary marker first when it varies)
// and, with eos (no body), ends it.
func (st *stream) store(s *stored, resp *response, life lifetime, eos bool) {
	p := st.p
	if len(resp.vary) > 0 {
		marker := appendVaryMeta(nil, resp.vary)
		vname := sdk.CacheName(nil, p.namespace, string(st.key()), variant(resp.vary, st.requestHeaders()))
		if !bytes.Equal(vname, st.name) {
			// First take the variant's lock, so that the requests of this
			// variant wait for this write rather than fetch too; then put
			// the marker, which releases the lock held on the key.
			var vtoken uint64
			if p.lock > 0 {
				if e, err := p.store.Lookup(vname, true, p.lock, 0); err == nil && e.Kind != sdk.CacheHit {
					vtoken = e.Token
				}
			}
			markerToken := uint64(0)
			if bytes.Equal(st.name, st.primary) {
				markerToken = st.token
			}
			w, err := p.store.Put(st.primary, markerToken, markerTimes(life), 0, marker, nil)
			if err != nil {
				sdk.Warn("cache: storing a Vary marker: " + err.Error())
				p.release(vtoken, wakePass)
				p.release(st.token, wakePass)
				st.token = 0
				return
			}
			p.notify(w, wakeStored)
			if markerToken == 0 {
				p.release(st.token, wakeStored) // the other variant's waiters look again
			}
			st.name, st.token = vname, vtoken
		} else if w, err := p.store.Put(st.primary, 0, markerTimes(life), 0, marker, nil); err == nil {
			p.notify(w, wakeStored)
		}
	}
	meta := appendResponseMeta(nil, s)
	times := sdk.CacheTimes{Fresh: life.fresh, Stale: life.swr, Keep: life.keep}
	w, err := p.store.Begin(st.name, st.token, times, p.policy.maxFileSize, meta, nil)
	if err != nil {
		sdk.Warn("cache: storing a response: " + err.Error())
		p.release(st.token, wakePass)
		st.token = 0
		return
	}
	st.w, st.writing, st.token = w, true, 0
	if eos {
		st.commit()
	}
}

// refreshed answers a 304 to the cache's revalidation with the stored
// response, its headers updated by the 304's (RFC 9111 §4.3.4), and
// stores it anew.
func (st *stream) refreshed(rh sdk.Header, now time.Time) {
	p, old := st.p, st.stale
	s := &stored{status: old.status, storedAt: now.UnixMilli(), body: old.body}
	updates := storedHeaders(rh)
	for _, kv := range old.headers {
		if !hasHeader(updates, kv[0]) {
			s.headers = append(s.headers, kv)
		}
	}
	s.headers = append(s.headers, updates...)
	resp := response{status: s.status, contentLength: int64(len(s.body))}
	var cc, vary []string
	for _, kv := range s.headers {
		switch kv[0] {
		case "cache-control":
			cc = append(cc, kv[1])
		case "date":
			resp.date = kv[1]
		case "expires":
			resp.expires, resp.hasExpires = kv[1], true
		case "vary":
			vary = append(vary, kv[1])
		}
	}
	resp.age = rh.Get("age")
	resp.cc = parseCacheControl(cc)
	resp.vary, resp.varyStar = varyNames(vary)
	life, why := p.policy.decide(&resp, st.authorized, now)
	if why == storable {
		s.freshUntil, s.initialAge, s.sie = now.Add(life.fresh).UnixMilli(), seconds(life.initialAge), seconds(life.sie)
		times := sdk.CacheTimes{Fresh: life.fresh, Stale: life.swr, Keep: life.keep}
		w, err := p.store.Put(st.name, st.token, times, p.policy.maxFileSize, appendResponseMeta(nil, s), s.body)
		if err == nil {
			st.token = 0
			p.notify(w, wakeStored)
		}
	}
	p.release(st.token, wakePass)
	st.token = 0
	st.serve(s, "REVALIDATED")
}

func hasHeader(pairs [][2]string, name string) bool {
	for _, kv := range pairs {
		if kv[0] == name {
			return true
		}
	}
	return false
}

// OnResponseBody passes the body on, and into the store.
func (st *stream) OnResponseBody(r sdk.Request, size int, eos bool) sdk.Action {
	if !st.writing {
		return sdk.Continue
	}
	if size > 0 {
		b, err := r.ResponseBody().Bytes()
		if err == nil {
			err = st.w.Append(b)
		}
		if err != nil {
			st.abort() // over max_file_size, or the store failed
			return sdk.Continue
		}
	}
	if eos {
		st.commit()
	}
	return sdk.Continue
}

// OnResponseTrailers drops the write: trailers are not stored.
func (st *stream) OnResponseTrailers(r sdk.Request) sdk.Action {
	if st.writing {
		st.abort()
	}
	return sdk.Continue
}

func (st *stream) commit() {
	st.writing = false
	w, err := st.w.Commit()
	if err != nil {
		sdk.Warn("cache: storing a response: " + err.Error())
		w, _ = st.w.Abort()
		st.p.notify(w, wakePass)
		return
	}
	st.p.notify(w, wakeStored)
}

func (st *stream) abort() {
	st.writing = false
	w, err := st.w.Abort()
	if err == nil {
		st.p.notify(w, wakePass)
	}
}

// OnDone lets go of what the request still holds: a wait, a write cut
// short (the client or the upstream went away), a lock.
func (st *stream) OnDone(r sdk.Request) {
	p := st.p
	p.unwait(st)
	if st.writing {
		st.abort()
	}
	p.release(st.token, wakePass)
	st.token = 0
}
