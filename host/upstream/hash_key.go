package upstream

import (
	"errors"
	"net/textproto"
	"strings"
)

// hashKind says which part of a request a hash balancer keys on.
type hashKind uint8

const (
	hashPath   hashKind = iota // "hash", "hash:path": the URL path
	hashURL                    // "hash:url": path and query
	hashIP                     // "hash:ip": the client IP
	hashHeader                 // "hash:header:NAME": the header's first value
	hashCookie                 // "hash:cookie:NAME": the cookie's value
	hashQuery                  // "hash:query:NAME": the query parameter's first value
)

// hashSpec is a compiled hash key. A missing header, cookie or parameter
// hashes as the empty string, so those requests all go to one backend, as
// in Pingap.
type hashSpec struct {
	kind hashKind
	name string // canonical header name, cookie name or parameter name
}

// parseHashSpec parses what follows "hash" in the algo key.
func parseHashSpec(rest string) (hashSpec, error) {
	switch rest {
	case "", ":path":
		return hashSpec{kind: hashPath}, nil
	case ":url":
		return hashSpec{kind: hashURL}, nil
	case ":ip":
		return hashSpec{kind: hashIP}, nil
	}
	for _, v := range []struct {
		prefix string
		kind   hashKind
	}{{":header:", hashHeader}, {":cookie:", hashCookie}, {":query:", hashQuery}} {
		name, ok := strings.CutPrefix(rest, v.prefix)
		if !ok {
			continue
		}
		if name == "" || strings.ContainsAny(name, " \t\r\n:;=,\"") {
			return hashSpec{}, errors.New("missing or invalid name after " + strings.TrimSuffix(v.prefix, ":"))
		}
		if v.kind == hashHeader {
			// Precomputed so that a Pick indexes the header map directly:
			// Header.Get would canonicalize on every request.
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		return hashSpec{kind: v.kind, name: name}, nil
	}
	return hashSpec{}, errors.New("unknown hash key (want url, ip, path, header:NAME, cookie:NAME or query:NAME)")
}

// sum hashes the key's part that h names. It does not allocate.
func (h *hashSpec) sum(k *Key) uint64 {
	x := uint64(fnvOffset)
	r := k.Req
	switch h.kind {
	case hashIP:
		ip := k.ClientIP
		if ip == "" && r != nil {
			ip = hostOnly(r.RemoteAddr)
		}
		x = fnvString(x, ip)
	case hashHeader:
		if r != nil {
			if v := r.Header[h.name]; len(v) > 0 {
				x = fnvString(x, v[0])
			}
		}
	case hashCookie:
		if r != nil {
			x = fnvString(x, cookieValue(r.Header["Cookie"], h.name))
		}
	case hashQuery:
		if r != nil && r.URL != nil {
			v, _ := queryValue(r.URL.RawQuery, h.name)
			x = fnvUnescape(x, v)
		}
	default: // hashPath, hashURL
		if r != nil && r.URL != nil {
			x = fnvString(x, r.URL.Path)
			if h.kind == hashURL && r.URL.RawQuery != "" {
				x = fnvByte(x, '?')
				x = fnvString(x, r.URL.RawQuery)
			}
		}
	}
	return fmix64(x)
}

// hostOnly returns the host part of "host:port" or "[v6]:port" without
// allocating.
func hostOnly(hp string) string {
	if i := strings.LastIndexByte(hp, ':'); i >= 0 && !strings.Contains(hp[i:], "]") {
		hp = hp[:i]
	}
	if len(hp) >= 2 && hp[0] == '[' && hp[len(hp)-1] == ']' {
		hp = hp[1 : len(hp)-1]
	}
	return hp
}

// cookieValue returns the value of the first cookie called name in Cookie
// header lines, without the surrounding quotes, or "". It splits and trims
// as net/http does, but does not parse every cookie into a new slice as
// http.Request.Cookie would.
func cookieValue(lines []string, name string) string {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, _ := strings.Cut(textproto.TrimString(part), "=")
			if textproto.TrimString(k) != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}

// queryValue returns the raw (still escaped) value of the first parameter
// of a raw query whose unescaped name is name. Unlike URL.Query it does not
// build a map.
func queryValue(raw, name string) (string, bool) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue // as net/url does
		}
		k, v, _ := strings.Cut(part, "=")
		if unescapedEqual(k, name) {
			return v, true
		}
	}
	return "", false
}

// unescapeNext decodes the query-escaped byte at s[i] ('+' is a space, %XX
// a byte; a malformed escape is taken literally) and returns it with the
// index of the next one.
func unescapeNext(s string, i int) (byte, int) {
	switch c := s[i]; c {
	case '+':
		return ' ', i + 1
	case '%':
		if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			return unhex(s[i+1])<<4 | unhex(s[i+2]), i + 3
		}
		return c, i + 1
	default:
		return c, i + 1
	}
}

func unescapedEqual(raw, name string) bool {
	i, j := 0, 0
	for i < len(raw) {
		var c byte
		c, i = unescapeNext(raw, i)
		if j >= len(name) || name[j] != c {
			return false
		}
		j++
	}
	return j == len(name)
}

// fnvUnescape feeds the unescaped bytes of a query value to the hash, so
// that "a%20b" and "a+b" go to the same backend.
func fnvUnescape(h uint64, raw string) uint64 {
	for i := 0; i < len(raw); {
		var c byte
		c, i = unescapeNext(raw, i)
		h = fnvByte(h, c)
	}
	return h
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// FNV-1a, 64 bits, written out so that hashing a string neither allocates
// nor goes through hash.Hash. Its output is finished with fmix64 (from
// MurmurHash3), since FNV alone spreads similar short keys poorly.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}
