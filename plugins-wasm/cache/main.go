// Command cache is the sluice plugin for Pingap's "cache" category: an HTTP
// cache in front of the upstream. The plugin decides (what is stored, for
// how long, which variant a request gets, what to answer); the bytes live
// in a host cache store (sdk.CacheStore, the sluice.cache.* foreign
// functions), in memory or on disk, bounded and shared across VMs and
// config reloads.
//
// Parameters (Pingap's):
//
//	directory            the store: "" (default) or "memory://NAME?max_size=100mb"
//	                     for memory, "/abs/path?max_size=10gb" for disk (which
//	                     survives restarts); also inactive=1h and levels=1:2.
//	                     Plugins naming one directory share one store.
//	namespace            a prefix of every key, so that locations sharing a
//	                     store keep apart; PURGE /* purges it.
//	headers              request headers whose values are part of the key,
//	                     e.g. ["Accept-Encoding"].
//	max_ttl              caps how long a response stays fresh, e.g. "1h".
//	max_file_size        responses with larger bodies are not stored
//	                     (default "1mb").
//	lock                 coalescing: while one request fetches a missing or
//	                     expired key, the others wait up to this long for it
//	                     (default "1s"; "0s" turns it off).
//	check_cache_control  store only responses with a Cache-Control header
//	                     (default false: others are kept for 1s, Pingap's
//	                     default, if their status allows).
//	skip                 a regular expression on path and query: matching
//	                     requests bypass the cache.
//	purge_ip_list        IPs and CIDR ranges allowed to PURGE (default none).
//	predictor            remember keys whose responses were not storable, and
//	                     let their requests through without the lock.
//	eviction             accepted (Pingap's flag): stores always evict least
//	                     recently used entries to stay within max_size.
//
// The key is the Host, the path and query, then the values of `headers`;
// GET and HEAD share it, so HEAD is answered from GET entries (a HEAD that
// misses goes upstream and is not stored). Only GET responses are stored:
// statuses 200, 203, 204, 300, 301, 308, 404, 405, 410, 414 and 501, plus
// 302 and 307 with explicit freshness; not with no-store, no-cache or
// private, Vary: *, Set-Cookie, or (to a request with Authorization)
// without public, s-maxage or must-revalidate. Freshness comes from
// s-maxage, max-age, Expires (minus Age), else 1 second; stale-while-
// revalidate and stale-if-error are honoured unless must-revalidate,
// proxy-revalidate or s-maxage forbid serving stale. A response with Vary is
// stored per variant (the values of the named request headers), and never
// served to another. Client Cache-Control is not honoured (as nginx and
// Pingap): clients do not bypass the cache.
//
// Responses carry x-cache-status: HIT, MISS, EXPIRED (was stored, had
// expired), STALE (served past its freshness: while another request
// refreshes it, or because the upstream failed), REVALIDATED (the upstream
// answered 304 to the cache's conditional request) or BYPASS; and Age on
// answers from the cache, x-cache-lookup and x-cache-lock (time spent
// waiting for another request's fetch). Conditional requests
// (If-None-Match, If-Modified-Since) are answered 304 from the cache, and
// a single byte Range 206 (or 416).
//
// PURGE /path removes every variant of the key (the request's Host and
// headers count, as for GET), PURGE /path/* every key of the Host under
// /path/, PURGE /* the whole namespace: 204, with x-cache-purged: N; 403 for
// clients not in purge_ip_list.
//
// The access log and metrics get {:cache_status}, {:cache_lookup_time} and
// {:cache_lock_time} (milliseconds).
package main

import (
	"encoding/binary"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/sdk"
)

func main() {}

func init() { sdk.Register(newCache) }

// maxRounds bounds how often a waiting request looks up again after being
// told that the entry it waited for was stored (it may be another
// variant's, or gone already): after that it fetches.
const maxRounds = 3

// predictorSize bounds the keys the predictor remembers per VM.
const predictorSize = 4096

// Wake messages, enqueued to the waiters' queues: the outcome, then the
// lock token (u64 little-endian).
const (
	wakeStored = 1 // the entry was stored: look up again
	wakePass   = 2 // nothing was stored: fetch
)

type plugin struct {
	namespace string
	headers   []string // lower-case
	policy    policy
	lock      time.Duration
	skip      *regexp.Regexp
	purgeIPs  []netip.Prefix
	predictor bool
	store     sdk.CacheStore

	// Per VM: the queue this VM's waiting requests are told on, the
	// requests waiting by lock token, and the predictor's keys.
	queue       sdk.Queue
	waiters     map[uint64][]*stream
	waiting     int
	ticking     bool
	tick        time.Duration
	uncacheable map[string]struct{}
	buf         []byte // wake messages
	scratch     []byte // the entry name of the request being looked up
	prop        []byte // property values
}

