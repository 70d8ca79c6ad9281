package main

import (
	"strconv"
	"strings"
	"time"
)

// cacheControl holds the Cache-Control directives the policy reads; -1
// marks an absent delta-seconds directive.
type cacheControl struct {
	present                               bool
	noStore, noCache, private, public     bool
	mustRevalidate, proxyRevalidate       bool
	maxAge, sMaxAge, staleWhileRevalidate int64
	staleIfError                          int64
}

// parseCacheControl reads Cache-Control header values (RFC 9111 §5.2):
// comma-separated directives, names case-insensitive, arguments maybe
// quoted. A directive given twice keeps its first value. no-cache and
// private with a field list count as the plain directives: the cache does
// not store the response at all rather than store it without the fields.
func parseCacheControl(values []string) cacheControl {
	cc := cacheControl{maxAge: -1, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1}
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			d = strings.TrimSpace(d)
			if d == "" {
				continue
			}
			cc.present = true
			name, arg, _ := strings.Cut(d, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			arg = strings.Trim(strings.TrimSpace(arg), `"`)
			switch name {
			case "no-store":
				cc.noStore = true
			case "no-cache":
				cc.noCache = true
			case "private":
				cc.private = true
			case "public":
				cc.public = true
			case "must-revalidate":
				cc.mustRevalidate = true
			case "proxy-revalidate":
				cc.proxyRevalidate = true
			case "max-age":
				setSeconds(&cc.maxAge, arg)
			case "s-maxage":
				setSeconds(&cc.sMaxAge, arg)
			case "stale-while-revalidate":
				setSeconds(&cc.staleWhileRevalidate, arg)
			case "stale-if-error":
				setSeconds(&cc.staleIfError, arg)
			}
		}
	}
	return cc
}

// setSeconds stores a delta-seconds argument unless one is set already. A
// value that does not parse is 0 (RFC 9111 §1.2.2: treat an invalid
// freshness as stale); a huge one is capped.
func setSeconds(dst *int64, arg string) {
	if *dst >= 0 {
		return
	}
	n, err := strconv.ParseInt(arg, 10, 64)
	switch {
	case err != nil && strings.Trim(arg, "0123456789") == "" && arg != "":
		n = 1 << 31 // all digits but too long: RFC 9111 §1.2.2
	case err != nil || n < 0:
		n = 0
	}
	*dst = min(n, 1<<31)
}

// servesStale reports whether the response may be served stale at all
// (RFC 9111 §4.2.4): not with must-revalidate, proxy-revalidate or
// s-maxage (which implies proxy-revalidate).
func (cc *cacheControl) servesStale() bool {
	return !cc.mustRevalidate && !cc.proxyRevalidate && cc.sMaxAge < 0
}