func newCache(cfg []byte) (sdk.Plugin, error) {
	c, err := sdk.ParseConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := &plugin{
		namespace: c.String("namespace", ""),
		lock:      c.Duration("lock", time.Second),
		predictor: c.Bool("predictor", false),
		policy: policy{
			maxTTL:            c.Duration("max_ttl", 0),
			maxFileSize:       c.Size("max_file_size", 1_000_000),
			checkCacheControl: c.Bool("check_cache_control", false),
			defaultTTL:        time.Second,
		},
		waiters:     map[uint64][]*stream{},
		uncacheable: map[string]struct{}{},
	}
	c.Bool("eviction", false)
	if step := c.Step(); step != "" && step != "request" {
		c.Invalid("step", `the cache runs at the "request" step only, got `+strconv.Quote(step))
	}
	for i, h := range c.Strings("headers") {
		if !sdk.IsToken(h) {
			c.Invalid("headers["+strconv.Itoa(i)+"]", strconv.Quote(h)+" is not a header name")
			continue
		}
		p.headers = append(p.headers, strings.ToLower(h))
	}
	if p.lock < 0 {
		c.Invalid("lock", "must not be negative")
	}
	if p.policy.maxTTL < 0 {
		c.Invalid("max_ttl", "must not be negative")
	}
	if s := c.String("skip", ""); s != "" {
		re, err := regexp.Compile(s)
		if err != nil {
			c.Invalid("skip", "not a regular expression: "+err.Error())
		}
		p.skip = re
	}
	for i, s := range c.Strings("purge_ip_list") {
		pfx, ok := parseIPOrCIDR(strings.TrimSpace(s))
		if !ok {
			c.Invalid("purge_ip_list["+strconv.Itoa(i)+"]", strconv.Quote(s)+" is neither an IP address nor a CIDR range")
			continue
		}
		p.purgeIPs = append(p.purgeIPs, pfx)
	}
	directory := c.String("directory", "")
	if err := sdk.ParseCacheDirectory(directory); err != nil {
		c.Invalid("directory", err.Error())
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if p.store, err = sdk.OpenCacheStore(directory); err != nil {
		return nil, &sdk.ConfigError{Problems: []string{`key "directory": ` + err.Error()}}
	}
	// Look at the waiting requests often enough to let them go within a
	// tenth of the lock time of their deadline.
	p.tick = min(max(p.lock/10, 10*time.Millisecond), 100*time.Millisecond)
	if p.lock > 0 {
		if p.queue, err = registerWakeQueue(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// registerWakeQueue registers a queue of this VM's own: its name holds a
// number no other VM took (a shared counter), so that a lock's releaser,
// on whatever VM, reaches exactly the VMs whose requests wait.
func registerWakeQueue() (sdk.Queue, error) {
	v, err := sdk.UpdateSharedData("sluice.cache.queues", func(old []byte, ok bool) []byte {
		var n uint64
		if ok && len(old) == 8 {
			n = binary.LittleEndian.Uint64(old)
		}
		return binary.LittleEndian.AppendUint64(nil, n+1)
	})
	if err != nil {
		return 0, err
	}
	return sdk.RegisterQueue("sluice.cache.wake." + strconv.FormatUint(binary.LittleEndian.Uint64(v), 10))
}

func parseIPOrCIDR(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		return pfx.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// NewStream implements sdk.StreamFactory: each request has its own state.
func (p *plugin) NewStream(r sdk.Request) any { return &stream{p: p, r: r} }

// appendName appends the entry name of a request's key to dst: the
// namespace, then the key: Host, path and query, then the values of the
// configured headers. keyAt is where the key starts in the name.
func (p *plugin) appendName(dst []byte, h sdk.Header, host, path string) (name []byte, keyAt int) {
	start := len(dst)
	dst = sdk.CacheName(dst, p.namespace, "", "")
	keyAt = len(dst)
	dst = appendLower(dst, host)
	dst = append(dst, path...)
	for _, name := range p.headers {
		// A NUL cannot be in a header value: the fields cannot run into
		// each other.
		dst = append(dst, 0)
		for i, v := range h.Values(name) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, v...)
		}
	}
	binary.LittleEndian.PutUint32(dst[keyAt-4:], uint32(len(dst)-keyAt))
	return dst[start:], keyAt - start
}

// keyOf returns the cache key of a request (for PURGE).
func (p *plugin) keyOf(h sdk.Header, path string) string {
	name, at := p.appendName(nil, h, h.Get(":authority"), path)
	return string(name[at:])
}

// appendLower appends s lower-cased (a Host is case-insensitive).
func appendLower(dst []byte, s string) []byte {
	n := len(dst)
	dst = append(dst, s...)
	for i := n; i < len(dst); i++ {
		if c := dst[i]; c >= 'A' && c <= 'Z' {
			dst[i] = c + 'a' - 'A'
		}
	}
	return dst
}

// --- waiting ---

func (p *plugin) ensureTick() {
	if !p.ticking {
		if err := sdk.SetTickPeriod(p.tick); err == nil {
			p.ticking = true
		}
	}
}

func (p *plugin) maybeStopTick() {
	if p.ticking && p.waiting == 0 {
		if err := sdk.SetTickPeriod(0); err == nil {
			p.ticking = false
		}
		clear(p.waiters) // only stale registrations are left
	}
}

// unwait marks st as no longer waiting; its registration under the token
// is dropped lazily.
func (p *plugin) unwait(st *stream) {
	if st.waiting {
		st.waiting = false
		p.waiting--
	}
}

// OnQueueReady implements sdk.QueueHandler: a lock some requests of this
// VM wait on was released.
func (p *plugin) OnQueueReady(q sdk.Queue) {
	for {
		msg, err := q.Dequeue()
		if err != nil {
			break
		}
		if len(msg) != 9 {
			continue
		}
		outcome, token := msg[0], binary.LittleEndian.Uint64(msg[1:])
		list := p.waiters[token]
		delete(p.waiters, token)
		for _, st := range list {
			if st.waiting && st.waitToken == token {
				p.unwait(st)
				st.resume(outcome)
			}
		}
	}
	p.maybeStopTick()
}

// OnTick implements sdk.TickHandler: requests that waited their lock time
// fetch on their own.
func (p *plugin) OnTick() {
	now := sdk.Now()
	for token, list := range p.waiters {
		keep := list[:0]
		for _, st := range list {
			switch {
			case !st.waiting || st.waitToken != token:
			case !st.r.Live():
				p.unwait(st)
			case now.Before(st.deadline):
				keep = append(keep, st)
			default:
				p.unwait(st)
				st.lockTime = now.Sub(st.waitStart)
				st.fetch("MISS")
				_ = st.r.Resume()
			}
		}
		if len(keep) == 0 {
			delete(p.waiters, token)
		} else {
			p.waiters[token] = keep
		}
	}
	p.maybeStopTick()
}

// notify tells the waiters of a released lock.
func (p *plugin) notify(w sdk.CacheWake, outcome byte) {
	if len(w.Queues) == 0 {
		return
	}
	p.buf = append(p.buf[:0], outcome)
	p.buf = binary.LittleEndian.AppendUint64(p.buf, w.Token)
	w.Notify(p.buf)
}

// release gives up a lock and tells its waiters.
func (p *plugin) release(token uint64, outcome byte) {
	if token == 0 {
		return
	}
	w, err := p.store.Release(token)
	if err != nil {
		sdk.Warn("cache: releasing a lock: " + err.Error())
		return
	}
	p.notify(w, outcome)
}

// --- predictor ---

func (p *plugin) predicted(key []byte) bool {
	if !p.predictor {
		return false
	}
	_, ok := p.uncacheable[string(key)]
	return ok
}

func (p *plugin) predict(key string) {
	if !p.predictor {
		return
	}
	if len(p.uncacheable) >= predictorSize {
		clear(p.uncacheable)
	}
	p.uncacheable[key] = struct{}{}
}

func (p *plugin) unpredict(key string) {
	if p.predictor {
		delete(p.uncacheable, key)
	}
}

// --- purge ---

// purge answers a PURGE request.
func (p *plugin) purge(r sdk.Request) sdk.Action {
	if !p.purgeAllowed(r) {
		_ = r.Respond(403, [][2]string{{"content-type", "text/plain; charset=utf-8"}}, []byte("Forbidden, ip is not allowed"))
		return sdk.Pause
	}
	h := r.Header()
	path := h.Get(":path")
	var n uint64
	var err error
	switch {
	case path == "/*":
		n, err = p.store.Purge(sdk.CacheName(nil, p.namespace, "", ""), sdk.CachePurgeNamespace)
	case strings.HasSuffix(path, "*"):
		// Every key of this host under the path (any query, any headers).
		prefix := string(appendLower(nil, h.Get(":authority"))) + path[:len(path)-1]
		n, err = p.store.Purge(sdk.CacheName(nil, p.namespace, prefix, ""), sdk.CachePurgeKeyPrefix)
		clear(p.uncacheable)
	default:
		key := p.keyOf(h, path)
		n, err = p.store.Purge(sdk.CacheName(nil, p.namespace, key, ""), sdk.CachePurgeKey)
		p.unpredict(key)
	}
	if err != nil {
		sdk.Error("cache: purge: " + err.Error())
		_ = r.Respond(500, nil, nil)
		return sdk.Pause
	}
	_ = r.Respond(204, [][2]string{{"x-cache-purged", strconv.FormatUint(n, 10)}}, nil)
	return sdk.Pause
}

func (p *plugin) purgeAllowed(r sdk.Request) bool {
	if len(p.purgeIPs) == 0 {
		return false
	}
	b, err := r.Property("sluice.client_ip")
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, pfx := range p.purgeIPs {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}