// heuristic are the statuses RFC 9110 §15.1 lets a cache store without
// explicit freshness (206 aside: this cache stores whole responses only).
func heuristic(status int) bool {
	switch status {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// storableStatus are the statuses stored when the response gives explicit
// freshness. 206 (partial), 304 and the 1xx are never whole responses.
func storableStatus(status int) bool {
	return heuristic(status) || status == 302 || status == 307
}

// reason says why a response is not stored (for the debug log and tests).
type reason string

const (
	storable          reason = ""
	reasonMethod      reason = "not a GET"
	reasonStatus      reason = "status not cacheable"
	reasonNoStore     reason = "no-store, no-cache or private"
	reasonNoCC        reason = "no Cache-Control (check_cache_control)"
	reasonVaryStar    reason = "Vary: *"
	reasonSetCookie   reason = "Set-Cookie"
	reasonAuth        reason = "request with Authorization, response not public"
	reasonTooLarge    reason = "larger than max_file_size"
	reasonNoFreshness reason = "no freshness"
	reasonTrailers    reason = "trailers"
)

// lifetime is what the policy decides for a storable response.
type lifetime struct {
	fresh      time.Duration // how long from now it is fresh
	swr, sie   time.Duration // stale-while-revalidate, stale-if-error
	keep       time.Duration // how long from now the store keeps it
	initialAge time.Duration // its age when received (the Age header)
}

// response is what the policy reads of an upstream response.
type response struct {
	status        int
	cc            cacheControl
	date, expires string
	hasExpires    bool
	age           string
	vary          []string
	varyStar      bool
	setCookie     bool
	contentLength int64 // -1: unknown
}

// policy is the configuration the storability decision depends on.
type policy struct {
	maxTTL            time.Duration
	maxFileSize       int64
	checkCacheControl bool
	defaultTTL        time.Duration
}

// decide says whether to store the response to a GET and for how long.
// authorized says the request carried Authorization.
func (p *policy) decide(resp *response, authorized bool, now time.Time) (lifetime, reason) {
	cc := &resp.cc
	switch {
	case !storableStatus(resp.status):
		return lifetime{}, reasonStatus
	case cc.noStore || cc.noCache || cc.private:
		return lifetime{}, reasonNoStore
	case p.checkCacheControl && !cc.present:
		return lifetime{}, reasonNoCC
	case resp.varyStar:
		return lifetime{}, reasonVaryStar
	case resp.setCookie:
		return lifetime{}, reasonSetCookie
	case authorized && !cc.public && cc.sMaxAge < 0 && !cc.mustRevalidate:
		// RFC 9111 §3.5: a shared cache stores such a response only when
		// the origin allows it explicitly.
		return lifetime{}, reasonAuth
	case p.maxFileSize > 0 && resp.contentLength > p.maxFileSize:
		return lifetime{}, reasonTooLarge
	}
	var life time.Duration
	explicit := true
	switch {
	case cc.sMaxAge >= 0:
		life = time.Duration(cc.sMaxAge) * time.Second
	case cc.maxAge >= 0:
		life = time.Duration(cc.maxAge) * time.Second
	case resp.hasExpires:
		exp, ok := parseHTTPDate(resp.expires)
		if !ok {
			return lifetime{}, reasonNoFreshness // an invalid Expires is in the past
		}
		base := now
		if d, ok := parseHTTPDate(resp.date); ok {
			base = d
		}
		life = exp.Sub(base)
	default:
		explicit = false
		life = p.defaultTTL
	}
	if !explicit && !heuristic(resp.status) {
		return lifetime{}, reasonStatus
	}
	if p.maxTTL > 0 && life > p.maxTTL {
		life = p.maxTTL
	}
	var age time.Duration
	if n, err := strconv.ParseInt(strings.TrimSpace(resp.age), 10, 64); err == nil && n > 0 {
		age = time.Duration(min(n, 1<<31)) * time.Second
	}
	l := lifetime{fresh: life - age, initialAge: age}
	if l.fresh <= 0 {
		return lifetime{}, reasonNoFreshness
	}
	if cc.servesStale() {
		if cc.staleWhileRevalidate > 0 {
			l.swr = time.Duration(cc.staleWhileRevalidate) * time.Second
		}
		if cc.staleIfError > 0 {
			l.sie = time.Duration(cc.staleIfError) * time.Second
		}
	}
	// Past its freshness an entry is still worth keeping a while (as long
	// again, within bounds): for stale-while-revalidate and stale-if-error,
	// to revalidate it with its validators instead of fetching it whole,
	// and to tell EXPIRED from MISS. The size bound evicts what is not used.
	l.keep = l.fresh + max(l.swr, l.sie, min(max(life, 10*time.Second), 24*time.Hour))
	return l, storable
}

// parseHTTPDate parses an HTTP date in its three forms (RFC 9110 §5.6.7).
func parseHTTPDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range [...]string{
		"Mon, 02 Jan 2006 15:04:05 GMT",
		"Monday, 02-Jan-06 15:04:05 GMT",
		"Mon Jan _2 15:04:05 2006",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// httpDate formats t as an IMF-fixdate.
func httpDate(t time.Time) string { return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT") }

// varyNames returns the lower-cased header names of Vary values, sorted
// and without duplicates, and whether one of them is "*".
func varyNames(values []string) ([]string, bool) {
	var names []string
	for _, v := range values {
		for _, n := range strings.Split(v, ",") {
			n = strings.ToLower(strings.TrimSpace(n))
			switch {
			case n == "":
			case n == "*":
				return nil, true
			default:
				names = insertSorted(names, n)
			}
		}
	}
	return names, false
}

func insertSorted(list []string, s string) []string {
	i := 0
	for i < len(list) && list[i] < s {
		i++
	}
	if i < len(list) && list[i] == s {
		return list
	}
	list = append(list, "")
	copy(list[i+1:], list[i:])
	list[i] = s
	return list
}

// variant returns the variant of a request for the Vary names: each
// name's values, joined and with blanks around commas removed, so that
// "gzip, br" and "gzip,br" are one variant. An absent header is another
// variant than an empty one.
func variant(names []string, headers [][2]string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		found := false
		for _, h := range headers {
			if h[0] != n {
				continue
			}
			if !found {
				b.WriteByte('=')
			} else {
				b.WriteByte(',')
			}
			found = true
			b.WriteString(normalizeList(h[1]))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func normalizeList(v string) string {
	if !strings.Contains(v, ",") {
		return strings.TrimSpace(v)
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, ",")
}

// etagMatch reports whether an If-None-Match value matches etag, by weak
// comparison (RFC 9110 §13.1.2).
func etagMatch(ifNoneMatch, etag string) bool {
	if etag == "" {
		return false
	}
	if strings.TrimSpace(ifNoneMatch) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(ifNoneMatch, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}

// byteRange is a single satisfiable range of a body.
type byteRange struct{ start, end int64 } // end inclusive

// parseRange reads a Range header for a body of size bytes. ok is false
// when the header is to be ignored (not bytes, several ranges, malformed:
// the whole body is sent); unsatisfiable when no byte is in range (416).
func parseRange(h string, size int64) (r byteRange, ok, unsatisfiable bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return r, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return r, false, false
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return r, false, false
		}
		if n == 0 || size == 0 {
			return r, true, true
		}
		return byteRange{max(size-n, 0), size - 1}, true, false
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return r, false, false
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return r, false, false
		}
	}
	if a >= size {
		return r, true, true
	}
	return byteRange{a, min(b, size-1)}, true, false
}
